#!/usr/bin/env bash
# The project's test command: installs what is missing, builds, and runs the whole suite
# through ctest. Extra arguments go to ctest, e.g. `scripts/test.sh -L unit`.
#
# Environment:
#   SANITIZE=address,undefined  also build in build-asan/ and run the unit and sim tiers there
#   ASAN_SIM_SEEDS=100          seeds of the simulation in that sanitizer build
#   SIM_SEEDS / SIM_STEPS       size of the randomized simulation (see tests/sim/README.md)
set -euo pipefail
cd "$(dirname "$0")/.."

start=$(date +%s)
# The main build is never sanitized (SANITIZE names the extra build below, and .ci/run
# exports it: passing it through here built and ran the whole suite sanitized at -O2).
SANITIZE= WERROR=${WERROR:-} scripts/setup.sh
(cd build && ctest --output-on-failure -j"${CTEST_JOBS:-2}" --timeout 600 "$@")

if [ -n "${SANITIZE:-}" ]; then
  echo "== sanitizer build ($SANITIZE): unit and sim tiers"
  # Only what the pure tiers need: no benchmarks, no process-level tests.
  RAFT_ONLY="raft;storage;config;transport;node;client;tests/unit;tests/sim;tests/support" \
    BUILD_DIR=build-asan BUILD_TYPE=Debug SANITIZE="$SANITIZE" WERROR=${WERROR:-} scripts/setup.sh
  (cd build-asan && SIM_SEEDS=${ASAN_SIM_SEEDS:-100} ctest --output-on-failure -j"${CTEST_JOBS:-2}" -L 'unit|sim')
fi
echo "test.sh: finished in $(( $(date +%s) - start ))s"
