// A full disk is not a broken disk: a write that fails with ENOSPC keeps nothing (the segment
// is cut back to its last complete batch, a segment or snapshot file the call started is
// removed), the storage stays usable, and the same call succeeds once space is freed. A
// failed fsync, by contrast, still fails the storage for good (docs/disk_faults.md).
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "raft/mem_storage.h"
#include "storage/disk_storage.h"
#include "storage/testing/fault_env.h"
#include "storage/snapshot_file.h"
#include "storage/testing/trigger_fault_env.h"
#include "storage_test_util.h"

using namespace storage;
using storage_test::entries;
using storage_test::hard_state;
using storage_test::observe;

namespace {

std::unique_ptr<DiskStorage> open_or_fail(const std::string& dir, const Options& opts) {
  auto opened = DiskStorage::open(dir, opts);
  INFO((opened.ok() ? std::string() : opened.error().message));
  REQUIRE(opened.ok());
  return std::move(*opened);
}

std::vector<std::string> names(FaultEnv& env, const std::string& dir) {
  auto n = env.list_dir(dir);
  REQUIRE(n.ok());
  return *n;
}

// The model: what the storage must answer after the given persists.
raft::MemStorage model(const std::vector<std::vector<raft::Entry>>& batches, raft::HardState hs) {
  raft::MemStorage mem;
  for (const auto& b : batches) mem.append(b);
  mem.set_hard_state(hs);
  return mem;
}

}  // namespace

TEST_CASE("a write that fails for lack of space keeps nothing and succeeds once space is freed",
          "[disk_storage][no_space]") {
  FaultEnv env;
  Options opts;
  opts.env = &env;
  auto disk = open_or_fail("/node", opts);
  const auto first = entries(1, {1, 1, 1, 1, 1});
  REQUIRE(disk->persist(nullptr, first, hard_state(1, 1, 3), true).ok());
  const auto before = observe(*disk);
  const std::string segment = "/node/wal/" + names(env, "/node/wal").at(0);
  const size_t size_before = env.contents(segment).size();

  // Room for a few bytes only: the append writes part of the batch, then fails.
  env.fail_writes_after(10);
  const auto second = entries(6, {2, 2, 2});
  auto r = disk->persist(nullptr, second, hard_state(2, 1, 5), true);
  REQUIRE_FALSE(r.ok());
  INFO(r.error().message);
  CHECK(is_no_space(r.error()));
  CHECK(r.error().message.find("disk full in /node") == 0);
  CHECK_FALSE(disk->failure().has_value());
  CHECK(observe(*disk) == before);                         // nothing of the call is visible
  CHECK(env.contents(segment).size() == size_before);      // the partial batch was cut off

  // Still full: the retry fails the same way, and still keeps nothing.
  r = disk->persist(nullptr, second, hard_state(2, 1, 5), true);
  REQUIRE_FALSE(r.ok());
  CHECK(is_no_space(r.error()));
  CHECK(env.contents(segment).size() == size_before);

  env.clear_faults();
  REQUIRE(disk->persist(nullptr, second, hard_state(2, 1, 5), true).ok());
  const auto expected = observe(model({first, second}, hard_state(2, 1, 5)));
  CHECK(observe(*disk) == expected);

  // And the files hold exactly that: no torn record, no warning on recovery.
  disk.reset();
  env.power_cut();
  auto again = open_or_fail("/node", opts);
  CHECK(again->recovery_warnings().empty());
  CHECK(observe(*again) == expected);
}

