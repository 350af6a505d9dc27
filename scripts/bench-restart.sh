#!/usr/bin/env bash
# scripts/bench-restart.sh - how fast a node whose log holds a million entries serves again
# after a restart.
#
#   scripts/bench-restart.sh
#
# Starts a loopback cluster of NODES (3) nodes in a temporary dir (raft ports 27301.., client
# ports 27351..; fsync on; snapshot_entries above ENTRIES, so that no snapshot is taken and
# every node keeps the whole log), fills it with ENTRIES (1000000) small puts (`raftctl bench`
# in chunks, with progress), then times restarts, TRIALS (3) of each:
#   follower  SIGTERM one follower, then start it again;
#   leader    SIGTERM the leader, wait for a new one, then start the old leader again;
#   cluster   SIGTERM every node, then start them all at once.
# For a restarted node, from the exec of raft-node: init_ms = its "serving" log line (start-up
# done: storage replayed, sockets bound), status_ms = first `raftctl status` it
# answers, sget_ms = first serializable get it answers, applied_ms = its applied index
# reaches the commit index the cluster had when it stopped (its state machine is rebuilt by
# replaying the log). For the whole cluster: put_ms = first acknowledged put, applied_ms =
# every node applied up to the old commit. Prints one line per trial and the medians.
# Env: ENTRIES, NODES, TRIALS, CLIENTS (load for the fill, 128), VAL_SIZE (16), KEYS (100000),
#      RAFT_BIN_DIR (default build-perf/bin), KEEP=1 keeps the data dir, SCENARIOS
#      ("follower leader cluster"), PERF=1 records a CPU profile of one follower restart,
#      OUT (results and profile, default /tmp/raftkv-restart-DATE).
# Every process started is stopped by its PID at exit (trap), also on Ctrl-C or error.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
ENTRIES=${ENTRIES:-1000000}
NODES=${NODES:-3}
TRIALS=${TRIALS:-3}
CLIENTS=${CLIENTS:-128}
VAL_SIZE=${VAL_SIZE:-16}
KEYS=${KEYS:-100000}
SCENARIOS=${SCENARIOS:-follower leader cluster}
BIN=${RAFT_BIN_DIR:-$root/build-perf/bin}
[ -x "$BIN/raft-node" ] && [ -x "$BIN/raftctl" ] || { echo "bench-restart.sh: no raft-node/raftctl in $BIN" >&2; exit 2; }
DIR=$(mktemp -d /tmp/raftkv-restart.XXXXXX)
OUT=${OUT:-/tmp/raftkv-restart-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
CONF=$DIR/cluster.yaml
declare -A PID=()

log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
ctl() { timeout 30 "$BIN/raftctl" --config "$CONF" "$@"; }

cleanup() {
  local id
  for id in "${!PID[@]}"; do
    [ -n "${PID[$id]}" ] && kill -KILL "${PID[$id]}" 2>/dev/null
  done
  wait 2>/dev/null
  if [ "${KEEP:-0}" = 1 ]; then log "data kept in $DIR"; else rm -rf "$DIR"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

{
  echo "cluster_id: raftkv-restart"
  echo "data_dir: $DIR/data"
  echo "tick_ms: 100"
  echo "election_ticks: 10"
  echo "heartbeat_ticks: 1"
  echo "fsync: true"
  echo "snapshot_entries: $(( ENTRIES * 2 + 100000 ))"
  echo "nodes:"
  for i in $(seq 1 "$NODES"); do
    echo "  - id: $i"
    echo "    raft: tcp://127.0.0.1:$((27300 + i))"
    echo "    client: tcp://127.0.0.1:$((27350 + i))"
  done
} >"$CONF"

start_node() {  # start_node ID [--bootstrap]; sets PID[ID]
  local d=$DIR/data/node-$1
  mkdir -p "$d"
  setsid "$BIN/raft-node" --config "$CONF" --id "$1" "${@:2}" >>"$d/node.log" 2>&1 </dev/null &
  PID[$1]=$!
}

stop_node() {  # stop_node ID: SIGTERM, then SIGKILL after 20 s
  local p=${PID[$1]:-} i
  [ -n "$p" ] || return 0
  kill -TERM "$p" 2>/dev/null
  for i in $(seq 1 400); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
  kill -KILL "$p" 2>/dev/null
  wait "$p" 2>/dev/null
  PID[$1]=""
}

field() {  # field ID NAME: a number from that member's own status ("" when unreachable)
  local js
  js=$(timeout 5 "$BIN/raftctl" --config "$CONF" --node "$1" --timeout "${2:-0.5}" status --json 2>/dev/null)
  case $js in *'"reachable":true'*) ;; *) return 0 ;; esac
  js=${js#*\"$3\":}
  echo "${js%%[,\}]*}"
}

leader() {  # id of a member that says it leads, "" if none
  local i r
  for i in $(seq 1 "$NODES"); do
    [ -n "${PID[$i]:-}" ] || continue
    r=$(field "$i" 0.5 role)
    [ "$r" = '"leader"' ] && { echo "$i"; return; }
  done
}

wait_leader() {  # waits up to 30 s
  local l end=$(( $(date +%s) + 30 ))
  while [ "$(date +%s)" -lt "$end" ]; do
    l=$(leader); [ -n "$l" ] && { echo "$l"; return 0; }
    sleep 0.1
  done
  return 1
}

median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END{if(NR==0){print "-"}else if(NR%2){print a[(NR+1)/2]}else{print int((a[NR/2]+a[NR/2+1])/2)}}'; }

# Times one restarted node until it answers status, a serializable get, and has applied up to
# `target`. Prints "status_ms=.. sget_ms=.. applied_ms=..".
time_node() {  # time_node ID T0_MS TARGET
  local id=$1 t0=$2 target=$3 st="" sg="" ap="" a end=$(( $(date +%s) + 300 ))
  # short timeouts: a request sent before the node binds its port waits for a reconnect
  while [ -z "$st" ] && [ "$(date +%s)" -lt "$end" ]; do
    if timeout 5 "$BIN/raftctl" --config "$CONF" --node "$id" --timeout 0.1 status >/dev/null 2>&1; then
      st=$(( $(now_ms) - t0 ))
    fi
  done
  while [ -z "$sg" ] && [ "$(date +%s)" -lt "$end" ]; do
    timeout 5 "$BIN/raftctl" --config "$CONF" --node "$id" --timeout 0.1 get --serializable k00000001 >/dev/null 2>&1
    case $? in 0|1) sg=$(( $(now_ms) - t0 )) ;; esac
  done
  while [ -z "$ap" ] && [ "$(date +%s)" -lt "$end" ]; do
    a=$(field "$id" 1 applied)
    if [ -n "$a" ] && [ "$a" -ge "$target" ]; then ap=$(( $(now_ms) - t0 )); else sleep 0.01; fi
  done
  echo "init_ms=$(init_ms "$id" "$t0") status_ms=${st:--1} sget_ms=${sg:--1} applied_ms=${ap:--1}"
}

