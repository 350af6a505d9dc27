// DiskStorage: persistence across reopen, torn tails, corruption, snapshots, segments,
// reads from files, and write errors.
#include <catch2/catch.hpp>

#include <cerrno>
#include <filesystem>
#include <fstream>

#include "raft/check.h"
#include "raft/mem_storage.h"
#include "storage/disk_storage.h"
#include "storage/testing/fault_env.h"
#include "storage/snapshot_file.h"
#include "storage/snapshot_stream.h"
#include "storage_test_util.h"

using namespace storage;
using storage_test::entries;
using storage_test::hard_state;
using storage_test::observe;
using storage_test::Observed;

namespace {

std::unique_ptr<DiskStorage> open_ok(const std::string& dir, const Options& opts) {
  auto s = DiskStorage::open(dir, opts);
  INFO((s.ok() ? std::string() : s.error().message));
  REQUIRE(s.ok());
  return std::move(*s);
}

Options mem_options(FaultEnv* env) {
  Options o;
  o.env = env;
  return o;
}

std::vector<std::string> wal_files(Env& env, const std::string& node) {
  auto names = env.list_dir(node + "/wal");
  REQUIRE(names.ok());
  std::vector<std::string> out;
  for (auto& n : *names) out.push_back(node + "/wal/" + n);
  return out;
}

}  // namespace

TEST_CASE("a missing directory starts fresh", "[disk_storage]") {
  storage_test::TempDir tmp;
  const std::string dir = tmp.path() + "/data/node-1";
  auto s = open_ok(dir, Options{});
  CHECK(s->empty());
  CHECK(*s->first_index() == 1);
  CHECK(*s->last_index() == 0);
  CHECK(*s->term(0) == 0);
  CHECK(s->initial_state()->hard_state.empty());
  CHECK(s->recovery_warnings().empty());
  CHECK(std::filesystem::is_directory(dir + "/wal"));
  CHECK(std::filesystem::is_directory(dir + "/snap"));
}

TEST_CASE("an empty directory starts fresh", "[disk_storage]") {
  storage_test::TempDir tmp;
  {
    auto s = open_ok(tmp.path(), Options{});
    CHECK(s->empty());
  }
  auto s = open_ok(tmp.path(), Options{});  // now with empty wal/ and snap/
  CHECK(s->empty());
  CHECK(observe(*s) == observe(raft::MemStorage()));
}

TEST_CASE("entries, hard state and snapshot survive reopen on a real file system", "[disk_storage]") {
  storage_test::TempDir tmp;
  Observed before;
  {
    auto s = open_ok(tmp.path(), Options{});
    auto snap = storage_test::snapshot(1, 1, {1, 2, 3}, "bootstrap");
    REQUIRE(s->persist(&snap, {}, hard_state(1, 0, 1), true).ok());
    CHECK_FALSE(s->empty());
    REQUIRE(s->persist(nullptr, entries(2, {1, 1, 2}), hard_state(2, 3, 3), true).ok());
    before = observe(*s);
  }
  auto s = open_ok(tmp.path(), Options{});
  CHECK(s->recovery_warnings().empty());
  CHECK(observe(*s) == before);
  CHECK(before.first == 2);
  CHECK(before.last == 4);
  CHECK(before.snapshot.data == "bootstrap");
  CHECK(before.conf_state.voters == std::vector<raft::NodeId>{1, 2, 3});
  CHECK(before.hard_state == hard_state(2, 3, 3));
}

TEST_CASE("a conflicting suffix is superseded by appending and survives reopen", "[disk_storage]") {
  FaultEnv env;
  Options opts = mem_options(&env);
  std::string image_before;
  {
    auto s = open_ok("/n", opts);
    REQUIRE(s->persist(nullptr, entries(1, {1, 1, 1, 1, 1}), hard_state(1, 1, 2), true).ok());
    image_before = env.contents(wal_files(env, "/n").at(0));
    REQUIRE(s->persist(nullptr, entries(3, {2, 2}), hard_state(2, 2, 2), true).ok());
    CHECK(*s->last_index() == 4);
    CHECK(*s->term(3) == 2);
  }
  // The file only grew: the old bytes are untouched.
  const std::string image_after = env.contents(wal_files(env, "/n").at(0));
  CHECK(image_after.size() > image_before.size());
  CHECK(image_after.compare(0, image_before.size(), image_before) == 0);

  auto s = open_ok("/n", opts);
  raft::MemStorage model;
  model.append(entries(1, {1, 1, 1, 1, 1}));
  model.append(entries(3, {2, 2}));
  model.set_hard_state(hard_state(2, 2, 2));
  CHECK(observe(*s) == observe(model));
}

