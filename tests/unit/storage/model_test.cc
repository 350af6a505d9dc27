// The model test: random sequences of append, conflicting append, hard state change, received
// snapshot, create_snapshot + compaction and reopen give exactly the same answers from
// DiskStorage as from raft::MemStorage.
#include <catch2/catch.hpp>

#include "model_harness.h"
#include "storage/testing/fault_env.h"

using namespace storage;
using storage_test::observe;

TEST_CASE("DiskStorage answers exactly like MemStorage under random operations and reopens",
          "[disk_storage][model]") {
  const uint64_t base_seed = Catch::rngSeed() ? Catch::rngSeed() : 4;
  for (uint64_t seed = base_seed; seed < base_seed + 24; ++seed) {
    INFO("seed " << seed);
    const uint64_t keep = seed % 4 == 0 ? 0 : seed % 7;
    storage_test::ModelDriver driver(seed, keep);
    FaultEnv env;
    Options opts;
    opts.env = &env;
    opts.keep_entries_after_snapshot = keep;
    opts.segment_bytes = 128 + driver.pick(0, 2048);
    opts.cache_bytes = driver.pick(0, 2) == 0 ? 0 : driver.pick(0, 4096);
    CAPTURE(opts.segment_bytes, opts.cache_bytes, opts.keep_entries_after_snapshot);
    raft::MemStorage mem;
    auto opened = DiskStorage::open("/node", opts);
    REQUIRE(opened.ok());
    std::unique_ptr<DiskStorage> disk = std::move(*opened);
    for (int op = 0; op < 250; ++op) {
      CAPTURE(op);
      if (driver.pick(0, 14) == 0) {
        disk.reset();
        auto again = DiskStorage::open("/node", opts);
        INFO((again.ok() ? std::string() : again.error().message));
        REQUIRE(again.ok());
        disk = std::move(*again);
        CHECK(disk->recovery_warnings().empty());
      } else {
        auto step = driver.step(*disk, mem);
        INFO(step.what);
        REQUIRE(step.ok);
      }
      REQUIRE(observe(*disk) == observe(mem));
    }
  }
}
