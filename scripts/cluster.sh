#!/usr/bin/env bash
# The launcher of a raftkv cluster (README "Killing and restarting nodes").
#
#   scripts/cluster.sh [--config FILE] VERB [ID...]
#
#   start [ID...]   build if needed, start the nodes (all when none given) in the background,
#                   wait for a leader, print the status table (exit 1 if no leader in time)
#   stop [ID...]    SIGTERM, wait for the exit (SIGKILL after STOP_TIMEOUT seconds, said so)
#   kill ID...      SIGKILL
#   pause ID...     SIGSTOP            resume ID...   SIGCONT
#   restart ID...   stop then start
#   status          which processes run, then `raftctl status`
#   logs ID [-f]    print (or follow) <data_dir>/node-ID/node.log
#   clean           stop every node and remove the nodes' data
#
# FILE defaults to $RAFT_CONFIG, else config/cluster.yaml of this repository. Binaries come
# from $RAFT_BIN_DIR (default build/bin of this repository). Node N keeps node.pid and
# node.log in <data_dir>/node-N/. A pid file is trusted only when /proc/PID is a live (not
# zombie) raft-node started with this --config and this --id, so a stale pid file, a reused
# pid or an unreaped killed node cannot fool the launcher.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin_dir=${RAFT_BIN_DIR:-$root/build/bin}
raft_node=$bin_dir/raft-node
raftctl=$bin_dir/raftctl
config=${RAFT_CONFIG:-$root/config/cluster.yaml}
STOP_TIMEOUT=${STOP_TIMEOUT:-10}

usage() {
  sed -n '2,21p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  exit 2
}
die() { echo "cluster.sh: $*" >&2; exit 2; }

while [ $# -gt 0 ]; do
  case $1 in
    --config) [ $# -ge 2 ] || die "--config needs a FILE"; config=$2; shift 2 ;;
    --config=*) config=${1#--config=}; shift ;;
    -h|--help) usage ;;
    *) break ;;
  esac
done
[ $# -ge 1 ] || usage
verb=$1; shift
[ -f "$config" ] || die "no cluster file at $config"
config=$(realpath "$config")

ensure_built() {
  if [ ! -x "$raft_node" ] || [ ! -x "$raftctl" ]; then
    if [ -n "${RAFT_BIN_DIR:-}" ]; then die "no raft-node/raftctl in $bin_dir"; fi
    echo "cluster.sh: building (scripts/setup.sh)..."
    "$root/scripts/setup.sh"
  fi
}

# Reads data_dir, the timing and the node list through raft-node itself, so that the
# launcher and the nodes can never disagree about the file (and errors are the same).
load_config() {
  local out
  if ! out=$("$raft_node" --config "$config" --print-config 2>&1); then
    echo "$out" >&2
    exit 2
  fi
  data_dir=$(sed -n 's/^data_dir //p' <<<"$out")
  tick_ms=$(awk '$1=="tick_ms"{print $2}' <<<"$out")
  election_ticks=$(awk '$1=="election_ticks"{print $2}' <<<"$out")
  all_ids=$(awk '$1=="node"{print $2}' <<<"$out" | xargs)
}

node_dir() { echo "$data_dir/node-$1"; }

check_ids() {
  local id
  for id in "$@"; do
    [[ " $all_ids " == *" $id "* ]] || die "node $id is not in $config (nodes: $all_ids)"
  done
}

# Prints the pid of node $1 if it is really running (not a zombie), else nothing.
live_pid() {
  local pidfile pid state cmdline
  pidfile=$(node_dir "$1")/node.pid
  [ -f "$pidfile" ] || return 0
  pid=$(tr -dc '0-9' <"$pidfile")
  [ -n "$pid" ] && [ -r "/proc/$pid/stat" ] || return 0
  # The state is the field after the parenthesised command name (which may hold spaces).
  state=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1) || return 0
  [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ] || return 0
  cmdline=$(tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null) || return 0
  grep -qx -- "--id" <<<"$cmdline" || return 0
  [[ $(basename "$(head -n1 <<<"$cmdline")") == raft-node ]] || return 0
  grep -A1 -x -- "--id" <<<"$cmdline" | tail -n1 | grep -qxF -- "$1" || return 0
  grep -A1 -x -- "--config" <<<"$cmdline" | tail -n1 | grep -qxF -- "$config" || return 0
  echo "$pid"
}

