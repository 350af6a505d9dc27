#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ with clang++ (fuzzer + ASan + UBSan) in build-fuzz/
# and runs each for SECONDS (default 10), starting from a generated seed corpus. Exits
# non-zero if any target crashes; the crashing input is kept in build-fuzz/artifacts/.
#
#   scripts/fuzz.sh [SECONDS]           e.g. scripts/fuzz.sh 60
#   FUZZ_TARGETS="fuzz_kv_command" scripts/fuzz.sh 30
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
build=${FUZZ_BUILD_DIR:-build-fuzz}
targets=${FUZZ_TARGETS:-fuzz_decode_message fuzz_client_codec fuzz_log_reader fuzz_kv_command}

CXX=clang++ CC=clang cmake -S fuzz -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"${FUZZ_JOBS:-2}"

corpus="$build/corpus"
mkdir -p "$corpus" "$build/artifacts"
"$build/make_seeds" "$corpus"

status=0
for t in $targets; do
  mkdir -p "$corpus/$t"
  log="$build/$t.log"
  echo "== $t for ${seconds}s"
  if ASAN_OPTIONS=allocator_may_return_null=0:detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
     "$build/$t" "$corpus/$t" -max_total_time="$seconds" -rss_limit_mb=1024 -malloc_limit_mb=256 \
       -max_len=4096 -print_final_stats=1 -artifact_prefix="$build/artifacts/$t-" >"$log" 2>&1; then
    runs=$(grep -m1 'stat::number_of_executed_units' "$log" | awk '{print $2}')
    echo "   ok: ${runs:-?} runs, $(grep -E '^#[0-9]+.*DONE' "$log" | grep -oE 'exec/s: [0-9]+' || echo 'exec/s: ?'), corpus $(ls "$corpus/$t" | wc -l) inputs"
  else
    status=1
    echo "   CRASH: see $log"
    grep -E 'ERROR|SUMMARY|Test unit written' "$log" | head -5 | sed 's/^/   /'
  fi
done
exit $status
