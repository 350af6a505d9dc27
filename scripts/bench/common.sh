# scripts/bench/common.sh - machine accounting shared by scripts/bench.sh and
# scripts/bench-vs-etcd.sh (sourced). The approach (per-point CPU of the servers, of the load
# generator, and of everything else) follows our shared etcd bench scripts
# (../shared/bench/etcd_load.sh in the project's shared folder).

# utime+stime+cutime+cstime ticks of every user-space process except kernel threads and the
# PIDs given (the servers, and the shell that reaps the load generator).
bench_foreign_ticks() {
  local ex="$$ $*"
  cat /proc/[0-9]*/stat 2>/dev/null | awk -v ex="$ex" '
    BEGIN{n=split(ex,e," "); for(i=1;i<=n;i++) skip[e[i]]=1}
    { pid=$1; s=$0; sub(/^.*\) /,"",s); split(s,a," ")
      if (pid==2 || a[2]==2 || (pid in skip)) next
      t+=a[12]+a[13]+a[14]+a[15] }
    END{print t+0}'
}

bench_sys_busy() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9}' /proc/stat; }

# Waits up to $1 seconds (default 15) for a second in which the machine is < 10% busy.
bench_wait_quiet() {
  local lim=${1:-15} a b i
  for i in $(seq 1 "$lim"); do
    a=$(bench_sys_busy); sleep 1; b=$(bench_sys_busy)
    [ $((b - a)) -lt 20 ] && return 0
  done
  echo "note: machine not quiet after ${lim}s (other tenants); see foreign_cpu_s" >&2
  return 0
}
