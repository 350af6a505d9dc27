#!/usr/bin/env bash
# scripts/bench-vs-etcd.sh - our five-node cluster beside a five-member etcd, same machine,
# same run, same workloads, alternating rounds; prints a side-by-side table of medians.
#
#   scripts/bench-vs-etcd.sh
#
# What one run does (everything on 127.0.0.1, every command bounded by `timeout`):
#  1. installs etcd-server, etcd-client, golang-go and golang-etcd-server-dev with apt-get
#     if missing; builds etcd_loadgen (Go, offline, Debian packages) and our raft-node and
#     raftctl (Release, in $RAFT_BIN_DIR's build dir, default build-perf);
#  2. physical probes: 4 KiB append + fdatasync latency on /tmp (where both keep their data)
#     and the 64-byte loopback round trip (TCP and ZeroMQ), to judge the single-client
#     target p50 <= 1.5 x (fsync + RTT); and our single-client put with fsync OFF (FLOOR_RUNS
#     runs of 5 s, default 3): what the messages and the CPU cost without any disk, the
#     floor under the single-client latency on this machine;
#  3. ROUNDS (default 3) alternating rounds (odd rounds ours first, even rounds etcd first),
#     each on a fresh cluster: puts of 100-byte values at 1, 16, 64 and 256 clients, then
#     linearizable gets at 64 clients (ours: `raftctl bench`, many clients pipelined over one
#     socket to the leader; etcd: etcd_loadgen, one gRPC connection per client, to the
#     leader). Each point records the CPU seconds of the five servers, of the load generator
#     and of other processes (foreign_cpu_s: other tenants; a point is clean when ~0);
#  4. FAILOVER_TRIALS (default 3) trials per system on fresh clusters: SIGKILL of the leader ->
#     first acknowledged put (100 ms per try), then a write gap while it is down, restart it
#     and time until it serves and until its applied index reaches the leader's index;
#  5. prints the table (medians, ranges, ratios ours/etcd) and keeps raw lines in $OUT.
# Both systems: fsync on, heartbeat 100 ms, election timeout 1000 ms (randomized up to 2x in
# both), snapshot every 100000 entries (etcd's default --snapshot-count).
# Env: ROUNDS (3), DURATION (s per point, 10), WARMUP (s, 1), FAILOVER_TRIALS (3), FLOOR_RUNS (3),
#      OUT (result dir, default /tmp/raftkv-vs-etcd-DATE), PROBES=0 skips step 2.
#      RAFT_BIN_DIR (our binaries, default build-perf/bin), BUILD=0 uses them as they are.
# Every process started is stopped by its PID at exit (trap), also on Ctrl-C or error.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
ROUNDS=${ROUNDS:-3}
BENCH_DURATION=${DURATION:-10}
BENCH_WARMUP=${WARMUP:-1}
FAILOVER_TRIALS=${FAILOVER_TRIALS:-3}
OUT=${OUT:-/tmp/raftkv-vs-etcd-$(date +%Y%m%d-%H%M%S)}
RES=$OUT/results.txt
mkdir -p "$OUT"
# The etcd side: our shared bench scripts when present, else the copies beside this script.
SB=$root/../shared/bench
[ -x "$SB/etcd_cluster.sh" ] || SB=$here/bench/etcd
SB=$(cd "$SB" && pwd)
CL=$SB/etcd_cluster.sh
LG=${ETCD_BENCH_TOOLS:-/tmp/etcd-bench-tools}/etcd_loadgen
export ETCD_BENCH_TTL=${ETCD_BENCH_TTL:-3600}
# shellcheck source=bench/common.sh
. "$here/bench/common.sh"
# shellcheck source=bench/ours.sh
. "$here/bench/ours.sh"

log() { echo "[$(date +%H:%M:%S)] $*" >&2; }

