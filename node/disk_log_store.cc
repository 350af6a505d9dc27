#include "node/log_store.h"
#include "storage/disk_storage.h"

namespace node {
namespace {

class DiskLogStore final : public LogStore {
 public:
  explicit DiskLogStore(std::unique_ptr<storage::DiskStorage> disk) : disk_(std::move(disk)) {}
  raft::Storage& storage() override { return *disk_; }
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
  std::string snapshot_tmp_path(raft::Index index) const override { return disk_->snapshot_tmp_path(index); }
  raft::Result<void> record_snapshot(const raft::SnapshotMetadata& metadata) override {
    return disk_->record_snapshot(metadata);
  }
  std::vector<std::string> recovery_warnings() const override { return disk_->recovery_warnings(); }
  bool is_no_space(const raft::Error& e) const override { return storage::is_no_space(e); }

 private:
  std::unique_ptr<storage::DiskStorage> disk_;
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