TEST_CASE("a record torn at every byte offset of the last record recovers exactly the complete prefix",
          "[disk_storage]") {
  FaultEnv env;
  Options opts = mem_options(&env);
  Observed prefix;
  uint64_t start = 0;
  std::string full;
  std::string path;
  {
    auto s = open_ok("/n", opts);
    REQUIRE(s->persist(nullptr, entries(1, {1, 1}), hard_state(1, 1, 1), true).ok());
    REQUIRE(s->persist(nullptr, entries(3, {1}), hard_state(1, 1, 2), true).ok());
    prefix = observe(*s);
    path = wal_files(env, "/n").at(0);
    start = env.contents(path).size();
    // The last batch: a conflicting entry and a new hard state (two records).
    REQUIRE(s->persist(nullptr, entries(3, {2, 2}), hard_state(2, 2, 3), true).ok());
    full = env.contents(path);
  }
  for (uint64_t cut = start; cut < full.size(); ++cut) {
    CAPTURE(cut);
    env.set_contents(path, full.substr(0, cut));
    {
      auto s = open_ok("/n", opts);
      CHECK(observe(*s) == prefix);
      CHECK(s->recovery_warnings().size() == (cut == start ? 0u : 1u));
    }
    // The tail was cut off for good: a second open sees a clean file.
    CHECK(env.contents(path).size() == start);
    auto again = open_ok("/n", opts);
    CHECK(again->recovery_warnings().empty());
    CHECK(observe(*again) == prefix);
  }
}

TEST_CASE("appending after a truncated torn tail continues the log", "[disk_storage]") {
  FaultEnv env;
  Options opts = mem_options(&env);
  std::string path;
  {
    auto s = open_ok("/n", opts);
    REQUIRE(s->persist(nullptr, entries(1, {1, 1}), hard_state(1, 1, 1), true).ok());
    REQUIRE(s->persist(nullptr, entries(3, {1, 1}), std::nullopt, true).ok());
    path = wal_files(env, "/n").at(0);
  }
  std::string img = env.contents(path);
  env.set_contents(path, img.substr(0, img.size() - 3));
  {
    auto s = open_ok("/n", opts);
    REQUIRE(*s->last_index() == 2);
    REQUIRE(s->persist(nullptr, entries(3, {2}), hard_state(2, 1, 3), true).ok());
  }
  auto s = open_ok("/n", opts);
  CHECK(s->recovery_warnings().empty());
  CHECK(*s->last_index() == 3);
  CHECK(*s->term(3) == 2);
}

TEST_CASE("a flipped bit in the middle is reported as corruption naming file and offset",
          "[disk_storage]") {
  FaultEnv env;
  Options opts = mem_options(&env);
  std::string path;
  uint64_t middle = 0;
  {
    auto s = open_ok("/n", opts);
    REQUIRE(s->persist(nullptr, entries(1, {1, 1}), hard_state(1, 1, 1), true).ok());
    path = wal_files(env, "/n").at(0);
    middle = env.contents(path).size();
    REQUIRE(s->persist(nullptr, entries(3, {1, 1, 1}), std::nullopt, true).ok());
    REQUIRE(s->persist(nullptr, entries(6, {1}), hard_state(1, 1, 5), true).ok());
  }
  const std::string good = env.contents(path);
  for (uint64_t byte : {middle, middle + 5, middle + 12, middle + 20, middle + 40}) {
    CAPTURE(byte);
    std::string bad = good;
    bad[byte] = static_cast<char>(bad[byte] ^ 0x10);
    env.set_contents(path, bad);
    auto s = DiskStorage::open("/n", opts);
    REQUIRE_FALSE(s.ok());
    CHECK(s.code() == raft::ErrorCode::Io);
    CHECK(s.error().message.find(path + ": offset " + std::to_string(middle) + ": ") == 0);
    CHECK(s.error().message.find("checksum mismatch") != std::string::npos);
    // Nothing was "repaired": the damage is left for the operator.
    CHECK(env.contents(path) == bad);
  }
}

