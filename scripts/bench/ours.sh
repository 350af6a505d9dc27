# scripts/bench/ours.sh - functions to run and measure our five-node cluster, sourced by
# scripts/bench.sh and scripts/bench-vs-etcd.sh (not run on its own).
#
# The cluster gets its own cluster file, ports (raft 27101-27105, client 27201-27205) and
# data dir under $OURS_DIR (default /tmp/raftkv-bench), so it never touches a cluster a user
# runs from config/cluster.yaml. Timing equals etcd's defaults: tick 100 ms, heartbeat 1
# tick (100 ms), election 10 ticks (1000 ms, randomized up to 2x as etcd does); fsync on.
# snapshot_entries defaults to 100000, etcd's --snapshot-count default.
# Processes are started through scripts/cluster.sh (pid files under the data dir) or, for a
# restart that is timed, directly the same way; they are stopped by those PIDs.
# Everything listens on 127.0.0.1 and every command is bounded by `timeout`.

OURS_DIR=${OURS_DIR:-/tmp/raftkv-bench}
OURS_CONF=$OURS_DIR/cluster.yaml
OURS_ROOT=${OURS_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
OURS_BIN=${RAFT_BIN_DIR:-$OURS_ROOT/build-perf/bin}
OURS_SNAPSHOT_ENTRIES=${OURS_SNAPSHOT_ENTRIES:-100000}
# OURS_FSYNC=false: no fsync at all, only to measure what the transport and the CPU cost
# without the disk (bench-vs-etcd.sh's "floor" line); never for a comparison with etcd.
export RAFT_BIN_DIR=$OURS_BIN

ours_ctl() { timeout 120 "$OURS_BIN/raftctl" --config "$OURS_CONF" "$@"; }
ours_cl() { timeout 120 "$OURS_ROOT/scripts/cluster.sh" --config "$OURS_CONF" "$@"; }

ours_write_config() {
  mkdir -p "$OURS_DIR"
  {
    echo "cluster_id: raftkv-bench"
    echo "data_dir: $OURS_DIR/data"
    echo "tick_ms: 100"
    echo "election_ticks: 10"
    echo "heartbeat_ticks: 1"
    echo "fsync: ${OURS_FSYNC:-true}"
    echo "snapshot_entries: $OURS_SNAPSHOT_ENTRIES"
    echo "nodes:"
    for i in 1 2 3 4 5; do
      echo "  - id: $i"
      echo "    raft: tcp://127.0.0.1:$((27100 + i))"
      echo "    client: tcp://127.0.0.1:$((27200 + i))"
    done
  } >"$OURS_CONF"
}

# One pid per line: callers list the five with a loop (without the newline they ran together
# into one number, and foreign_cpu_s counted our own nodes as other tenants).
ours_pid() { local p; p=$(tr -dc '0-9' 2>/dev/null <"$OURS_DIR/data/node-$1/node.pid"); [ -n "$p" ] && echo "$p"; }

# A pid from our pid file that is alive and really a raft-node (not a reused pid).
ours_live_pid() {
  local p; p=$(ours_pid "$1")
  [ -n "$p" ] && [ -r "/proc/$p/cmdline" ] && tr '\0' ' ' <"/proc/$p/cmdline" | grep -q "raft-node .*--config $OURS_CONF --id $1" && echo "$p"
}

ours_start() {  # fresh cluster
  ours_stop >/dev/null 2>&1
  rm -rf "$OURS_DIR/data"
  ours_write_config
  ours_cl start >"$OURS_DIR/start.log" 2>&1 || { cat "$OURS_DIR/start.log" >&2; return 1; }
}

ours_stop() {
  [ -f "$OURS_CONF" ] || return 0
  ours_cl stop >/dev/null 2>&1
  local i p
  for i in 1 2 3 4 5; do  # belt and braces: anything still alive from our pid files
    p=$(ours_live_pid "$i")
    [ -n "$p" ] && kill -9 "$p" 2>/dev/null
  done
  return 0
}

ours_leader() {  # id of the member that says it is the leader
  ours_ctl --timeout 1 status --json 2>/dev/null |
    python3 -c 'import json,sys; d=json.load(sys.stdin); print(next((n["id"] for n in d["nodes"] if n["role"]=="leader"), ""))' 2>/dev/null
}

ours_status_field() {  # ours_status_field ID FIELD: a number from that member's own status
  # (no python here: this is polled every few ms while timing a catch-up)
  local js
  js=$(timeout 5 "$OURS_BIN/raftctl" --config "$OURS_CONF" --node "$1" --timeout 0.3 status --json 2>/dev/null)
  case $js in *'"reachable":true'*) ;; *) return 0 ;; esac
  js=${js#*\"$2\":}
  echo "${js%%[,\}]*}"
}

ours_cpu_ticks() {  # utime+stime of the five nodes
  local i p t=0 x
  for i in 1 2 3 4 5; do
    p=$(ours_pid "$i")
    if [ -n "$p" ] && [ -r "/proc/$p/stat" ]; then
      x=$(sed 's/.*) //' "/proc/$p/stat" | awk '{print $12+$13}'); t=$((t + x))
    fi
  done
  echo "$t"
}

