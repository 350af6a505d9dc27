#!/usr/bin/env bash
# scripts/bench/profile.sh - where a put goes in our five-node cluster: per-operation counts
# (fsyncs, writes, syscalls, peer messages sent and stepped, Readies, persists) on the leader
# and on one follower, then a CPU profile of each (perf record, flat self time).
#
#   scripts/bench/profile.sh [CLIENTS]        (default 64 clients, puts only)
#
# Counts come from perf stat over a window of the running bench: syscall tracepoints and
# uprobes on a few functions of raft-node (PeerTransport::send, RawNode::step, RawNode::ready,
# DiskStorage::persist, ClientService::reply). They are divided by the number of entries
# the leader committed in the window, so they do not depend on how busy the machine is
# (other tenants compiling change the absolute times, not the counts per operation).
# Env: WINDOW (s per measurement, default 5), PERF_FREQ (samples/s, 499), OUT (result dir,
#      default /tmp/raftkv-profile-DATE), RAFT_BIN_DIR, OURS_DIR (default /tmp/raftkv-profile),
#      RECORD=0 skips the CPU profiles. Needs root (uprobes, tracepoints).
# The cluster uses the ports of scripts/bench.sh (27101-27205): do not run both at once.
# Every process started is stopped by its PID at exit; the uprobes are removed.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CLIENTS=${1:-64}
WINDOW=${WINDOW:-5}
PERF_FREQ=${PERF_FREQ:-499}
OUT=${OUT:-/tmp/raftkv-profile-$(date +%Y%m%d-%H%M%S)}
export OURS_DIR=${OURS_DIR:-/tmp/raftkv-profile}
BENCH_DURATION=$((3 + 2 * WINDOW + 4))
BENCH_WARMUP=1
mkdir -p "$OUT"
# shellcheck source=common.sh
. "$here/common.sh"
# shellcheck source=ours.sh
. "$here/ours.sh"

BIN=$OURS_BIN/raft-node
GROUP=raftkvprof
bench_pid=""
cleanup() {
  [ -n "$bench_pid" ] && kill "$bench_pid" 2>/dev/null
  perf probe -q -d "$GROUP:*" >/dev/null 2>&1
  ours_stop
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# name=mangled symbol; a symbol missing from this build is skipped
probes=(
  psend=_ZN9transport13PeerTransport4sendERKN4raft7MessageE
  pstep=_ZN4raft7RawNode4stepENS_7MessageE
  ready=_ZN4raft7RawNode5readyEv
  persist=_ZN7storage11DiskStorage7persistEPKN4raft8SnapshotERKSt6vectorINS1_5EntryESaIS6_EERKSt8optionalINS1_9HardStateEEb
  reply=_ZN4node13ClientService5replyERKNSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEEERKN9transport11ClientReplyE
)
perf probe -q -d "$GROUP:*" >/dev/null 2>&1
events=()
for p in "${probes[@]}"; do
  if perf probe -q -x "$BIN" -a "$GROUP:$p" >/dev/null 2>&1; then events+=("$GROUP:${p%%=*}"); fi
done
for s in fdatasync fsync write pwrite64 writev sendto sendmsg recvfrom recvmsg poll read; do
  events+=("syscalls:sys_enter_$s")
done
events+=(raw_syscalls:sys_enter context-switches task-clock)
evlist=$(IFS=,; echo "${events[*]}")

ours_start || exit 1
sleep 1
L=$(ours_leader)
[ -n "$L" ] || { echo "profile.sh: no leader" >&2; exit 1; }
F=$(( L % 5 + 1 ))
LP=$(ours_live_pid "$L"); FP=$(ours_live_pid "$F")
echo "leader $L (pid $LP), follower $F (pid $FP); $CLIENTS clients; window ${WINDOW}s; out $OUT" >&2

timeout $((BENCH_DURATION + 60)) "$OURS_BIN/raftctl" --config "$OURS_CONF" --timeout 5 --json bench \
  --clients "$CLIENTS" --duration "$BENCH_DURATION" --warmup "$BENCH_WARMUP" --value-size "${VAL_SIZE:-100}" \
  --keys "${KEY_SPACE:-100000}" --read-ratio 0 >"$OUT/bench.json" 2>"$OUT/bench-progress.log" &
bench_pid=$!
sleep 3

c0=$(ours_status_field "$L" commit)
perf stat -x, -e "$evlist" -p "$LP" -o "$OUT/stat-leader.csv" -- sleep "$WINDOW" &
s1=$!
perf stat -x, -e "$evlist" -p "$FP" -o "$OUT/stat-follower.csv" -- sleep "$WINDOW" &
s2=$!
wait "$s1" "$s2"
c1=$(ours_status_field "$L" commit)
ops=$(( c1 - c0 ))
echo "$ops" >"$OUT/ops.txt"

if [ "${RECORD:-1}" = 1 ]; then
  perf record -q -F "$PERF_FREQ" --call-graph dwarf,16384 -p "$LP" -o "$OUT/perf-leader.data" -- sleep "$WINDOW" \
    >/dev/null 2>&1 &
  r1=$!
  perf record -q -F "$PERF_FREQ" --call-graph dwarf,16384 -p "$FP" -o "$OUT/perf-follower.data" -- sleep "$WINDOW" \
    >/dev/null 2>&1 &
  r2=$!
  wait "$r1" "$r2"
fi
wait "$bench_pid"
bench_pid=""

# ---- report
python3 - "$OUT" "$ops" "$WINDOW" <<'EOF'
import sys, json
out, ops, window = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
def load(role):
    d = {}
    for line in open(f"{out}/stat-{role}.csv"):
        f = line.strip().split(",")
        if len(f) < 3 or line.startswith("#"): continue
        try: v = float(f[0])
        except ValueError: continue
        d[f[2].split(":")[-1].replace("sys_enter_", "").replace("sys_enter", "syscalls")] = v
    return d
try:
    b = json.load(open(f"{out}/bench.json"))
    print("bench: %d clients %.0f ops/s p50 %.3f p99 %.3f ms" % (b["clients"], b["ops_per_s"], b["latency_ms"]["p50"], b["latency_ms"]["p99"]))
except Exception as e:
    print("bench: no result (%s)" % e)
print("window %.0f s: %d entries committed (%.0f/s)" % (window, ops, ops / window))
L, F = load("leader"), load("follower")
keys = ["psend", "pstep", "ready", "persist", "reply", "fdatasync", "fsync", "write", "pwrite64", "writev",
        "sendto", "sendmsg", "recvfrom", "recvmsg", "poll", "read", "syscalls", "context-switches", "task-clock"]
print("%-18s %12s %12s" % ("per entry", "leader", "follower"))
for k in keys:
    if k not in L and k not in F: continue
    mul = 1e3 if k == "task-clock" else 1  # task-clock is in ms: us per entry
    name = "cpu_us" if k == "task-clock" else k
    print("%-18s %12.3f %12.3f" % (name, L.get(k, 0) * mul / ops, F.get(k, 0) * mul / ops))
EOF

if [ "${RECORD:-1}" = 1 ]; then
  for role in leader follower; do
    perf report -i "$OUT/perf-$role.data" --no-children --sort dso,symbol --stdio --percent-limit 0.7 \
      -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | cut -c1-110 >"$OUT/report-$role.txt"
    echo "--- $role: top self time (perf report --no-children)"
    head -40 "$OUT/report-$role.txt"
  done
fi
