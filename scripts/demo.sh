#!/usr/bin/env bash
# The reference program's story (raft-rs examples/five_mem_node), told step by step with
# five real raft-node processes:
#   1. start five nodes (a brand-new cluster bootstraps and elects a leader);
#   2. 100 puts of "hello, world";
#   3. show that every node applied them;
#   4. kill -9 the leader;
#   5. show the new leader;
#   6. keep writing;
#   7. restart the old leader and show that it caught up;
#   8. stop the cluster.
#
#   scripts/demo.sh [--config FILE] [--clean]
#
# The demo needs a brand-new cluster: with --clean it first removes the data of the file's
# nodes (scripts/cluster.sh clean); without it, it refuses to touch existing data.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
config=${RAFT_CONFIG:-$root/config/cluster.yaml}
clean=0
while [ $# -gt 0 ]; do
  case $1 in
    --config) config=$2; shift 2 ;;
    --clean) clean=1; shift ;;
    -h|--help) sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "demo.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
config=$(realpath "$config")
cluster() { "$root/scripts/cluster.sh" --config "$config" "$@"; }
bin_dir=${RAFT_BIN_DIR:-$root/build/bin}
raftctl() { "$bin_dir/raftctl" --config "$config" "$@"; }

step=0
say() {
  step=$((step + 1))
  if [ -t 1 ]; then printf '\n\033[1m== %d. %s\033[0m\n' "$step" "$*"; else printf '\n== %d. %s\n' "$step" "$*"; fi
}
leader_id() {
  raftctl --timeout 1 status --json 2>/dev/null | grep -o '"id":[0-9]*,"role":"leader"' | head -n1 | sed 's/"id":\([0-9]*\).*/\1/'
}
applied_of() {  # id
  raftctl --timeout 1 status --json 2>/dev/null | grep -o "\"id\":$1,[^}]*" | sed 's/.*"applied":\([0-9]*\).*/\1/'
}
commit_of() {  # id
  raftctl --timeout 1 status --json 2>/dev/null | grep -o "\"id\":$1,[^}]*" | sed 's/.*"commit":\([0-9]*\).*/\1/'
}
wait_for() {  # seconds command...
  local end=$((SECONDS + $1)); shift
  until "$@"; do
    [ $SECONDS -lt $end ] || return 1
    sleep 0.2
  done
}

# Build if needed (cluster.sh does it too, but raftctl is used before the first start).
if [ ! -x "$bin_dir/raft-node" ] || [ ! -x "$bin_dir/raftctl" ]; then "$root/scripts/setup.sh"; fi

if [ $clean = 1 ]; then
  cluster clean >/dev/null
elif raftctl --timeout 1 status >/dev/null 2>&1 || ls "$("$bin_dir/raft-node" --config "$config" --print-config | awk '$1=="data_dir"{print $2}')"/node-*/wal >/dev/null 2>&1; then
  echo "demo.sh: the cluster of $config already has data or is running; rerun with --clean to start afresh" >&2
  exit 2
fi

say "Start five nodes: the brand-new cluster bootstraps (voters = the file's nodes) and elects a leader"
cluster start

say "Propose 100 puts of 'hello, world' (through raftctl shell, one connection)"
answers=$(for i in $(seq 1 100); do echo "put hello-$i hello, world"; done | raftctl shell)
ok=$(grep -c '^OK$' <<<"$answers" || true)
echo "$ok of 100 puts acknowledged (committed on a majority and applied by the leader)"
[ "$ok" = 100 ] || { echo "$answers" | grep -v '^OK$' | head -n 5; exit 1; }

say "Every node applied them: each answers from its own state (get --serializable --node N)"
leader=$(leader_id)
target=$(commit_of "$leader")
for id in $(cluster status | awk '/^node [0-9]+:/{sub(":","",$2); print $2}'); do
  wait_for 10 test "$(applied_of "$id")" -ge "$target" || true
  printf 'node %s: applied %s, hello-1 = %s, hello-100 = %s\n' "$id" "$(applied_of "$id")" \
    "$(raftctl --node "$id" get --serializable hello-1)" "$(raftctl --node "$id" get --serializable hello-100)"
done

say "Kill the leader (node $leader) with SIGKILL"
cluster kill "$leader"

say "A new leader is elected among the four survivors"
wait_for 20 bash -c "[ -n \"\$(\"$bin_dir/raftctl\" --config \"$config\" --timeout 1 status --json 2>/dev/null | grep -o '\"role\":\"leader\"')\" ]"
new_leader=$(leader_id)
echo "node $new_leader is the new leader"
raftctl status || true

say "Keep writing: 20 more puts while node $leader is down"
answers=$(for i in $(seq 1 20); do echo "put after-$i written while node $leader was down"; done | raftctl shell)
echo "$(grep -c '^OK$' <<<"$answers" || true) of 20 puts acknowledged"

say "Restart node $leader: it rejoins as a follower and catches up from the leader"
cluster start "$leader" >/dev/null
target=$(commit_of "$new_leader")
wait_for 20 test "$(applied_of "$leader" || echo 0)" -ge "$target" || true
raftctl status || true
echo "node $leader: after-20 = $(raftctl --node "$leader" get --serializable after-20)"

say "Stop the cluster (SIGTERM, clean exit); the data stays in place for the next start"
cluster stop