TEST_CASE("a damaged segment that is not the last one is corruption even at its end",
          "[disk_storage]") {
  FaultEnv env;
  Options opts = mem_options(&env);
  opts.segment_bytes = 1;  // every batch starts a new segment
  {
    auto s = open_ok("/n", opts);
    for (raft::Index i = 1; i <= 3; ++i) {
      REQUIRE(s->persist(nullptr, entries(i, {1}), std::nullopt, true).ok());
    }
  }
  auto files = wal_files(env, "/n");
  REQUIRE(files.size() == 3);
  std::string img = env.contents(files[1]);
  env.set_contents(files[1], img.substr(0, img.size() - 1));
  auto s = DiskStorage::open("/n", opts);
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().message.find(files[1]) == 0);
  CHECK(s.error().message.find("not the last") != std::string::npos);
}

TEST_CASE("a missing segment in the middle is reported", "[disk_storage]") {
  FaultEnv env;
  Options opts = mem_options(&env);
  opts.segment_bytes = 1;
  {
    auto s = open_ok("/n", opts);
    for (raft::Index i = 1; i <= 3; ++i) {
      REQUIRE(s->persist(nullptr, entries(i, {1}), std::nullopt, true).ok());
    }
  }
  auto files = wal_files(env, "/n");
  REQUIRE(env.remove_file(files[1]).ok());
  auto s = DiskStorage::open("/n", opts);
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().message.find("missing") != std::string::npos);
  // Losing the first segment loses entries the log still needs.
  REQUIRE(env.remove_file(files[0]).ok());
  auto s2 = DiskStorage::open("/n", opts);
  REQUIRE_FALSE(s2.ok());
  CHECK(s2.error().message.find("entries 1..2 are missing") != std::string::npos);
}

TEST_CASE("old entries are read back from the segment files when the cache is small",
          "[disk_storage]") {
  storage_test::TempDir tmp;
  Options opts;
  opts.cache_bytes = 0;
  opts.segment_bytes = 300;
  raft::MemStorage model;
  auto s = open_ok(tmp.path(), opts);
  for (raft::Index i = 1; i <= 60; i += 3) {
    auto batch = entries(i, {i / 10 + 1, i / 10 + 1, i / 10 + 1});
    REQUIRE(s->persist(nullptr, batch, std::nullopt, true).ok());
    model.append(batch);
  }
  CHECK(s->cached_entries() == 0);
  CHECK(s->segment_count() > 3);
  CHECK(observe(*s) == observe(model));
  // A size-limited read stops at the limit, as MemStorage does.
  auto limited = s->entries(5, 50, 40);
  REQUIRE(limited.ok());
  CHECK(*limited == *model.entries(5, 50, 40));
  s.reset();
  opts.cache_bytes = 1000;  // part of it cached now
  auto r = open_ok(tmp.path(), opts);
  CHECK(r->cached_entries() > 0);
  CHECK(r->cached_entries() < 60);
  CHECK(observe(*r) == observe(model));
}

TEST_CASE("a snapshot compacts the log and deletes the segments and snapshots before it",
          "[disk_storage]") {
  FaultEnv env;
  Options opts = mem_options(&env);
  opts.segment_bytes = 200;
  opts.keep_entries_after_snapshot = 4;
  auto s = open_ok("/n", opts);
  for (raft::Index i = 1; i <= 40; ++i) {
    REQUIRE(s->persist(nullptr, entries(i, {1}), hard_state(1, 1, i), true).ok());
  }
  const size_t segments = wal_files(env, "/n").size();
  REQUIRE(segments > 5);
  REQUIRE(s->create_snapshot(20, {{1, 2}, {}, {}, {}, false}, "at20").ok());
  CHECK(*s->first_index() == 17);
  CHECK(*s->term(16) == 1);
  REQUIRE(s->create_snapshot(36, {{1, 2, 3}, {}, {}, {}, false}, "at36").ok());
  CHECK(*s->first_index() == 33);
  CHECK(wal_files(env, "/n").size() < segments);
  auto snaps = env.list_dir("/n/snap");
  REQUIRE(snaps.ok());
  CHECK(*snaps == std::vector<std::string>{snapshot_name(36)});
  const Observed before = observe(*s);
  s.reset();
  auto r = open_ok("/n", opts);
  CHECK(observe(*r) == before);
  CHECK(before.snapshot.data == "at36");
  CHECK(before.conf_state.voters == std::vector<raft::NodeId>{1, 2, 3});
  CHECK(r->create_snapshot(36, {}, "again").code() == raft::ErrorCode::SnapshotOutOfDate);
}

