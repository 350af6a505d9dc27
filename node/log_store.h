// LogStore: the node's seam over its stable storage, so that the event loop is written once
// against "persist one Ready, take a snapshot" whatever keeps the bytes.
//
// DiskLogStore (the real one) wraps storage::DiskStorage under <node_dir>/{wal,snap}/.
// MemLogStore wraps raft::MemStorage and keeps nothing across restarts; it exists for tests
// of the loop that do not care about files. Contract shared by both: persist() is called
// once per Ready with everything that Ready asks to persist, and returns only when it is
// durable (fsynced when must_sync and the store was opened with fsync on); an error means
// nothing may be acknowledged any more, except an error for which is_no_space() holds: then
// nothing of the call was kept, the store is still usable and the same call may be retried
// (docs/disk_faults.md).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "raft/error.h"
#include "raft/storage.h"
#include "raft/types.h"

namespace storage {
class Env;
}

namespace node {

class LogStore {
 public:
  virtual ~LogStore() = default;
  virtual raft::Storage& storage() = 0;
  // True for a brand-new store: no hard state, no entries, no snapshot.
  virtual bool empty() const = 0;
  virtual raft::Result<void> persist(const raft::Snapshot* snapshot, const std::vector<raft::Entry>& entries,
                                     const std::optional<raft::HardState>& hard_state, bool must_sync) = 0;
  // Records a snapshot of the application state at applied index `index` and compacts the
  // log before it (keeping a tail for slow followers).
  virtual raft::Result<void> create_snapshot(raft::Index index, const raft::ConfState& cs, std::string data) = 0;
  // The application data of `snap`, a snapshot this store handed out or adopted, piece by
  // piece: its data as one piece, or, when it is a file descriptor (docs/snapshots.md), the
  // file's data chunks read one at a time with every checksum verified (`next` returns false
  // at the end, with *error set if the file turned out damaged). max_bytes bounds the total.
  struct SnapshotData {
    std::function<bool(std::string* piece, std::string* error)> next;
    uint64_t max_bytes = 0;
  };
  virtual raft::Result<SnapshotData> snapshot_data(const raft::Snapshot& snap) {
    auto given = std::make_shared<bool>(false);
    auto data = std::make_shared<std::string>(snap.data);
    return SnapshotData{[given, data](std::string* piece, std::string*) {
                          if (*given) return false;
                          *given = true;
                          *piece = std::move(*data);
                          return true;
                        },
                        snap.data.size()};
  }
  // Where snapshot files live ("" for a store without files: its snapshots travel whole).
  virtual std::string snap_dir() const { return ""; }
  virtual std::string snapshot_path(raft::Index) const { return ""; }
  // Keeps snapshot file `index` from being deleted by compaction while a transfer reads it.
  virtual void pin_snapshot(raft::Index) {}
  virtual void unpin_snapshot(raft::Index) {}
  // A snapshot written elsewhere (by a forked child, node/snapshot_taker.h) while the store
  // keeps serving: the writer puts a complete, synced snapshot file for metadata.index at
  // snapshot_tmp_path(index), and record_snapshot() makes it the snapshot in force and
  // compacts the log as create_snapshot() does. "" from snapshot_tmp_path: this store has no
  // files (take snapshots with create_snapshot).
  virtual std::string snapshot_tmp_path(raft::Index) const { return ""; }
  virtual raft::Result<void> record_snapshot(const raft::SnapshotMetadata& metadata) {
    return raft::make_error(raft::ErrorCode::Io,
                            "snapshot at " + std::to_string(metadata.index) + ": this store has no snapshot files");
  }
  // Bytes of entries persisted since the store was opened (the byte bound of the snapshot
  // policy, node/snapshot_policy.h).
  uint64_t entry_bytes_persisted() const { return entry_bytes_persisted_; }
  // Non-fatal problems found while opening (e.g. a torn tail that was truncated).
  virtual std::vector<std::string> recovery_warnings() const { return {}; }
  // True if `e` (from persist or create_snapshot) means the disk is full: retryable.
  virtual bool is_no_space(const raft::Error& e) const { return false; }

 protected:
  void count_persisted(const std::vector<raft::Entry>& entries) {
    for (const auto& e : entries) entry_bytes_persisted_ += e.data.size() + e.context.size() + kEntryOverheadBytes;
  }

 private:
  static constexpr uint64_t kEntryOverheadBytes = 24;  // index, term, type as encoded
  uint64_t entry_bytes_persisted_ = 0;
};

struct LogStoreOptions {
  bool fsync = true;
  uint64_t keep_entries_after_snapshot = 5000;
  // The file system under the disk store; nullptr: the real one. Not owned.
  storage::Env* env = nullptr;
};

std::unique_ptr<LogStore> make_mem_log_store(const LogStoreOptions& opts);
// Opens (creating if needed) the durable store in node_dir.
raft::Result<std::unique_ptr<LogStore>> open_disk_log_store(const std::string& node_dir, const LogStoreOptions& opts);

}  // namespace node