proc_state() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1; }

has_data() {
  local d
  d=$(node_dir "$1")
  [ -n "$(ls -A "$d/wal" 2>/dev/null)" ] || [ -n "$(ls -A "$d/snap" 2>/dev/null)" ]
}

any_data() {
  local id
  for id in $all_ids; do has_data "$id" && return 0; done
  return 1
}

# True if a process holds node $1's folder lock (raft-node takes it for its whole life).
lock_held() {
  local f
  f=$(node_dir "$1")/LOCK
  [ -f "$f" ] && ! flock -n -s "$f" true 2>/dev/null
}

start_node() {  # id bootstrap(0|1)
  local id=$1 d pid
  d=$(node_dir "$id")
  pid=$(live_pid "$id")
  if [ -n "$pid" ]; then
    echo "node $id: already running (pid $pid)"
    return 0
  fi
  # A node started by hand (no pid file) still holds the folder's LOCK: say so instead of
  # starting a second process (which would refuse to start) over the pid file.
  if lock_held "$id"; then
    echo "node $id: already running (pid $(tr -dc '0-9' <"$d/LOCK"), holds $d/LOCK; not started by this launcher)"
    return 0
  fi
  mkdir -p "$d"
  local args=(--config "$config" --id "$id")
  [ "$2" = 1 ] && args+=(--bootstrap)
  # setsid: the node must not receive the terminal's Ctrl-C meant for this script.
  setsid "$raft_node" "${args[@]}" >>"$d/node.log" 2>&1 </dev/null &
  echo $! >"$d/node.pid"
  started_pid[$id]=$!
  local msg="node $id: started (pid $!)"
  [ "$2" = 1 ] && msg+=", bootstrapping a new cluster"
  echo "$msg"
}

wait_gone() {  # id pid seconds -> 0 when gone
  local end=$((SECONDS + $3))
  while [ $SECONDS -lt "$end" ]; do
    [ -z "$(live_pid "$1")" ] && return 0
    sleep 0.1
  done
  [ -z "$(live_pid "$1")" ]
}

stop_node() {
  local id=$1 pid
  pid=$(live_pid "$id")
  if [ -z "$pid" ]; then
    echo "node $id: not running"
    rm -f "$(node_dir "$id")/node.pid"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  kill -CONT "$pid" 2>/dev/null || true  # a paused node must run to see SIGTERM
  if wait_gone "$id" "$pid" "$STOP_TIMEOUT"; then
    echo "node $id: stopped"
  else
    echo "node $id: did not stop within ${STOP_TIMEOUT}s after SIGTERM; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    wait_gone "$id" "$pid" 5 || echo "node $id: still present after SIGKILL (pid $pid)" >&2
  fi
  rm -f "$(node_dir "$id")/node.pid"
}

signal_node() {  # id signal label
  local pid
  pid=$(live_pid "$1")
  if [ -z "$pid" ]; then
    echo "node $1: not running"
    return 1
  fi
  kill -"$2" "$pid"
  echo "node $1: $3 (pid $pid)"
}

# Nodes this run started (id -> pid: this script is their parent, so `wait` gives their
# exit status), and whether one of them exited on its own.
declare -A started_pid=()
node_failed=0

# Reports every node this run started that has exited since: which node, how it ended and
# the end of its log. A node that cannot start must say why, not leave a silent timeout.
report_exits() {
  local id pid code how
  for id in "${!started_pid[@]}"; do
    pid=${started_pid[$id]}
    [ -n "$(live_pid "$id")" ] && continue
    code=0
    wait "$pid" 2>/dev/null || code=$?
    if [ "$code" -gt 128 ]; then how="was killed by signal $(kill -l $((code - 128)) 2>/dev/null || echo $((code - 128)))"
    else how="exited with code $code"; fi
    echo "node $id: $how (pid $pid); last lines of $(node_dir "$id")/node.log:" >&2
    tail -n 10 "$(node_dir "$id")/node.log" 2>/dev/null | sed 's/^/    /' >&2 || true
    unset "started_pid[$id]"
    node_failed=1
  done
}