TEST_CASE("a full disk while starting a segment leaves no segment behind", "[disk_storage][no_space]") {
  FaultEnv env;
  Options opts;
  opts.env = &env;
  opts.segment_bytes = 64;  // every persist starts a new segment
  auto disk = open_or_fail("/node", opts);
  const auto a = entries(1, {1, 1});
  const auto b = entries(3, {1, 2});
  REQUIRE(disk->persist(nullptr, a, hard_state(1, 1, 1), true).ok());
  REQUIRE(disk->persist(nullptr, b, hard_state(2, 1, 2), true).ok());
  const auto segments_before = names(env, "/node/wal");
  REQUIRE(segments_before.size() == 2);
  const auto before = observe(*disk);

  const auto c = entries(5, {2, 2, 2});
  for (uint64_t budget : {uint64_t{0}, uint64_t{20}}) {
    CAPTURE(budget);
    env.fail_writes_after(budget);  // 0: not even the segment header; 20: part of it
    auto r = disk->persist(nullptr, c, hard_state(2, 1, 4), true);
    REQUIRE_FALSE(r.ok());
    CHECK(is_no_space(r.error()));
    CHECK(names(env, "/node/wal") == segments_before);
    CHECK(observe(*disk) == before);
  }
  env.clear_faults();
  REQUIRE(disk->persist(nullptr, c, hard_state(2, 1, 4), true).ok());
  CHECK(names(env, "/node/wal").size() == 3);
  const auto expected = observe(model({a, b, c}, hard_state(2, 1, 4)));
  CHECK(observe(*disk) == expected);
  disk.reset();
  env.power_cut();
  auto again = open_or_fail("/node", opts);
  CHECK(again->recovery_warnings().empty());
  CHECK(observe(*again) == expected);
}

TEST_CASE("a snapshot that does not fit is skipped and leaves no file behind", "[disk_storage][no_space]") {
  FaultEnv env;
  Options opts;
  opts.env = &env;
  opts.keep_entries_after_snapshot = 1;
  auto disk = open_or_fail("/node", opts);
  const auto ents = entries(1, {1, 1, 1, 1, 1, 1});
  REQUIRE(disk->persist(nullptr, ents, hard_state(1, 1, 6), true).ok());
  raft::ConfState cs;
  cs.voters = {1, 2, 3};
  const auto before = observe(*disk);

  // The snapshot file itself does not fit (a partial temporary file is removed) ...
  env.fail_writes_after(100);
  auto r = disk->create_snapshot(5, cs, std::string(1000, 'k'));
  REQUIRE_FALSE(r.ok());
  CHECK(is_no_space(r.error()));
  CHECK(names(env, "/node/snap").empty());
  CHECK(observe(*disk) == before);

  // ... or the file fits but its marker in the log does not: the file goes too.
  uint64_t file_bytes = 0;
  {
    FaultEnv scratch;
    REQUIRE(scratch.create_dirs("/s").ok());
    raft::Snapshot s;
    s.metadata.index = 5;
    s.metadata.term = 1;
    s.metadata.conf_state = cs;
    s.data = std::string(1000, 'k');
    REQUIRE(write_snapshot_file(scratch, "/s", s, true).ok());
    file_bytes = scratch.contents("/s/" + snapshot_name(5)).size();
  }
  env.fail_writes_after(file_bytes + 5);
  r = disk->create_snapshot(5, cs, std::string(1000, 'k'));
  REQUIRE_FALSE(r.ok());
  CHECK(is_no_space(r.error()));
  CHECK(names(env, "/node/snap").empty());
  CHECK(observe(*disk) == before);
  CHECK_FALSE(disk->failure().has_value());

  env.clear_faults();
  REQUIRE(disk->create_snapshot(5, cs, std::string(1000, 'k')).ok());
  CHECK(disk->snapshot_metadata().index == 5);
  REQUIRE(disk->persist(nullptr, entries(7, {1}), hard_state(1, 1, 7), true).ok());
  disk.reset();
  env.power_cut();
  auto again = open_or_fail("/node", opts);
  CHECK(again->recovery_warnings().empty());
  CHECK(again->snapshot_metadata().index == 5);
  CHECK(*again->last_index() == 7);
}

