// The randomized soak: many seeds of the Simulator, split into shards so that ctest -j
// runs them in parallel. Environment:
//   SIM_SEEDS       number of seeds (default 1000; 300 under AddressSanitizer), starting at
//                   SIM_FIRST_SEED (default 1)
//   SIM_STEPS       steps per seed (default 2000)
//   SIM_SEED        replay exactly this seed (only the shard that owns it runs it)
//   SIM_TRACE=1     print every step of the replayed seed
//   SIM_KEEP_GOING=1  run every seed even after a failure, then list the failing seeds
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>

#include "tests/sim/simulator.h"

namespace {

constexpr uint64_t kShards = 4;
#if defined(__SANITIZE_ADDRESS__)
// AddressSanitizer makes a seed about 30 times slower: the CI sanitizer run keeps to 300.
constexpr uint64_t kDefaultSeeds = 300;
#else
constexpr uint64_t kDefaultSeeds = 1000;
#endif

uint64_t env_u64(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  return std::strtoull(v, nullptr, 10);
}

void run_shard(uint64_t shard) {
  const auto steps = static_cast<int>(env_u64("SIM_STEPS", 2000));
  const bool trace = env_u64("SIM_TRACE", 0) != 0;
  std::vector<uint64_t> seeds;
  if (const char* one = std::getenv("SIM_SEED"); one && *one) {
    const uint64_t seed = std::strtoull(one, nullptr, 10);
    if (seed % kShards != shard) return;  // another shard replays it
    seeds.push_back(seed);
  } else {
    const uint64_t first = env_u64("SIM_FIRST_SEED", 1);
    const uint64_t count = env_u64("SIM_SEEDS", kDefaultSeeds);
    for (uint64_t s = first; s < first + count; ++s) {
      if (s % kShards == shard) seeds.push_back(s);
    }
  }
  // SIM_KEEP_GOING=1: run every seed and list the failing ones at the end.
  const bool keep_going = env_u64("SIM_KEEP_GOING", 0) != 0;
  std::vector<uint64_t> failed;
  const auto start = std::chrono::steady_clock::now();
  uint64_t ops = 0, acked = 0, crashes = 0, disk_losses = 0, confs = 0, snaps = 0, leaders = 0;
  int max_liveness = 0;
  for (uint64_t seed : seeds) {
    sim::SimOptions o;
    o.seed = seed;
    o.steps = steps;
    o.trace = trace;
    const sim::SimReport r = sim::run_simulation(o);
    if (!r.ok) {
      std::cerr << r.failure;
      if (!keep_going) FAIL(r.failure);
      failed.push_back(seed);
      continue;
    }
    ops += r.ops;
    acked += r.acknowledged;
    crashes += r.crashes;
    disk_losses += r.disk_losses;
    confs += r.conf_changes;
    snaps += r.snapshots_sent;
    leaders += r.leaders;
    max_liveness = std::max(max_liveness, r.liveness_ticks);
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << "sim shard " << shard + 1 << "/" << kShards << ": " << seeds.size() << " seeds x "
            << steps << " steps in " << secs << " s; " << leaders << " terms with a leader, "
            << ops << " client ops (" << acked << " writes acknowledged), " << crashes
            << " crashes (" << disk_losses << " losing the disk), " << confs << " conf change proposals, " << snaps
            << " snapshots delivered, slowest liveness " << max_liveness << " ticks\n";
  if (!failed.empty()) {
    std::string list;
    for (uint64_t s : failed) list += " " + std::to_string(s);
    FAIL("failing seeds:" << list);
  }
  SUCCEED();
}

}  // namespace

TEST_CASE("randomized soak shard 1 of 4 keeps every safety and liveness property", "[sim][soak]") {
  run_shard(0);
}
TEST_CASE("randomized soak shard 2 of 4 keeps every safety and liveness property", "[sim][soak]") {
  run_shard(1);
}
TEST_CASE("randomized soak shard 3 of 4 keeps every safety and liveness property", "[sim][soak]") {
  run_shard(2);
}
TEST_CASE("randomized soak shard 4 of 4 keeps every safety and liveness property", "[sim][soak]") {
  run_shard(3);
}