# From t0 to the node's own "serving" log line (the end of its start-up: storage opened and
# replayed, raft created, sockets bound), by the log's millisecond timestamps.
init_ms() {  # init_ms ID T0_MS
  local line ts
  line=$(grep " serving: raft " "$DIR/data/node-$1/node.log" | tail -1)
  ts=$(date -d "$(echo "$line" | cut -c1-23)" +%s%3N 2>/dev/null) || { echo -1; return; }
  echo $(( ts - $2 ))
}

# ---- start and fill
log "cluster of $NODES in $DIR; binaries $BIN"
for i in $(seq 1 "$NODES"); do start_node "$i" --bootstrap; done
L=$(wait_leader) || { echo "bench-restart.sh: no leader" >&2; exit 1; }
log "leader $L; filling with $ENTRIES puts of $VAL_SIZE bytes ($CLIENTS clients)"
t_fill=$(now_ms)
while :; do
  last=$(field "$L" 1 last_index)
  [ -n "$last" ] || { L=$(wait_leader) || exit 1; continue; }
  [ "$last" -ge "$ENTRIES" ] && break
  rest=$(( ENTRIES - last ))
  log "  $last entries in the log ($(( (last * 100) / ENTRIES ))%), $(( ($(now_ms) - t_fill) / 1000 )) s"
  # a chunk of at most 10 s, shorter near the end (assuming >= 5000 puts/s)
  secs=$(( rest / 5000 + 1 )); [ "$secs" -gt 10 ] && secs=10
  ctl --timeout 5 bench --clients "$CLIENTS" --duration "$secs" --warmup 0 --value-size "$VAL_SIZE" \
    --keys "$KEYS" >/dev/null 2>&1