TEST_CASE("a snapshot from the leader that does not fit can be persisted again later", "[disk_storage][no_space]") {
  FaultEnv env;
  Options opts;
  opts.env = &env;
  auto disk = open_or_fail("/node", opts);
  REQUIRE(disk->persist(nullptr, entries(1, {1, 1}), hard_state(1, 1, 2), true).ok());
  const auto before = observe(*disk);
  const raft::Snapshot snap = storage_test::snapshot(10, 3, {1, 2, 3}, std::string(500, 's'));
  for (uint64_t budget : {uint64_t{0}, uint64_t{520}, uint64_t{600}}) {
    CAPTURE(budget);
    env.fail_writes_after(budget);
    auto r = disk->persist(&snap, {}, hard_state(3, 0, 10), true);
    REQUIRE_FALSE(r.ok());
    CHECK(is_no_space(r.error()));
    CHECK(names(env, "/node/snap").empty());
    CHECK(observe(*disk) == before);
  }
  env.clear_faults();
  REQUIRE(disk->persist(&snap, {}, hard_state(3, 0, 10), true).ok());
  disk.reset();
  env.power_cut();
  auto again = open_or_fail("/node", opts);
  CHECK(again->snapshot_metadata().index == 10);
  CHECK(*again->first_index() == 11);
}

TEST_CASE("a failed fsync still fails the storage for good", "[disk_storage][no_space]") {
  FaultEnv env;
  Options opts;
  opts.env = &env;
  auto disk = open_or_fail("/node", opts);
  REQUIRE(disk->persist(nullptr, entries(1, {1}), hard_state(1, 1, 1), true).ok());
  env.set_fail_syncs(true);
  auto r = disk->persist(nullptr, entries(2, {1}), hard_state(1, 1, 2), true);
  REQUIRE_FALSE(r.ok());
  CHECK_FALSE(is_no_space(r.error()));
  CHECK(disk->failure().has_value());
  env.clear_faults();
  r = disk->persist(nullptr, entries(2, {1}), hard_state(1, 1, 2), true);
  REQUIRE_FALSE(r.ok());
  CHECK_FALSE(is_no_space(r.error()));
}

TEST_CASE("the trigger-file env fakes a full disk, a failing fsync and a slow fsync on a real directory",
          "[trigger_fault_env]") {
  char tmpl[] = "/tmp/raftkv-trigger-XXXXXX";
  REQUIRE(mkdtemp(tmpl) != nullptr);
  const std::string root = tmpl;
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  } cleanup{root};
  TriggerFiles t;
  t.disk_full_file = root + "/full";
  t.fsync_fail_file = root + "/fail";
  t.fsync_delay_file = root + "/delay";
  TriggerFaultEnv env(default_env(), t);
  Options opts;
  opts.env = &env;
  auto disk = open_or_fail(root + "/node", opts);
  REQUIRE(disk->persist(nullptr, entries(1, {1}), hard_state(1, 1, 1), true).ok());

  std::ofstream(t.disk_full_file) << "";
  auto r = disk->persist(nullptr, entries(2, {1}), hard_state(1, 1, 2), true);
  REQUIRE_FALSE(r.ok());
  CHECK(is_no_space(r.error()));
  std::filesystem::remove(t.disk_full_file);
  REQUIRE(disk->persist(nullptr, entries(2, {1}), hard_state(1, 1, 2), true).ok());

  std::ofstream(t.fsync_delay_file) << "150";
  const auto started = std::chrono::steady_clock::now();
  REQUIRE(disk->persist(nullptr, entries(3, {1}), hard_state(1, 1, 3), true).ok());
  CHECK(std::chrono::steady_clock::now() - started >= std::chrono::milliseconds(150));
  std::filesystem::remove(t.fsync_delay_file);

  std::ofstream(t.fsync_fail_file) << "";
  r = disk->persist(nullptr, entries(4, {1}), hard_state(1, 1, 4), true);
  REQUIRE_FALSE(r.ok());
  CHECK_FALSE(is_no_space(r.error()));
  CHECK(disk->failure().has_value());
}