TEST_CASE("a snapshot received from the leader replaces the log", "[disk_storage]") {
  FaultEnv env;
  Options opts = mem_options(&env);
  opts.segment_bytes = 100;
  auto s = open_ok("/n", opts);
  REQUIRE(s->persist(nullptr, entries(1, {1, 1, 1, 1}), hard_state(1, 1, 2), true).ok());
  REQUIRE(s->persist(nullptr, entries(5, {1, 1}), std::nullopt, true).ok());
  auto snap = storage_test::snapshot(50, 3, {1, 2, 3}, "leader state");
  REQUIRE(s->persist(&snap, entries(51, {3, 3}), std::nullopt, true).ok());
  raft::MemStorage model;
  model.append(entries(1, {1, 1, 1, 1, 1, 1}));
  model.set_hard_state(hard_state(1, 1, 2));
  REQUIRE(model.apply_snapshot(snap).ok());
  model.append(entries(51, {3, 3}));
  CHECK(observe(*s) == observe(model));
  CHECK(wal_files(env, "/n").size() == 1);  // nothing before the snapshot is needed
  auto older = storage_test::snapshot(10, 1, {1});
  CHECK(s->persist(&older, {}, std::nullopt, true).code() == raft::ErrorCode::SnapshotOutOfDate);
  CHECK_FALSE(s->failure().has_value());
  s.reset();
  CHECK(observe(*open_ok("/n", opts)) == observe(model));
}

TEST_CASE("a crash between snapshot write and rename leaves the old snapshot usable",
          "[disk_storage]") {
  FaultEnv env;
  Options opts = mem_options(&env);
  Observed before;
  {
    auto s = open_ok("/n", opts);
    auto snap = storage_test::snapshot(1, 1, {1, 2, 3}, "old");
    REQUIRE(s->persist(&snap, entries(2, {1, 1, 1}), hard_state(1, 1, 4), true).ok());
    before = observe(*s);
    env.set_fail_renames(true);  // the .tmp is written and synced, the rename never happens
    auto r = s->create_snapshot(3, {{1, 2, 3, 4}, {}, {}, {}, false}, "new");
    CHECK(r.code() == raft::ErrorCode::Io);
    CHECK(env.exists("/n/snap/" + snapshot_name(3) + ".tmp"));
  }
  // The process dies here (files stay as they are).
  env.clear_faults();
  auto s = open_ok("/n", opts);
  CHECK(observe(*s) == before);
  CHECK(s->snapshot(0)->data == "old");
  REQUIRE(s->recovery_warnings().size() == 1);
  CHECK(s->recovery_warnings()[0].find(".tmp") != std::string::npos);
  CHECK_FALSE(env.exists("/n/snap/" + snapshot_name(3) + ".tmp"));
  // And the next snapshot works.
  REQUIRE(s->create_snapshot(3, {{1, 2, 3, 4}, {}, {}, {}, false}, "new").ok());
  CHECK(s->snapshot(0)->data == "new");
}

TEST_CASE("a crash after the snapshot rename but before its marker keeps the old snapshot",
          "[disk_storage]") {
  FaultEnv env;
  Options opts = mem_options(&env);
  Observed before;
  {
    auto s = open_ok("/n", opts);
    auto snap = storage_test::snapshot(1, 1, {1}, "old");
    REQUIRE(s->persist(&snap, entries(2, {1, 1, 1}), hard_state(1, 1, 4), true).ok());
    before = observe(*s);
  }
  // The new snapshot file is in place, the marker never made it to the log.
  raft::Snapshot newer = storage_test::snapshot(3, 1, {1}, "new");
  REQUIRE(write_snapshot_file(env, "/n/snap", newer, true).ok());
  auto s = open_ok("/n", opts);
  CHECK(observe(*s) == before);
  REQUIRE(s->recovery_warnings().size() == 1);
  CHECK(s->recovery_warnings()[0].find("no marker") != std::string::npos);
}

