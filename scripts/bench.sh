#!/usr/bin/env bash
# scripts/bench.sh - quick figures for our five-node cluster alone (no etcd).
#
#   scripts/bench.sh [POINT...]        POINT = put:N | get:N | sget:N (default: put:1 put:16
#                                      put:64 put:256 get:64)
#
# Starts a fresh five-node loopback cluster (own ports 27101-27205 and data under
# $OURS_DIR, default /tmp/raftkv-bench; tick 100 ms, election 10 ticks, fsync on), runs
# `raftctl bench` at each point (get = linearizable, sget = serializable spread over the
# members), prints one line per point with throughput, latency percentiles (ms) and the CPU
# seconds used by the five nodes and by the load generator, then stops every node by PID.
# Env: DURATION (s, default 10), WARMUP (s, default 1), VAL_SIZE (100), KEY_SPACE (100000),
#      RAFT_BIN_DIR (default build-perf/bin, built if missing).
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
BENCH_DURATION=${DURATION:-10}
BENCH_WARMUP=${WARMUP:-1}
# shellcheck source=bench/common.sh
. "$here/bench/common.sh"
# shellcheck source=bench/ours.sh
. "$here/bench/ours.sh"

if [ ! -x "$OURS_BIN/raft-node" ] || [ ! -x "$OURS_BIN/raftctl" ]; then
  build=$(dirname "$OURS_BIN")
  echo "bench.sh: building raft-node and raftctl in $build" >&2
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null &&
    cmake --build "$build" -j2 --target raft-node raftctl >/dev/null || exit 1
fi

points=("$@")
[ ${#points[@]} -eq 0 ] && points=(put:1 put:16 put:64 put:256 get:64)
trap 'ours_stop' EXIT INT TERM
ours_start || exit 1
echo "cluster up: $(ours_ctl --timeout 1 status --json 2>/dev/null | tr -d '\n' | cut -c1-80)..." >&2
for p in "${points[@]}"; do
  op=${p%%:*}; n=${p#*:}
  case $op in
    put) ours_point put "$n" ;;
    get) ours_point get "$n" ;;
    sget) ours_point get "$n" --serializable | sed 's/op=get/op=sget/' ;;
    *) echo "bench.sh: unknown point $p" >&2; exit 2 ;;
  esac
done
