// Snapshots written by a forked child (node/snapshot_taker.h) and recorded by the storage
// (DiskStorage::record_snapshot): the file is in the snapshot format the storage reads back,
// a failed or killed child leaves no file, and a snapshot overtaken by a newer one is dropped.
#include <catch2/catch.hpp>

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "node/snapshot_taker.h"
#include "storage/disk_storage.h"
#include "storage/env.h"
#include "storage/snapshot_file.h"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "snapshot-taker-XXXXXX").string();
    REQUIRE(mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

node::KvStateMachine make_kv(int keys, size_t value_bytes) {
  node::KvStateMachine kv;
  for (int i = 0; i < keys; ++i) {
    node::KvCommand c{node::KvOp::Put, 9, static_cast<uint64_t>(i + 1), "key" + std::to_string(i),
                      std::string(value_bytes, static_cast<char>('a' + i % 26)), "", false};
    kv.apply(c);
  }
  return kv;
}

raft::Entry entry(raft::Index index, raft::Term term) {
  raft::Entry e;
  e.index = index;
  e.term = term;
  e.data = "entry" + std::to_string(index);
  return e;
}

std::unique_ptr<storage::DiskStorage> open_storage(const fs::path& dir, uint64_t keep) {
  storage::Options o;
  o.fsync = false;
  o.keep_entries_after_snapshot = keep;
  auto s = storage::DiskStorage::open(dir.string(), o);
  REQUIRE(s.ok());
  return std::move(s.value());
}

// A storage with entries 1..n in term 1.
std::unique_ptr<storage::DiskStorage> storage_with_entries(const fs::path& dir, raft::Index n, uint64_t keep) {
  auto s = open_storage(dir, keep);
  std::vector<raft::Entry> ents;
  for (raft::Index i = 1; i <= n; ++i) ents.push_back(entry(i, 1));
  raft::HardState hs;
  hs.term = 1;
  hs.commit = n;
  REQUIRE(s->persist(nullptr, ents, hs, true).ok());
  return s;
}

node::SnapshotTaker::Finished wait_for_child(node::SnapshotTaker& t) {
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (auto f = t.poll()) return *f;
    std::this_thread::sleep_for(2ms);  // polling a child process: there is no event to wait on
  }
  FAIL("the snapshot child did not end within 30 s");
  return {};
}

raft::SnapshotMetadata meta(raft::Index index, raft::Term term) {
  raft::SnapshotMetadata m;
  m.index = index;
  m.term = term;
  m.conf_state.voters = {1, 2, 3};
  return m;
}

}  // namespace

TEST_CASE("a streamed snapshot file reads back as the state's snapshot", "[snapshot_taker]") {
  TempDir dir;
  // Several data chunks: 3000 values of 1 KiB is about 3 MiB.
  const auto kv = make_kv(3000, 1024);
  const std::string path = (dir.path / storage::snapshot_name(42)).string();
  REQUIRE(node::write_kv_snapshot_file(kv, meta(42, 3), path, true) == 0);
  auto read = storage::read_snapshot_file(*storage::default_env(), path);
  REQUIRE(read.ok());
  CHECK(read->metadata == meta(42, 3));
  CHECK(read->data == kv.snapshot());
  // An empty state too (one empty data record).
  const std::string empty_path = (dir.path / storage::snapshot_name(7)).string();
  REQUIRE(node::write_kv_snapshot_file(node::KvStateMachine(), meta(7, 1), empty_path, false) == 0);
  auto empty = storage::read_snapshot_file(*storage::default_env(), empty_path);
  REQUIRE(empty.ok());
  CHECK(empty->data == node::KvStateMachine().snapshot());
}

TEST_CASE("a child writes the snapshot while the parent goes on, and the storage records it", "[snapshot_taker]") {
  TempDir dir;
  auto kv = make_kv(2000, 512);
  {
    auto s = storage_with_entries(dir.path, 100, 10);
    node::SnapshotTaker taker;
    REQUIRE(taker.start(kv, meta(80, 1), s->snapshot_tmp_path(80), false).empty());
    CHECK(taker.running());
    CHECK_FALSE(taker.start(kv, meta(81, 1), s->snapshot_tmp_path(81), false).empty());  // one at a time
    const std::string at_fork = kv.snapshot();
    // The parent's state moves on: the child wrote the state as it was at the fork.
    kv.apply({node::KvOp::Put, 9, 100000, "later", "x", "", false});
    const auto done = wait_for_child(taker);
    CHECK_FALSE(taker.running());
    REQUIRE(done.status == 0);
    REQUIRE(s->record_snapshot(done.metadata).ok());
    CHECK(s->snapshot_metadata() == meta(80, 1));
    CHECK(*s->first_index() == 71);  // keep_entries_after_snapshot = 10 up to index 80
    auto snap = s->snapshot(0);
    REQUIRE(snap.ok());
    CHECK(snap->data == at_fork);
    CHECK_FALSE(fs::exists(done.tmp_path));
  }
  // And it survives a reopen.
  auto s = open_storage(dir.path, 10);
  CHECK(s->snapshot_metadata() == meta(80, 1));
  CHECK(*s->last_index() == 100);
}

TEST_CASE("a snapshot overtaken by a newer one is dropped with its file", "[snapshot_taker]") {
  TempDir dir;
  const auto kv = make_kv(10, 10);
  auto s = storage_with_entries(dir.path, 50, 5);
  REQUIRE(s->create_snapshot(40, meta(40, 1).conf_state, kv.snapshot()).ok());
  const std::string tmp = s->snapshot_tmp_path(30);
  const std::string renamed = (dir.path / "snap" / storage::snapshot_name(30)).string();
  REQUIRE(node::write_kv_snapshot_file(kv, meta(30, 1), tmp, false, 0, renamed) == 0);
  CHECK_FALSE(fs::exists(tmp));
  CHECK(fs::exists(renamed));
  auto r = s->record_snapshot(meta(30, 1));
  REQUIRE_FALSE(r.ok());
  CHECK(r.code() == raft::ErrorCode::SnapshotOutOfDate);
  CHECK_FALSE(fs::exists(renamed));
  CHECK(s->snapshot_metadata().index == 40);
}

TEST_CASE("a failed or killed child leaves no file and allows the next one", "[snapshot_taker]") {
  TempDir dir;
  const auto kv = make_kv(1000, 1024);
  node::SnapshotTaker taker;
  // A folder that does not exist: the child fails with ENOENT.
  REQUIRE(taker.start(kv, meta(5, 1), (dir.path / "missing" / "x.tmp").string(), false).empty());
  auto failed = wait_for_child(taker);
  CHECK(failed.status == ENOENT);

  // Killed: whether or not it had finished, its temporary file is gone afterwards.
  const std::string tmp = (dir.path / "00000000000000000006.snap.tmp").string();
  REQUIRE(taker.start(kv, meta(6, 1), tmp, true).empty());
  const pid_t pid = taker.pid();
  taker.abort();
  CHECK_FALSE(taker.running());
  CHECK_FALSE(fs::exists(tmp));
  CHECK(kill(pid, 0) != 0);  // reaped, not a zombie

  // Killed from outside (as an operator or the OOM killer would): reported as a signal.
  REQUIRE(taker.start(make_kv(20000, 4096), meta(7, 1), tmp, true).empty());
  REQUIRE(kill(taker.pid(), SIGKILL) == 0);
  auto killed = wait_for_child(taker);
  CHECK((killed.status == -SIGKILL || killed.status == 0));  // it may have finished first
  if (killed.status != 0) CHECK_FALSE(fs::exists(tmp));
}