TEST_CASE("a missing or damaged snapshot file named by the log is an error", "[disk_storage]") {
  FaultEnv env;
  Options opts = mem_options(&env);
  {
    auto s = open_ok("/n", opts);
    auto snap = storage_test::snapshot(1, 1, {1}, "data");
    REQUIRE(s->persist(&snap, {}, hard_state(1, 1, 1), true).ok());
  }
  const std::string path = "/n/snap/" + snapshot_name(1);
  const std::string good = env.contents(path);
  std::string bad = good;
  bad[bad.size() - 2] ^= 1;
  env.set_contents(path, bad);
  auto s = DiskStorage::open("/n", opts);
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().message.find(path + ": offset ") == 0);
  REQUIRE(env.remove_file(path).ok());
  auto s2 = DiskStorage::open("/n", opts);
  REQUIRE_FALSE(s2.ok());
  CHECK(s2.error().message.find("missing") != std::string::npos);
}

TEST_CASE("a write error makes persist return Io and every later write refused", "[disk_storage]") {
  FaultEnv env;
  Options opts = mem_options(&env);
  auto s = open_ok("/n", opts);
  REQUIRE(s->persist(nullptr, entries(1, {1, 1}), hard_state(1, 1, 1), true).ok());
  const Observed before = observe(*s);
  // EIO after a short write. (A full disk, ENOSPC, is retryable instead: no_space_test.cc.)
  env.fail_writes_after(10, EIO);
  auto r = s->persist(nullptr, entries(3, {1, 1, 1}), hard_state(1, 1, 3), true);
  REQUIRE_FALSE(r.ok());
  CHECK(r.code() == raft::ErrorCode::Io);
  CHECK(r.error().message.find("Input/output error") != std::string::npos);
  CHECK_FALSE(is_no_space(r.error()));
  // Nothing of the failed batch is visible.
  CHECK(observe(*s) == before);
  REQUIRE(s->failure().has_value());
  env.clear_faults();
  CHECK(s->persist(nullptr, entries(3, {1}), std::nullopt, true).code() == raft::ErrorCode::Io);
  CHECK(s->persist(nullptr, {}, hard_state(2, 0, 1), true).code() == raft::ErrorCode::Io);
  CHECK(s->create_snapshot(1, {}, "x").code() == raft::ErrorCode::Io);
  CHECK(observe(*s) == before);
  // After a restart the partial batch is a torn tail, and the reported state is all there.
  s.reset();
  auto r2 = open_ok("/n", opts);
  CHECK(observe(*r2) == before);
  CHECK(r2->recovery_warnings().size() == 1);
}

TEST_CASE("a failed fsync fails the storage and the unsynced batch is not reported",
          "[disk_storage]") {
  FaultEnv env;
  Options opts = mem_options(&env);
  auto s = open_ok("/n", opts);
  REQUIRE(s->persist(nullptr, entries(1, {1}), hard_state(1, 1, 1), true).ok());
  const Observed before = observe(*s);
  env.set_fail_syncs(true);
  CHECK(s->persist(nullptr, entries(2, {1}), std::nullopt, true).code() == raft::ErrorCode::Io);
  CHECK(observe(*s) == before);
  s.reset();
  env.power_cut();
  env.clear_faults();
  CHECK(observe(*open_ok("/n", opts)) == before);
}

TEST_CASE("persist with must_sync false writes without syncing and a later sync covers it",
          "[disk_storage]") {
  FaultEnv env;
  Options opts = mem_options(&env);
  auto s = open_ok("/n", opts);
  REQUIRE(s->persist(nullptr, entries(1, {1}), hard_state(1, 1, 0), true).ok());
  const uint64_t syncs = env.sync_count();
  REQUIRE(s->persist(nullptr, {}, hard_state(1, 1, 1), false).ok());
  CHECK(env.sync_count() == syncs);
  REQUIRE(s->persist(nullptr, {}, std::nullopt, true).ok());  // nothing new, but a sync is owed
  CHECK(env.sync_count() == syncs + 1);
  const Observed after = observe(*s);
  s.reset();
  env.power_cut();
  CHECK(observe(*open_ok("/n", opts)) == after);
}