wait_for_leader() {
  # Bounded: a few election timeouts, at least 10 s. Gives up at once when every node this
  # run started has exited.
  local limit=$(( (tick_ms * election_ticks * 8) / 1000 ))
  [ "$limit" -lt 10 ] && limit=10
  local end=$((SECONDS + limit)) started=${#started_pid[@]}
  while [ $SECONDS -lt "$end" ]; do
    report_exits
    if [ "$started" -gt 0 ] && [ ${#started_pid[@]} -eq 0 ]; then
      echo "cluster.sh: every node started by this command has exited" >&2
      return 1
    fi
    if "$raftctl" --config "$config" --timeout 1 status --json 2>/dev/null | grep -q '"role":"leader"'; then
      report_exits
      return 0
    fi
    sleep 0.2
  done
  report_exits
  return 1
}

show_processes() {
  local id pid state
  for id in $all_ids; do
    pid=$(live_pid "$id")
    if [ -z "$pid" ]; then
      echo "node $id: not running"
    else
      state=$(proc_state "$pid")
      if [ "$state" = T ]; then echo "node $id: paused (pid $pid)"; else echo "node $id: running (pid $pid)"; fi
    fi
  done
}

ensure_built
load_config
ids=("$@")
if [ "$verb" = logs ]; then
  [ $# -ge 1 ] || die "logs needs an ID"
  check_ids "$1"
elif [ ${#ids[@]} -gt 0 ]; then
  check_ids "${ids[@]}"
else
  read -r -a ids <<<"$all_ids"
fi

case $verb in
  start)
    bootstrap=0
    any_data || bootstrap=1
    for id in "${ids[@]}"; do start_node "$id" "$bootstrap"; done
    if wait_for_leader; then
      "$raftctl" --config "$config" --timeout 2 status || true
      exit $node_failed
    fi
    echo "cluster.sh: no leader was elected in time" >&2
    "$raftctl" --config "$config" --timeout 1 status >&2 || true
    exit 1
    ;;
  stop)
    for id in "${ids[@]}"; do stop_node "$id"; done
    ;;
  kill)
    [ $# -ge 1 ] || die "kill needs an ID"
    for id in "${ids[@]}"; do
      pid=$(live_pid "$id")
      if [ -z "$pid" ]; then echo "node $id: not running"; continue; fi
      kill -KILL "$pid"
      wait_gone "$id" "$pid" 5 || true
      rm -f "$(node_dir "$id")/node.pid"
      echo "node $id: killed (pid $pid)"
    done
    ;;
  pause)
    [ $# -ge 1 ] || die "pause needs an ID"
    for id in "${ids[@]}"; do signal_node "$id" STOP paused; done
    ;;
  resume)
    [ $# -ge 1 ] || die "resume needs an ID"
    for id in "${ids[@]}"; do signal_node "$id" CONT resumed; done
    ;;
  restart)
    [ $# -ge 1 ] || die "restart needs an ID"
    for id in "${ids[@]}"; do stop_node "$id"; done
    bootstrap=0
    any_data || bootstrap=1
    for id in "${ids[@]}"; do start_node "$id" "$bootstrap"; done
    if wait_for_leader; then "$raftctl" --config "$config" --timeout 2 status || true; exit $node_failed; fi
    echo "cluster.sh: no leader was elected in time" >&2
    exit 1
    ;;
  status)
    show_processes
    "$raftctl" --config "$config" --timeout 1 status || true
    ;;
  logs)
    [ $# -ge 1 ] || die "logs needs an ID"
    follow=0
    [ "${2:-}" = -f ] && follow=1
    log=$(node_dir "$1")/node.log
    [ -f "$log" ] || die "no log at $log"
    if [ $follow = 1 ]; then exec tail -n 50 -f "$log"; else cat "$log"; fi
    ;;
  clean)
    for id in $all_ids; do stop_node "$id"; done
    for id in $all_ids; do rm -rf "$(node_dir "$id")"; done
    rmdir "$data_dir" 2>/dev/null || true
    echo "cluster.sh: removed the data of nodes $all_ids under $data_dir"
    ;;
  *)
    die "unknown verb '$verb' (start, stop, kill, pause, resume, restart, status, logs, clean)"
    ;;
esac
