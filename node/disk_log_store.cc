#include "node/log_store.h"
#include "storage/disk_storage.h"
#include "storage/snapshot_stream.h"

namespace node {
namespace {

// What the Raft core sees of the disk: the same storage, except that a snapshot is handed
// out as a descriptor of its file (snapshot_stream.h) rather than read whole into memory.
// The node streams the file to the follower in chunks (docs/snapshots.md).
class DescriptorStorage final : public raft::Storage {
 public:
  explicit DescriptorStorage(storage::DiskStorage& disk) : disk_(disk) {}
  raft::Result<raft::RaftState> initial_state() const override { return disk_.initial_state(); }
  raft::Result<std::vector<raft::Entry>> entries(raft::Index lo, raft::Index hi, uint64_t max_size) const override {
    return disk_.entries(lo, hi, max_size);
  }
  raft::Result<raft::Term> term(raft::Index idx) const override { return disk_.term(idx); }
  raft::Result<raft::Index> first_index() const override { return disk_.first_index(); }
  raft::Result<raft::Index> last_index() const override { return disk_.last_index(); }
  raft::Result<raft::Snapshot> snapshot(raft::Index request_index) const override {
    return disk_.snapshot_descriptor(request_index);
  }

 private:
  storage::DiskStorage& disk_;
};

class DiskLogStore final : public LogStore {
 public:
  explicit DiskLogStore(std::unique_ptr<storage::DiskStorage> disk) : disk_(std::move(disk)), core_view_(*disk_) {}
  raft::Storage& storage() override { return core_view_; }
  bool empty() const override { return disk_->empty(); }
  raft::Result<void> persist(const raft::Snapshot* snapshot, const std::vector<raft::Entry>& entries,
                             const std::optional<raft::HardState>& hard_state, bool must_sync) override {
    auto r = disk_->persist(snapshot, entries, hard_state, must_sync);
    if (r.ok()) count_persisted(entries);
    return r;
  }
  raft::Result<void> create_snapshot(raft::Index index, const raft::ConfState& cs, std::string data) override {
    return disk_->create_snapshot(index, cs, std::move(data));
  }
  raft::Result<SnapshotData> snapshot_data(const raft::Snapshot& snap) override {
    if (!storage::decode_snapshot_descriptor(snap.data)) return LogStore::snapshot_data(snap);
    const std::string path = disk_->snapshot_path(snap.metadata.index);
    auto size = disk_->env().file_size(path);
    if (!size.ok()) return size.error();
    auto opened = storage::SnapshotFileReader::open(disk_->env(), path);
    if (!opened.ok()) return opened.error();
    std::shared_ptr<storage::SnapshotFileReader> reader = std::move(*opened);
    return SnapshotData{[reader](std::string* piece, std::string* error) {
                          if (reader->next(piece)) return true;
                          if (reader->error()) *error = reader->error()->to_string();
                          return false;
                        },
                        *size};
  }
  std::string snap_dir() const override { return disk_->snap_dir(); }
  std::string snapshot_path(raft::Index index) const override { return disk_->snapshot_path(index); }
  void pin_snapshot(raft::Index index) override { disk_->pin_snapshot(index); }
  void unpin_snapshot(raft::Index index) override { disk_->unpin_snapshot(index); }
  std::string snapshot_tmp_path(raft::Index index) const override { return disk_->snapshot_tmp_path(index); }
  raft::Result<void> record_snapshot(const raft::SnapshotMetadata& metadata) override {
    return disk_->record_snapshot(metadata);
  }
  std::vector<std::string> recovery_warnings() const override { return disk_->recovery_warnings(); }
  bool is_no_space(const raft::Error& e) const override { return storage::is_no_space(e); }

 private:
  std::unique_ptr<storage::DiskStorage> disk_;
  DescriptorStorage core_view_;
};

}  // namespace

raft::Result<std::unique_ptr<LogStore>> open_disk_log_store(const std::string& node_dir, const LogStoreOptions& opts) {
  storage::Options so;
  so.fsync = opts.fsync;
  so.keep_entries_after_snapshot = opts.keep_entries_after_snapshot;
  so.env = opts.env;
  auto disk = storage::DiskStorage::open(node_dir, so);
  if (!disk.ok()) return disk.error();
  return std::unique_ptr<LogStore>(std::make_unique<DiskLogStore>(std::move(disk.value())));
}

}  // namespace node
