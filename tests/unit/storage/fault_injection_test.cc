// Power cuts: the Env loses every byte and every directory change made after the last sync
// (or keeps a random torn part of it). Whatever happens, the storage comes back with every
// state it reported as synced, i.e. with the state after some persist at or after the last
// synced one.
#include <catch2/catch.hpp>

#include "model_harness.h"
#include "storage/testing/fault_env.h"

using namespace storage;
using storage_test::observe;
using storage_test::Observed;

TEST_CASE("after a power cut nothing that was reported persisted is lost", "[disk_storage][fault]") {
  const uint64_t base_seed = Catch::rngSeed() ? Catch::rngSeed() : 100;
  for (uint64_t seed = base_seed; seed < base_seed + 16; ++seed) {
    INFO("seed " << seed);
    storage_test::ModelDriver driver(seed, 3);
    FaultEnv env;
    Options opts;
    opts.env = &env;
    opts.keep_entries_after_snapshot = 3;
    opts.segment_bytes = 256 + driver.pick(0, 1024);
    opts.cache_bytes = driver.pick(0, 2048);
    raft::MemStorage mem;
    // history[k] is the model after the k-th accepted step; synced is the last k that was
    // synced: a power cut may roll back to any state from history[synced] on, never before.
    std::vector<raft::MemStorage> history{mem};
    size_t synced = 0;
    auto opened = DiskStorage::open("/node", opts);
    REQUIRE(opened.ok());
    std::unique_ptr<DiskStorage> disk = std::move(*opened);
    int cuts = 0;
    for (int op = 0; op < 300; ++op) {
      CAPTURE(op);
      if (driver.pick(0, 9) == 0) {
        disk.reset();
        const auto mode = static_cast<FaultEnv::CutMode>(driver.pick(0, 2));
        CAPTURE(static_cast<int>(mode));
        env.power_cut(mode, &driver.rng());
        ++cuts;
        auto again = DiskStorage::open("/node", opts);
        INFO((again.ok() ? std::string() : again.error().message));
        REQUIRE(again.ok());
        disk = std::move(*again);
        const Observed got = observe(*disk);
        size_t match = history.size();
        for (size_t k = synced; k < history.size(); ++k) {
          if (observe(history[k]) == got) {
            match = k;
            break;
          }
        }
        INFO("recovered " << got << ", last synced " << observe(history[synced]));
        REQUIRE(match < history.size());
        history.resize(match + 1);
        mem = history.back();
        synced = match;  // what recovery kept is on disk for good now
        continue;
      }
      auto step = driver.step(*disk, mem);
      INFO(step.what);
      REQUIRE(step.ok);
      history.push_back(mem);
      if (step.synced) synced = history.size() - 1;
      REQUIRE(observe(*disk) == observe(mem));
    }
    CHECK(cuts > 0);
  }
}

TEST_CASE("a power cut after a write error loses nothing that was reported persisted",
          "[disk_storage][fault]") {
  for (uint64_t budget : {0, 1, 12, 13, 50, 200}) {
    CAPTURE(budget);
    FaultEnv env;
    Options opts;
    opts.env = &env;
    opts.segment_bytes = 150;
    auto s = DiskStorage::open("/n", opts);
    REQUIRE(s.ok());
    auto& disk = **s;
    raft::Index next = 1;
    for (; next <= 6; ++next) {
      REQUIRE(disk.persist(nullptr, storage_test::entries(next, {1}), storage_test::hard_state(1, 1, next), true).ok());
    }
    const Observed reported = observe(disk);
    env.fail_writes_after(budget);
    bool failed = false;
    for (int i = 0; i < 10 && !failed; ++i, ++next) {
      auto r = disk.persist(nullptr, storage_test::entries(next, {1, 1}), std::nullopt, true);
      failed = !r.ok();
      if (!failed) {
        INFO("a write that fit in the budget");
        next += 1;
      }
    }
    REQUIRE(failed);
    const Observed at_failure = observe(disk);
    s->reset();
    env.power_cut();
    env.clear_faults();
    auto r = DiskStorage::open("/n", opts);
    INFO((r.ok() ? std::string() : r.error().message));
    REQUIRE(r.ok());
    CHECK(observe(**r) == at_failure);
    CHECK(observe(**r).last >= reported.last);
  }
}