cleanup() {
  ours_stop
  "$CL" stop >/dev/null 2>&1
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- 1. prerequisites
need=()
[ -x /usr/bin/etcd ] || need+=(etcd-server)
[ -x /usr/bin/etcdctl ] || need+=(etcd-client)
command -v go >/dev/null || need+=(golang-go)
[ -d /usr/share/gocode/src/go.etcd.io/etcd/clientv3 ] || need+=(golang-etcd-server-dev)
command -v curl >/dev/null || need+=(curl)
[ -x /usr/bin/time ] || need+=(time)
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]}"
  timeout 600 apt-get install -y "${need[@]}" >"$OUT/apt.log" 2>&1 ||
    { timeout 300 apt-get update >/dev/null 2>&1 && timeout 600 apt-get install -y "${need[@]}" >"$OUT/apt.log" 2>&1; } ||
    { echo "bench-vs-etcd.sh: apt-get install ${need[*]} failed (see $OUT/apt.log)" >&2; exit 1; }
fi
log "building etcd_loadgen"
"$SB/etcd_load.sh" build || exit 1
build=$(dirname "$OURS_BIN")
if [ "${BUILD:-1}" = 1 ]; then
  log "building raft-node and raftctl in $build"
  { [ -f "$build/CMakeCache.txt" ] || cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null; } &&
    timeout 1800 cmake --build "$build" -j2 --target raft-node raftctl >"$OUT/build.log" 2>&1 ||
    { echo "bench-vs-etcd.sh: build failed (see $OUT/build.log)" >&2; exit 1; }
elif [ ! -x "$OURS_BIN/raft-node" ] || [ ! -x "$OURS_BIN/raftctl" ]; then
  echo "bench-vs-etcd.sh: BUILD=0 but no raft-node/raftctl in $OURS_BIN" >&2; exit 1
fi
"$CL" stop >/dev/null 2>&1  # a cluster left over from an earlier run of ours (by its PIDs)

{
  echo "# $(date -u +%FT%TZ) $(uname -r) $(nproc) cpus; etcd $(/usr/bin/etcd --version 2>/dev/null | head -1)"
  echo "# ours: $(git -C "$root" log --oneline -1 2>/dev/null)"
  echo "# rounds=$ROUNDS duration=$BENCH_DURATION warmup=$BENCH_WARMUP"
} >"$RES"

# ---- 2. physical probes
if [ "${PROBES:-1}" = 1 ]; then
  log "physical probes (fsync, loopback round trip)"
  (cd /tmp && PARTS="fsync lat" FSYNC_WORK_DIR=/tmp timeout 300 "$SB/phys_limits.sh" 1) >"$OUT/phys.txt" 2>&1
  sed 's/^/  /' "$OUT/phys.txt" >&2
  log "single-client put with fsync off (the floor without a disk)"
  OURS_FSYNC=false ours_start || { log "ours: start failed"; exit 1; }
  sleep 1
  for i in $(seq 1 "${FLOOR_RUNS:-3}"); do
    bench_wait_quiet 10
    line="floor=$i $(BENCH_DURATION=5 ours_point put 1)"
    echo "$line" >>"$RES"
    log "$line"
  done
  ours_stop
fi

# ---- 3. throughput and latency
etcd_point() {  # etcd_point put|get CLIENTS -> one normalized line
  DURATION=$BENCH_DURATION QUIET=0 timeout $((BENCH_DURATION + 120)) "$SB/etcd_load.sh" point go "$1" "$2" |
    sed 's/ lat_ms / /; s/etcd_cpu_s=/server_cpu_s=/; s/^tool=go //'
}