TEST_CASE("one persist call is one write and at most one fsync", "[disk_storage]") {
  FaultEnv env;
  Options opts = mem_options(&env);
  auto s = open_ok("/n", opts);
  REQUIRE(s->persist(nullptr, entries(1, {1}), std::nullopt, true).ok());
  const uint64_t syncs = env.sync_count();
  std::vector<raft::Entry> batch;
  for (raft::Index i = 2; i < 258; ++i) batch.push_back(storage_test::entry(i, 1, std::string(100, 'x')));
  REQUIRE(s->persist(nullptr, batch, hard_state(1, 1, 200), true).ok());
  CHECK(env.sync_count() == syncs + 1);
}

TEST_CASE("persist panics on entries that leave a gap", "[disk_storage]") {
  auto old = raft::set_panic_handler(raft::throwing_panic_handler);
  FaultEnv env;
  auto s = open_ok("/n", mem_options(&env));
  REQUIRE(s->persist(nullptr, entries(1, {1}), std::nullopt, true).ok());
  CHECK_THROWS_AS((void)s->persist(nullptr, entries(3, {1}), std::nullopt, true), raft::PanicError);
  raft::set_panic_handler(old);
}

TEST_CASE("a torn tail in a real segment file is cut off on open", "[disk_storage]") {
  storage_test::TempDir tmp;
  Observed prefix;
  std::string seg;
  {
    auto s = open_ok(tmp.path(), Options{});
    REQUIRE(s->persist(nullptr, entries(1, {1, 1}), hard_state(1, 1, 1), true).ok());
    prefix = observe(*s);
    REQUIRE(s->persist(nullptr, entries(3, {1, 1}), hard_state(1, 1, 3), true).ok());
  }
  for (const auto& e : std::filesystem::directory_iterator(tmp.path() + "/wal")) seg = e.path();
  const auto full = std::filesystem::file_size(seg);
  std::filesystem::resize_file(seg, full - 4);
  {
    auto s = open_ok(tmp.path(), Options{});
    CHECK(observe(*s) == prefix);
    REQUIRE(s->recovery_warnings().size() == 1);
    CHECK(s->recovery_warnings()[0].find(seg + ": offset ") == 0);
  }
  CHECK(std::filesystem::file_size(seg) < full - 4);
  CHECK(open_ok(tmp.path(), Options{})->recovery_warnings().empty());
}

TEST_CASE("memory for entries stays within cache_bytes however long the log", "[disk_storage]") {
  FaultEnv env;
  Options opts = mem_options(&env);
  opts.cache_bytes = 4096;
  auto s = open_ok("/n", opts);
  for (raft::Index i = 1; i <= 2000; i += 10) {
    std::vector<raft::Entry> batch;
    for (raft::Index k = i; k < i + 10; ++k) batch.push_back(storage_test::entry(k, 1, std::string(100, 'v')));
    REQUIRE(s->persist(nullptr, batch, std::nullopt, false).ok());
    CHECK(s->cached_entries() * (100 + sizeof(raft::Entry)) <= opts.cache_bytes);
  }
  CHECK(s->cached_entries() > 0);
  auto e = s->entries(1, 2001, raft::kNoLimit);
  REQUIRE(e.ok());
  REQUIRE(e->size() == 2000);
  CHECK((*e)[0].data == std::string(100, 'v'));
  CHECK((*e)[1999].index == 2000);
}

TEST_CASE("the snapshot descriptor names the file by size and hash without reading it whole",
          "[disk_storage][snapshot_transfer]") {
  FaultEnv env;
  Options opts = mem_options(&env);
  opts.keep_entries_after_snapshot = 1;
  auto s = open_ok("/n", opts);
  auto snap = storage_test::snapshot(1, 1, {1, 2, 3}, "boot");
  REQUIRE(s->persist(&snap, entries(2, {1, 1, 1}), hard_state(1, 1, 4), true).ok());
  REQUIRE(s->create_snapshot(3, {{1, 2, 3}, {}, {}, {}, false}, std::string(100000, 'k')).ok());
  auto d = s->snapshot_descriptor(0);
  REQUIRE(d.ok());
  CHECK(d->metadata == s->snapshot_metadata());
  auto desc = decode_snapshot_descriptor(d->data);
  REQUIRE(desc);
  CHECK(desc->index == 3);
  const std::string path = s->snapshot_path(3);
  CHECK(desc->file_size == env.contents(path).size());
  CHECK(desc->file_hash == hash_file(env, path)->first);
  CHECK_FALSE(decode_snapshot_descriptor("RKV1 not a descriptor"));
  CHECK(s->snapshot_descriptor(4).code() == raft::ErrorCode::SnapshotTemporarilyUnavailable);

  // The file streams back chunk by chunk with its metadata.
  auto reader = SnapshotFileReader::open(env, path);
  REQUIRE(reader.ok());
  CHECK((*reader)->metadata().index == 3);
  std::string data, chunk;
  while ((*reader)->next(&chunk)) data += chunk;
  CHECK_FALSE((*reader)->error());
  CHECK(data == std::string(100000, 'k'));
  // A damaged byte is found by the streaming reader too.
  std::string bytes = env.contents(path);
  bytes[bytes.size() - 10] ^= 1;
  env.set_contents("/n/snap/other", bytes);
  CHECK_FALSE(verify_snapshot_file(env, "/n/snap/other").ok());
}

