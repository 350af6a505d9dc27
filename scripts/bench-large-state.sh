#!/usr/bin/env bash
# scripts/bench-large-state.sh - a five-member cluster filled with a large state (issue 15).
#
#   scripts/bench-large-state.sh [MB=1024]
#
# Starts five nodes on loopback in a temporary dir (raft ports 27401.., client ports 27451..;
# tick 100 ms, fsync on, the default snapshot policy), stops one follower (kill -9), fills MB
# MiB of 4 KiB values with CLIENTS (64) closed-loop clients (`raftctl bench`, sequential keys),
# then measures and prints one table:
#   fill          throughput (MiB/s and puts/s) until every key was written once;
#   put latency   per-second p50/p99/max of the bench, split by whether any member had a
#                 snapshot child running in that second (sampled from `raftctl status --json`
#                 every 0.3 s): medians of the per-second p99s and the largest max;
#   leaders       leader changes seen during the fill (sampled; must be 0) and the terms;
#   snapshot      per member: snapshots recorded, slowest loop step of snapshotting (fork,
#                 record, compaction), slowest fork, slowest loop iteration overall;
#   memory        per member: peak RSS (VmHWM of the process) beside the state size;
#   catch-up      the follower stopped during the fill restarted: time until it applied the
#                 leader's commit (needs the chunked snapshot transfer above 64 MiB of state:
#                 bounded by CATCHUP_S, 120);
#   restart       one member (kill -9, start): time to its first status and to applying the
#                 commit it had; all members at once: time to the first acknowledged put and
#                 to every member applied;
#   physical      sequential write of MB MiB with fdatasync (dd), reading the snapshot file
#                 back (dd, page cache as it is), loopback TCP copy of MB MiB (python3).
# And the same catch-up on etcd when ETCD=1 and etcd is installed (the shared etcd_large.sh,
# or scripts/bench/etcd/ where the shared folder is absent).
# Env: CLIENTS, NODES (5), CATCHUP_S, RAFT_BIN_DIR (default build/bin), KEEP=1 keeps the data,
#      OUT (default /tmp/raftkv-large-DATE: raw samples and logs).
# Every process started is stopped by its PID at exit (trap), also on Ctrl-C or error.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
MB=${1:-1024}
NODES=${NODES:-5}
CLIENTS=${CLIENTS:-64}
CATCHUP_S=${CATCHUP_S:-120}
BIN=${RAFT_BIN_DIR:-$root/build/bin}
[ -x "$BIN/raft-node" ] && [ -x "$BIN/raftctl" ] || { echo "bench-large-state.sh: no raft-node/raftctl in $BIN" >&2; exit 2; }
command -v python3 >/dev/null || { echo "bench-large-state.sh: needs python3" >&2; exit 2; }
DIR=$(mktemp -d /tmp/raftkv-large.XXXXXX)
OUT=${OUT:-/tmp/raftkv-large-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
CONF=$DIR/cluster.yaml
KEYS=$((MB * 256))
declare -A PID=()
BENCH_PID=""
SAMPLER_PID=""

log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
ctl() { timeout 30 "$BIN/raftctl" --config "$CONF" "$@"; }

cleanup() {
  local id
  [ -n "$BENCH_PID" ] && kill -KILL "$BENCH_PID" 2>/dev/null
  [ -n "$SAMPLER_PID" ] && kill -KILL "$SAMPLER_PID" 2>/dev/null
  for id in "${!PID[@]}"; do
    [ -n "${PID[$id]}" ] && kill -KILL "${PID[$id]}" 2>/dev/null
  done
  wait 2>/dev/null
  if [ "${KEEP:-0}" = 1 ]; then log "data kept in $DIR"; else rm -rf "$DIR"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

{
  echo "cluster_id: raftkv-large"
  echo "data_dir: $DIR/data"
  echo "tick_ms: 100"
  echo "max_state_mb: $(( MB * 2 > 4096 ? MB * 2 : 4096 ))"
  echo "nodes:"
  for i in $(seq 1 "$NODES"); do
    echo "  - id: $i"
    echo "    raft: tcp://127.0.0.1:$((27400 + i))"
    echo "    client: tcp://127.0.0.1:$((27450 + i))"
  done
} >"$CONF"

start_node() {  # id
  mkdir -p "$DIR/data/node-$1"
  "$BIN/raft-node" --config "$CONF" --id "$1" --bootstrap >>"$DIR/data/node-$1/node.log" 2>&1 &
  PID[$1]=$!
}
kill_node() {  # id
  [ -n "${PID[$1]:-}" ] || return 0
  kill -KILL "${PID[$1]}" 2>/dev/null
  wait "${PID[$1]}" 2>/dev/null
  PID[$1]=""
}
# One JSON status of every member (python reads it); empty on failure.
status_json() { ctl --timeout 1 status --json 2>/dev/null; }
jq_py() { python3 -c "import json,sys; d=json.loads(sys.stdin.read() or '{}'); $1"; }
leader_id() { status_json | jq_py "print(next((n['id'] for n in d.get('nodes',[]) if n['role']=='leader'), 0))"; }
field_of() {  # id field
  status_json | jq_py "print(next((n['$2'] for n in d.get('nodes',[]) if n['id']==$1 and n['reachable']), -1))"
}
wait_leader() {  # timeout_s
  local until=$(( $(date +%s) + $1 )) l
  while [ "$(date +%s)" -lt "$until" ]; do
    l=$(leader_id); [ "${l:-0}" != 0 ] && { echo "$l"; return 0; }
    sleep 0.1
  done
  echo 0; return 1
}
vmhwm_kb() { awk '/VmHWM/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

for i in $(seq 1 "$NODES"); do start_node "$i"; done
LEADER=$(wait_leader 20) || { log "no leader"; exit 1; }
DOWN=$(( LEADER % NODES + 1 ))
log "leader $LEADER; stopping follower $DOWN for the fill"
kill_node "$DOWN"
TERM0=$(field_of "$LEADER" term)

# --- fill, with a status sampler ------------------------------------------------------------
: >"$OUT/samples.jsonl"
(
  while :; do
    s=$(status_json)
    [ -n "$s" ] && echo "{\"t\": $(date +%s.%N), \"status\": $s}" >>"$OUT/samples.jsonl"
    sleep 0.3
  done
) &
SAMPLER_PID=$!
log "filling $MB MiB ($KEYS keys of 4 KiB) with $CLIENTS clients"
T0=$(date +%s.%N)
( "$BIN/raftctl" --config "$CONF" --timeout 30 bench --clients "$CLIENTS" --value-size 4096 --keys "$KEYS" --duration 100000 --warmup 0 \
    --connections 4 2>&1 >/dev/null | while IFS= read -r line; do echo "$(date +%s.%N) $line"; done >"$OUT/bench.log" ) &
BENCH_PID=$!
target=$(( MB * 1048576 ))
while :; do
  sb=$(field_of "$LEADER" state_bytes)
  [ "${sb:-0}" -ge "$target" ] && break
  kill -0 "$BENCH_PID" 2>/dev/null || { log "the bench ended early"; break; }
  sleep 0.5
done
T1=$(date +%s.%N)
pkill -KILL -P "$BENCH_PID" 2>/dev/null; kill -KILL "$BENCH_PID" 2>/dev/null; wait "$BENCH_PID" 2>/dev/null; BENCH_PID=""
# Let snapshots that started during the fill finish (they are part of the fill's cost).
sleep 3
kill -KILL "$SAMPLER_PID" 2>/dev/null; wait "$SAMPLER_PID" 2>/dev/null; SAMPLER_PID=""
FINAL=$(status_json)
echo "$FINAL" >"$OUT/final-status.json"
for i in $(seq 1 "$NODES"); do
  [ -n "${PID[$i]:-}" ] && echo "$i $(vmhwm_kb "${PID[$i]}")"
done >"$OUT/vmhwm.txt"

# --- catch-up of the follower that was down ---------------------------------------------------
COMMIT=$(field_of "$LEADER" commit)
log "restarting follower $DOWN; it must reach commit $COMMIT"
c0=$(now_ms); start_node "$DOWN"
CATCHUP_MS=-1
until=$(( $(date +%s) + CATCHUP_S ))
while [ "$(date +%s)" -lt "$until" ]; do
  a=$(field_of "$DOWN" applied)
  [ "${a:-0}" -ge "$COMMIT" ] && { CATCHUP_MS=$(( $(now_ms) - c0 )); break; }
  sleep 0.1
done
log "catch-up: ${CATCHUP_MS} ms"
ALIVE=$(seq 1 "$NODES")
if [ "$CATCHUP_MS" = -1 ]; then
  # A follower that cannot catch up keeps the leader re-sending it a snapshot: the restart
  # figures below would measure that, not a restart. It stays down.
  log "follower $DOWN did not catch up: stopped, left out of the restarts"
  kill_node "$DOWN"
  ALIVE=$(seq 1 "$NODES" | grep -vx "$DOWN")
fi
N_ALIVE=$(echo "$ALIVE" | wc -l)
SNAPFILE=$(ls -S "$DIR/data/node-$LEADER/snap/"*.snap 2>/dev/null | head -1)

# --- restart of one member, then of all -------------------------------------------------------
ONE=$(( LEADER % NODES + 2 )); [ "$ONE" -gt "$NODES" ] && ONE=1; [ "$ONE" = "$LEADER" ] && ONE=$(( ONE % NODES + 1 ))
COMMIT=$(field_of "$LEADER" commit)
kill_node "$ONE"; r0=$(now_ms); start_node "$ONE"
R1_STATUS=-1; R1_APPLIED=-1
until=$(( $(date +%s) + 120 ))
while [ "$(date +%s)" -lt "$until" ]; do
  a=$(field_of "$ONE" applied)
  [ "$R1_STATUS" = -1 ] && [ "${a:--1}" != -1 ] && R1_STATUS=$(( $(now_ms) - r0 ))
  [ "${a:--1}" -ge "$COMMIT" ] && { R1_APPLIED=$(( $(now_ms) - r0 )); break; }
  sleep 0.05
done
log "one member restarted: status ${R1_STATUS} ms, applied ${R1_APPLIED} ms"
COMMIT=$(field_of "$LEADER" commit)
for i in $ALIVE; do kill_node "$i"; done
r0=$(now_ms)
for i in $ALIVE; do start_node "$i"; done
RA_PUT=-1; RA_APPLIED=-1
until=$(( $(date +%s) + 180 ))
while [ "$(date +%s)" -lt "$until" ]; do
  if ctl --timeout 0.5 put bench-probe 1 >/dev/null 2>&1; then RA_PUT=$(( $(now_ms) - r0 )); break; fi
done
while [ "$(date +%s)" -lt "$until" ]; do
  ok=$(status_json | jq_py "ns=[n for n in d.get('nodes',[]) if n['reachable']]; print(1 if len(ns)==$N_ALIVE and all(n['applied']>=$COMMIT for n in ns) else 0)")
  [ "$ok" = 1 ] && { RA_APPLIED=$(( $(now_ms) - r0 )); break; }
  sleep 0.1
done
log "all restarted: first put ${RA_PUT} ms, all applied ${RA_APPLIED} ms"
for i in $(seq 1 "$NODES"); do kill_node "$i"; done

# --- physical limits ----------------------------------------------------------------------------
log "physical limits"
PHYS_WRITE=$(dd if=/dev/zero of="$DIR/phys.bin" bs=1M count="$MB" conv=fdatasync 2>&1 | awk '/copied/ {print $(NF-1), $NF}')
PHYS_READ="-"
[ -n "$SNAPFILE" ] && [ -f "$SNAPFILE" ] && PHYS_READ=$(dd if="$SNAPFILE" of=/dev/null bs=1M 2>&1 | awk '/copied/ {print $(NF-1), $NF}')
rm -f "$DIR/phys.bin"
PHYS_LOOP=$(python3 - "$MB" <<'PY'
import socket, sys, threading, time
mb = int(sys.argv[1]); chunk = b"\0" * (1 << 20)
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(1)
def sink():
    c, _ = srv.accept()
    while c.recv(1 << 20): pass
t = threading.Thread(target=sink); t.start()
s = socket.create_connection(srv.getsockname()); t0 = time.time()
for _ in range(mb): s.sendall(chunk)
s.close(); t.join()
print("%.0f MB/s" % (mb * 1.048576 / (time.time() - t0)))
PY
)

# --- etcd ----------------------------------------------------------------------------------------
ETCD_LINE="not run (ETCD=1 and an installed etcd run it)"
if [ "${ETCD:-0}" = 1 ] && command -v etcd >/dev/null; then
  eb=$root/../shared/bench; [ -x "$eb/etcd_large.sh" ] || eb=$root/scripts/bench/etcd
  if [ -x "$eb/etcd_large.sh" ]; then ETCD_LINE=$("$eb/etcd_large.sh" "$MB" 2>&1 | tail -1); else ETCD_LINE="no etcd_large.sh"; fi
fi

# --- report -------------------------------------------------------------------------------------
python3 - "$OUT" "$MB" "$T0" "$T1" "$KEYS" "$TERM0" "$CATCHUP_MS" "$R1_STATUS" "$R1_APPLIED" "$RA_PUT" "$RA_APPLIED" \
  "$PHYS_WRITE" "$PHYS_READ" "$PHYS_LOOP" "$ETCD_LINE" "$DOWN" "$CATCHUP_S" "$(git -C "$root" rev-parse --short HEAD 2>/dev/null)" <<'PY'
import json, sys, statistics, re
(out, mb, t0, t1, keys, term0, catchup, r1s, r1a, rap, raa, pw, pr, pl, etcd, down, catchup_s, commit) = sys.argv[1:]
mb, t0, t1, keys = int(mb), float(t0), float(t1), int(keys)
samples = [json.loads(l) for l in open(out + "/samples.jsonl") if l.strip()]
samples = [s for s in samples if t0 <= s["t"] <= t1 + 3]
snap_times = [s["t"] for s in samples if any(n.get("snapshot_running") for n in s["status"]["nodes"] if n["reachable"])]
leaders = []
for s in samples:
    ls = [n["id"] for n in s["status"]["nodes"] if n["reachable"] and n["role"] == "leader"]
    if ls and (not leaders or leaders[-1] != ls[0]): leaders.append(ls[0])
terms = [max(n["term"] for n in s["status"]["nodes"] if n["reachable"]) for s in samples if s["status"]["nodes"]]
during, outside = [], []
pat = re.compile(r"^([\d.]+) bench: t=\s*([\d.]+)s\s+(\d+) ops/s\s+p50 ([\d.]+) ms\s+p99 ([\d.]+) ms\s+max ([\d.]+) ms")
for line in open(out + "/bench.log"):
    m = pat.match(line)
    if not m: continue
    t = float(m.group(1)); row = tuple(float(m.group(i)) for i in (3, 4, 5, 6))
    if t > t1: continue
    (during if any(t - 1.2 <= x <= t + 0.1 for x in snap_times) else outside).append(row)
def summary(rows):
    if not rows: return "no second"
    return "%d s: ops/s median %.0f, p50 median %.1f ms, p99 median %.1f ms (worst second %.1f), max %.1f ms" % (
        len(rows), statistics.median(r[0] for r in rows), statistics.median(r[1] for r in rows),
        statistics.median(r[2] for r in rows), max(r[2] for r in rows), max(r[3] for r in rows))
final = json.load(open(out + "/final-status.json"))
hwm = dict(tuple(int(x) for x in l.split()) for l in open(out + "/vmhwm.txt") if l.strip())
fill_s = t1 - t0
print("## bench-large-state: %d MiB of 4 KiB values, %d members, commit %s" % (mb, len(final["nodes"]), commit))
print("| measure | value |")
print("|---|---|")
print("| fill | %.1f s: %.1f MiB/s, %.0f puts/s |" % (fill_s, mb / fill_s, keys / fill_s))
print("| put latency, seconds without a snapshot child | %s |" % summary(outside))
print("| put latency, seconds with a snapshot child | %s |" % summary(during))
print("| leader changes during the fill | %d (leaders seen %s, term %s -> %s) |" % (max(0, len(leaders) - 1), leaders, term0, max(terms) if terms else "?"))
for n in final["nodes"]:
    if not n["reachable"]: continue
    print("| node %d (%s) | state %.0f MiB, peak RSS %.0f MiB (%.2fx), snapshot index %d, slowest snapshot step on the loop %.1f ms, slowest fork %.1f ms, slowest loop iteration %.1f ms |" % (
        n["id"], n["role"], n["state_bytes"] / 2**20, hwm.get(n["id"], 0) / 1024, (hwm.get(n["id"], 0) * 1024) / max(1, n["state_bytes"]),
        n["snapshot_index"], n["slowest_snapshot_step_us"] / 1000, n["slowest_fork_us"] / 1000, n["slowest_loop_us"] / 1000))
print("| catch-up of follower %s (down during the fill) | %s |" % (down, ("%s ms" % catchup) if catchup != "-1" else "not caught up within %s s" % catchup_s))
print("| restart of one member | first status %s ms, applied its old commit %s ms |" % (r1s, r1a))
print("| restart of all members at once | first acknowledged put %s ms, all applied %s ms |" % (rap, raa))
print("| physical: sequential write of %d MiB + fdatasync | %s |" % (mb, pw))
print("| physical: read the snapshot file (page cache as is) | %s |" % pr)
print("| physical: loopback TCP copy of %d MiB | %s |" % (mb, pl))
print("| etcd catch-up (same fill) | %s |" % etcd)
PY
