#!/usr/bin/env bash
# The chaos suite outside CTest, for long runs: builds what it needs in build-chaos/ and runs
# the nemesis test for SECONDS (default 1800), optionally replaying a seed.
#
#   scripts/chaos.sh [SECONDS] [SEED]
#
# Partitions need root and nftables (apt-get install -y nftables). A failing run prints its
# seed and the directory where the history and node logs are kept.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-1800}
build=${CHAOS_BUILD_DIR:-build-chaos}
command -v nft >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y nftables >/dev/null
cmake -S . -B "$build" -DRAFT_WERROR=ON >/dev/null
cmake --build "$build" -j"${CHAOS_JOBS:-2}" --target chaos_tests raft-node raftctl
export CHAOS_DURATION=$seconds
if [ $# -ge 2 ]; then export CHAOS_SEED=$2; fi
exec "$build/bin/chaos_tests" "five real nodes under a seeded nemesis stay linearizable and lose no acknowledged write" --durations yes