TEST_CASE("a pinned snapshot file survives compaction until unpinned", "[disk_storage][snapshot_transfer]") {
  FaultEnv env;
  Options opts = mem_options(&env);
  opts.keep_entries_after_snapshot = 1;
  auto s = open_ok("/n", opts);
  auto snap = storage_test::snapshot(1, 1, {1, 2, 3}, "boot");
  REQUIRE(s->persist(&snap, entries(2, {1, 1, 1, 1}), hard_state(1, 1, 5), true).ok());
  REQUIRE(s->create_snapshot(3, {{1, 2, 3}, {}, {}, {}, false}, "three").ok());
  s->pin_snapshot(3);
  REQUIRE(s->create_snapshot(4, {{1, 2, 3}, {}, {}, {}, false}, "four").ok());
  CHECK(env.exists(s->snapshot_path(3)));  // a transfer is reading it
  s->unpin_snapshot(3);
  CHECK_FALSE(env.exists(s->snapshot_path(3)));
  CHECK(env.exists(s->snapshot_path(4)));
  s->pin_snapshot(4);
  s->unpin_snapshot(4);  // still the one in force: kept
  CHECK(env.exists(s->snapshot_path(4)));
}

TEST_CASE("a received snapshot file is adopted by its descriptor, not rewritten, and survives reopen",
          "[disk_storage][snapshot_transfer]") {
  FaultEnv env;
  Options opts = mem_options(&env);
  {
    auto leader = open_ok("/leader", opts);
    auto boot = storage_test::snapshot(1, 1, {1, 2, 3}, "boot");
    REQUIRE(leader->persist(&boot, entries(2, {1, 2, 2}), hard_state(2, 1, 4), true).ok());
    REQUIRE(leader->create_snapshot(4, {{1, 2, 3}, {}, {}, {}, false}, std::string(50000, 'v')).ok());
  }
  auto leader = open_ok("/leader", opts);
  auto desc = leader->snapshot_descriptor(0);
  REQUIRE(desc.ok());
  auto follower = open_ok("/follower", opts);
  // What the chunk receiver does: the file lands in snap/ (a part file is left alone).
  env.set_contents("/follower/snap/" + snapshot_name(4) + ".0123456789abcdef.part", "half");
  env.set_contents(follower->snapshot_path(4), env.contents(leader->snapshot_path(4)));
  const uint64_t syncs = env.sync_count();
  REQUIRE(follower->persist(&*desc, {}, hard_state(2, 1, 4), true).ok());
  CHECK(env.sync_count() - syncs <= 2);  // the stream's batch, not a snapshot file rewrite
  CHECK(follower->snapshot_metadata() == desc->metadata);
  CHECK(follower->snapshot(0)->data == std::string(50000, 'v'));
  CHECK(*follower->first_index() == 5);
  follower.reset();
  auto reopened = open_ok("/follower", opts);
  CHECK(reopened->snapshot_metadata() == desc->metadata);
  CHECK(reopened->recovery_warnings().empty());
  CHECK(env.exists("/follower/snap/" + snapshot_name(4) + ".0123456789abcdef.part"));

  // A descriptor whose file is missing or of another size is refused.
  auto other = open_ok("/other", opts);
  CHECK(other->persist(&*desc, {}, hard_state(2, 1, 4), true).code() == raft::ErrorCode::Io);
  env.set_contents(other->snapshot_path(4), "short");
  CHECK(other->persist(&*desc, {}, hard_state(2, 1, 4), true).code() == raft::ErrorCode::Io);
}
