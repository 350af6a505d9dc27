#include "node/log_store.h"
#include "raft/mem_storage.h"

namespace node {
namespace {

class MemLogStore final : public LogStore {
 public:
  explicit MemLogStore(const LogStoreOptions& opts) : opts_(opts) {}
  raft::Storage& storage() override { return mem_; }
  bool empty() const override {
    auto last = mem_.last_index();
    return mem_.hard_state().empty() && last.ok() && *last == 0;
  }
  raft::Result<void> persist(const raft::Snapshot* snapshot, const std::vector<raft::Entry>& entries,
                             const std::optional<raft::HardState>& hard_state, bool) override {
    if (snapshot && !snapshot->empty()) {
      auto r = mem_.apply_snapshot(*snapshot);
      if (!r.ok()) return r;
    }
    if (!entries.empty()) mem_.append(entries);
    count_persisted(entries);
    if (hard_state) mem_.set_hard_state(*hard_state);
    return {};
  }
  raft::Result<void> create_snapshot(raft::Index index, const raft::ConfState& cs, std::string data) override {
    auto snap = mem_.create_snapshot(index, &cs, std::move(data));
    if (!snap.ok()) return snap.error();
    if (index > opts_.keep_entries_after_snapshot) {
      auto first = mem_.first_index();
      const raft::Index compact_to = index - opts_.keep_entries_after_snapshot;
      if (first.ok() && compact_to > *first) {
        auto r = mem_.compact(compact_to);
        if (!r.ok()) return r;
      }
    }
    return {};
  }

 private:
  LogStoreOptions opts_;
  raft::MemStorage mem_;
};

}  // namespace

std::unique_ptr<LogStore> make_mem_log_store(const LogStoreOptions& opts) {
  return std::make_unique<MemLogStore>(opts);
}

}  // namespace node