run_round() {  # run_round SYSTEM ROUND
  local sys=$1 r=$2 p op n line
  if [ "$sys" = ours ]; then ours_start || { log "ours: start failed"; return 1; }
  else "$CL" start >/dev/null || { log "etcd: start failed"; return 1; }; fi
  sleep 1
  for p in put:1 put:16 put:64 put:256 get:64; do
    op=${p%%:*}; n=${p#*:}
    bench_wait_quiet 10
    if [ "$sys" = ours ]; then line=$(ours_point "$op" "$n"); else line=$(etcd_point "$op" "$n"); fi
    line="system=$sys round=$r $line"
    echo "$line" >>"$RES"
    log "$line"
  done
  if [ "$sys" = ours ]; then ours_stop; else "$CL" stop >/dev/null; fi
}

for r in $(seq 1 "$ROUNDS"); do
  if [ $((r % 2)) -eq 1 ]; then order="ours etcd"; else order="etcd ours"; fi
  for sys in $order; do
    log "round $r: $sys"
    run_round "$sys" "$r"
  done
done

# ---- 4. failover and catch-up
etcd_failover_trial() {
  "$CL" start >/dev/null || return 1
  sleep 1
  local eps L LPID out IDX out2 SURV
  eps=$("$CL" endpoints)
  timeout 60 "$LG" -endpoints "$eps" -target-leader -op put -clients 16 -conns 16 -warmup 0s \
    -duration "${PRELOAD_S:-3}s" >/dev/null 2>&1
  L=$("$CL" leader); LPID=$("$CL" pid "$L")
  out=$(timeout 60 "$LG" -op failover -endpoints "$eps" -kill-pid "$LPID" 2>/dev/null)
  SURV=$(echo "$eps" | tr ',' '\n' | grep -v ":$((23790 + L))\$" | paste -sd,)
  sleep 0.5
  timeout 60 "$LG" -endpoints "$SURV" -target-leader -op put -clients 16 -conns 16 -warmup 0s \
    -duration "${GAP_S:-5}s" >/dev/null 2>&1
  read -r _ IDX < <(timeout 10 "$LG" -op index -endpoints "$SURV" 2>/dev/null)
  "$CL" startone "$L" >/dev/null
  out2=$(timeout 130 "$LG" -op catchup -endpoints "127.0.0.1:$((23790 + L))" -min-index "${IDX:-0}" -poll 5ms 2>/dev/null)
  echo "system=etcd killed=m$L $(echo "$out" | sed 's/^failover //') gap_index=${IDX:-?} $(echo "$out2" | sed 's/^catchup //')"
  "$CL" stop >/dev/null
}

for t in $(seq 1 "$FAILOVER_TRIALS"); do
  for sys in ours etcd; do
    log "failover trial $t: $sys"
    if [ "$sys" = ours ]; then line=$(ours_failover_trial); else line=$(etcd_failover_trial); fi
    line="trial=$t $line"
    echo "$line" >>"$RES"
    log "$line"
  done
done

# ---- 5. the table
python3 - "$RES" "$OUT/phys.txt" "$BENCH_DURATION" <<'PY' | tee "$OUT/table.txt"
import re, statistics, sys
res, phys, dur = sys.argv[1], sys.argv[2], float(sys.argv[3])
def kv(line):
    return dict(m.groups() for m in re.finditer(r'(\w+)=(\S+)', line))
pts, fo = {}, {}
for line in open(res):
    if line.startswith('#'): continue
    d = kv(line)
    if 'op' in d and 'system' in d:
        pts.setdefault((d['op'], int(d['clients'])), {}).setdefault(d['system'], []).append(d)
    elif 'floor' in d:
        pts.setdefault('floor', []).append(d)
    elif 'trial' in d:
        fo.setdefault(d['system'], []).append(d)
def med(rows, k):
    v = [float(r[k]) for r in rows if k in r and r[k] not in ('', '?')]
    return statistics.median(v) if v else float('nan')
def rng(rows, k):
    v = [float(r[k]) for r in rows if k in r]
    return f"{min(v):.0f}-{max(v):.0f}" if v else "-"
print(f"\n{'workload':<12}{'ours ops/s':>11}{'etcd ops/s':>11}{'ratio':>7} | {'p50 ms ours':>11}{'etcd':>7}{'ratio':>7} | "
      f"{'p99 ms ours':>11}{'etcd':>7}{'ratio':>7} | {'p99.9 ours':>10}{'etcd':>7} | {'CPU us/op ours':>14}{'etcd':>6}  foreign_cpu_s max")
floor = pts.pop('floor', [])
for key in sorted(pts, key=lambda k: (k[0] != 'put', k[1])):
    o, e = pts[key].get('ours', []), pts[key].get('etcd', [])
    oo, eo = med(o, 'ops_per_s'), med(e, 'ops_per_s')
    op50, ep50, op99, ep99 = med(o, 'p50'), med(e, 'p50'), med(o, 'p99'), med(e, 'p99')
    o999, e999 = med(o, 'p999'), med(e, 'p999')
    ocpu = med(o, 'server_cpu_s') / max(oo * dur, 1) * 1e6
    ecpu = med(e, 'server_cpu_s') / max(eo * dur, 1) * 1e6
    fmax = max([float(r.get('foreign_cpu_s', 0)) for r in o + e] or [0])
    name = f"{key[0]}@{key[1]}"
    print(f"{name:<12}{oo:>11.0f}{eo:>11.0f}{oo/eo if eo else float('nan'):>7.2f} | {op50:>11.2f}{ep50:>7.2f}{op50/ep50 if ep50 else float('nan'):>7.2f} | "
          f"{op99:>11.2f}{ep99:>7.2f}{op99/ep99 if ep99 else float('nan'):>7.2f} | {o999:>10.2f}{e999:>7.2f} | {ocpu:>14.0f}{ecpu:>6.0f}  {fmax:.1f}")
    print(f"{'  range':<12}{rng(o,'ops_per_s'):>11}{rng(e,'ops_per_s'):>11}   (runs: ours {len(o)}, etcd {len(e)}; server CPU s ours {med(o,'server_cpu_s'):.1f}, etcd {med(e,'server_cpu_s'):.1f}; loadgen CPU s ours {med(o,'loadgen_cpu_s'):.1f}, etcd {med(e,'loadgen_cpu_s'):.1f})")
if fo:
    print()
    for sys_ in ('ours', 'etcd'):
        rows = fo.get(sys_, [])
        if not rows: continue
        print(f"{sys_:<5} failover: first acknowledged put after SIGKILL of the leader: median {med(rows,'first_put_ok_ms') if sys_=='etcd' else med(rows,'first_write_ms'):.0f} ms "
              f"({', '.join(r.get('first_put_ok_ms', r.get('first_write_ms','?')) for r in rows)})"
              + (f"; new leader elected {med(rows,'leader_elected_ms'):.0f} ms" if sys_ == 'etcd' else ''))
        print(f"{'':<5} catch-up of the restarted old leader: serving {med(rows,'first_status_ms'):.0f} ms, caught up {med(rows,'caught_up_ms'):.0f} ms "
              f"({', '.join(r.get('caught_up_ms','?') for r in rows)}), gap index {', '.join(r.get('gap_index','?') for r in rows)}")
try:
    txt = open(phys).read()
    fs = re.search(r'dir=/tmp mode=fdatasync .*?lat_us p50=(\d+)', txt)
    tcp = re.search(r'mode=tcp msg=64 window=1 .*?rtt_us p50=([\d.]+)', txt)
    zmq = re.search(r'mode=zmq msg=64 window=1 .*?rtt_us p50=([\d.]+)', txt)
    if fs and tcp:
        f, t = float(fs.group(1)), float(tcp.group(1))
        z = float(zmq.group(1)) if zmq else float('nan')
        o1 = med(pts.get(('put', 1), {}).get('ours', []), 'p50') * 1000
        print(f"\nprobes: fdatasync p50 {f:.0f} us, TCP RTT p50 {t:.0f} us, ZeroMQ RTT p50 {z:.0f} us")
        print(f"single-client put p50: ours {o1:.0f} us; target 1.5 x (fsync + TCP RTT) = {1.5*(f+t):.0f} us "
              f"({'met' if o1 <= 1.5*(f+t) else 'NOT met'}); with the ZeroMQ RTT {1.5*(f+z):.0f} us")
        if floor:
            runs = ', '.join(str(round(float(r['p50']) * 1000)) for r in floor)
            print(f"floor: ours with fsync OFF, single-client put p50 {med(floor, 'p50') * 1000:.0f} us ({runs}): "
                  "what the messages and the CPU cost without any disk")
except OSError:
    pass
PY
log "raw results in $RES"