# One measured point; prints one line of key=value pairs.
#   ours_point put|get CLIENTS [extra raftctl bench options]
ours_point() {
  local op=$1 clients=$2; shift 2
  local ratio=0; [ "$op" = get ] && ratio=1
  local tf js c0 c1 x0 x1 lg
  local ticks; ticks=$(getconf CLK_TCK)
  tf=$(mktemp /tmp/raftkv-bench-time.XXXXXX)
  # This shell, which waits for the load generator: its CPU is loadgen_cpu_s, not foreign.
  # ($BASHPID inside $(...) would be the substitution's own subshell.)
  local me=$BASHPID
  c0=$(ours_cpu_ticks); x0=$(bench_foreign_ticks "$me" $(for i in 1 2 3 4 5; do ours_pid $i; done))
  js=$(/usr/bin/time -o "$tf" -f "%U %S" timeout $((BENCH_DURATION + BENCH_WARMUP + 60)) \
        "$OURS_BIN/raftctl" --config "$OURS_CONF" --timeout 5 --json bench --clients "$clients" \
        --duration "$BENCH_DURATION" --warmup "$BENCH_WARMUP" --value-size "${VAL_SIZE:-100}" \
        --keys "${KEY_SPACE:-100000}" --read-ratio "$ratio" "$@" 2>"$OURS_DIR/bench-progress.log")
  c1=$(ours_cpu_ticks); x1=$(bench_foreign_ticks "$me" $(for i in 1 2 3 4 5; do ours_pid $i; done))
  lg=$(awk '{printf "%.1f", $1+$2}' "$tf" 2>/dev/null); rm -f "$tf"
  echo "$js" | python3 -c '
import json,sys
try: d=json.loads(sys.stdin.read())
except Exception: print("ops_per_s=0 p50=0 p90=0 p99=0 p999=0 max=0 errs=-1 unknown=-1"); sys.exit()
l=d["latency_ms"]
print("ops_per_s=%.0f p50=%.3f p90=%.3f p99=%.3f p999=%.3f max=%.3f errs=%d unknown=%d leader=%s" % (
  d["ops_per_s"], l["p50"], l["p90"], l["p99"], l["p999"], l["max"], d["errors"], d["unknown"], d["leader"]))' |
    sed "s/^/op=$op clients=$clients /" |
    sed "s/\$/ server_cpu_s=$(awk -v a="$c0" -v b="$c1" -v t="$ticks" 'BEGIN{printf "%.1f",(b-a)/t}') loadgen_cpu_s=${lg:-0} foreign_cpu_s=$(awk -v a="$x0" -v b="$x1" -v t="$ticks" 'BEGIN{printf "%.1f",(b-a)/t}')/"
}

# Failover and catch-up, one trial on a fresh cluster; prints one line.
ours_failover_trial() {
  local preload_s=${PRELOAD_S:-3} gap_s=${GAP_S:-5}
  ours_start || return 1
  ours_ctl --timeout 5 bench --clients 16 --duration "$preload_s" --warmup 0 >/dev/null 2>&1
  local L P t0 out
  L=$(ours_leader); P=$(ours_live_pid "$L")
  [ -n "$L" ] && [ -n "$P" ] || { echo "ours failover: no leader" >&2; return 1; }
  t0=$(date +%s%N)
  kill -9 "$P"
  out=$(ours_ctl --timeout 5 bench --failover-probe --since-epoch-ns "$t0" --probe-try-ms 100 --probe-limit 30)
  local fw=${out#first_write_ms=}
  # gap of writes while the old leader is down, then restart it and time its catch-up
  sleep 0.5
  ours_ctl --timeout 5 bench --clients 16 --duration "$gap_s" --warmup 0 >/dev/null 2>&1
  local L2 idx
  L2=$(ours_leader)
  idx=$(ours_status_field "$L2" last_index)
  local d="$OURS_DIR/data/node-$L"
  local ts; ts=$(date +%s%N)
  # the same way scripts/cluster.sh starts a node, without its wait for a leader
  setsid "$OURS_BIN/raft-node" --config "$OURS_CONF" --id "$L" >>"$d/node.log" 2>&1 </dev/null &
  echo $! >"$d/node.pid"
  local first="" caught="" a now end=$(( $(date +%s) + 120 ))
  while [ "$(date +%s)" -lt "$end" ]; do
    a=$(ours_status_field "$L" applied)
    now=$(date +%s%N)
    if [ -n "$a" ]; then
      [ -z "$first" ] && first=$(( (now - ts) / 1000000 ))
      if [ "$a" -ge "$idx" ]; then caught=$(( (now - ts) / 1000000 )); break; fi
    fi
    sleep 0.005
  done
  echo "system=ours killed=$L first_write_ms=${fw%.*} new_leader=$L2 gap_index=$idx first_status_ms=${first:--1} caught_up_ms=${caught:--1}"
  ours_stop
}