done
log "filled: $(field "$L" 1 last_index) entries in $(( ($(now_ms) - t_fill) / 1000 )) s; log size per node: $(du -sh "$DIR/data/node-1/wal" | cut -f1)"
# every node applied everything, so that the timings start from a settled cluster
target=$(field "$L" 1 commit)
for i in $(seq 1 "$NODES"); do
  until a=$(field "$i" 1 applied) && [ -n "$a" ] && [ "$a" -ge "$target" ]; do sleep 0.2; done
done

RESULTS=$OUT/results.txt
: >"$RESULTS"

trial_node() {  # trial_node follower|leader N
  local kind=$1 n=$2 L id target t0 out
  L=$(wait_leader) || return 1
  if [ "$kind" = leader ]; then id=$L; else id=$(( L % NODES + 1 )); fi
  target=$(field "$L" 1 commit)
  stop_node "$id"
  if [ "$kind" = leader ]; then wait_leader >/dev/null || return 1; fi
  t0=$(now_ms)
  start_node "$id"
  local perf_pid=""
  if [ "${PERF:-0}" = 1 ] && [ "$kind" = follower ] && [ "$n" = 1 ]; then
    # attached right after the exec: the first milliseconds are missed
    perf record -q -F 499 --call-graph dwarf,16384 -p "${PID[$id]}" -o "$OUT/perf-restart.data" -- sleep "${PERF_S:-3}" >/dev/null 2>&1 &
    perf_pid=$!
  fi
  out=$(time_node "$id" "$t0" "$target")
  [ -n "$perf_pid" ] && wait "$perf_pid"
  echo "restart=$kind trial=$n node=$id entries=$target $out" | tee -a "$RESULTS"
}

trial_cluster() {  # trial_cluster N
  local n=$1 L target t0 i pt="" ap="" a all end
  L=$(wait_leader) || return 1
  target=$(field "$L" 1 commit)
  for i in $(seq 1 "$NODES"); do stop_node "$i"; done
  t0=$(now_ms)
  for i in $(seq 1 "$NODES"); do start_node "$i"; done
  end=$(( $(date +%s) + 300 ))
  while [ -z "$pt" ] && [ "$(date +%s)" -lt "$end" ]; do
    ctl --timeout 1 put restart-probe "$n" >/dev/null 2>&1 && pt=$(( $(now_ms) - t0 ))
  done
  while [ -z "$ap" ] && [ "$(date +%s)" -lt "$end" ]; do
    all=1
    for i in $(seq 1 "$NODES"); do
      a=$(field "$i" 1 applied)
      { [ -n "$a" ] && [ "$a" -ge "$target" ]; } || { all=0; break; }
    done
    if [ "$all" = 1 ]; then ap=$(( $(now_ms) - t0 )); else sleep 0.01; fi
  done
  echo "restart=cluster trial=$n nodes=$NODES entries=$target put_ms=${pt:--1} applied_ms=${ap:--1}" | tee -a "$RESULTS"
}

for s in $SCENARIOS; do
  for n in $(seq 1 "$TRIALS"); do
    case $s in
      follower|leader) trial_node "$s" "$n" ;;
      cluster) trial_cluster "$n" ;;
      *) echo "bench-restart.sh: unknown scenario $s" >&2; exit 2 ;;
    esac
  done
done

echo "# medians over $TRIALS restarts, ms from exec (log of $ENTRIES entries, $NODES nodes)"
for s in $SCENARIOS; do
  line="restart=$s"
  for f in init_ms status_ms sget_ms put_ms applied_ms; do
    vals=$(grep "^restart=$s " "$RESULTS" | grep -o "$f=[-0-9]*" | cut -d= -f2 | tr '\n' ' ')
    [ -n "$vals" ] && line="$line $f=$(echo "$vals" | median)"
  done
  echo "$line"
done
if [ -f "$OUT/perf-restart.data" ]; then
  echo "# CPU profile of the first follower restart (perf report --no-children)"
  perf report -i "$OUT/perf-restart.data" --no-children --stdio -g none --percent-limit 2 2>/dev/null |
    grep -v '^#' | grep -v '^$' | cut -c1-110 | head -25
  echo "# the same, inclusive time of the start-up and apply phases (perf report --children)"
  perf report -i "$OUT/perf-restart.data" --children --stdio -g none --sort symbol 2>/dev/null |
    grep -E "Node::init|Node::run$|open_disk_log_store|DiskStorage::(open|recover|load|replay)|handle_ready|apply_entries|RawNode::(ready|create)|Raft::create|RaftLog::slice|MemStorage|KvStateMachine::apply|decode_kv_command|LogReader" |
    cut -c1-110 | head -30
fi
