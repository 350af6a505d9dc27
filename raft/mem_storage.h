// MemStorage: Storage held entirely in memory, for tests, the simulation and examples.
//
// Layout: ents_[0] is a dummy entry holding the index and term of the last compacted entry
// (the snapshot's), so term(first_index() - 1) is always answerable.
// Invariant: ents_ is non-empty and ents_[i].index == ents_[0].index + i.
#pragma once

#include <vector>

#include "raft/storage.h"

namespace raft {

class MemStorage final : public Storage {
 public:
  MemStorage();
  // A storage whose initial membership is `voters` (used to bootstrap a new cluster).
  static MemStorage new_with_conf_state(const ConfState& cs);

  Result<RaftState> initial_state() const override;
  Result<std::vector<Entry>> entries(Index lo, Index hi, uint64_t max_size) const override;
  Result<Term> term(Index idx) const override;
  Result<Index> first_index() const override;
  Result<Index> last_index() const override;
  Result<Snapshot> snapshot(Index request_index) const override;

  // --- The write side, used by the application while handling a Ready. ---

  void set_hard_state(const HardState& hs) { hard_state_ = hs; }
  const HardState& hard_state() const { return hard_state_; }
  void set_conf_state(const ConfState& cs) { snapshot_.metadata.conf_state = cs; conf_state_ = cs; }
  const ConfState& conf_state() const { return conf_state_; }
  void set_commit(Index commit) { hard_state_.commit = commit; }

  // Appends entries, replacing any existing suffix that starts at entries.front().index.
  // Panics if the new entries leave a gap after last_index() or overlap compacted entries.
  void append(const std::vector<Entry>& entries);

  // Replaces the whole log with the snapshot. SnapshotOutOfDate if it is older than the
  // current snapshot.
  Result<void> apply_snapshot(const Snapshot& snapshot);

  // Records a snapshot of the application state at `index` (which must be applied, i.e.
  // <= the caller's applied index and <= last_index()), with the given membership, which
  // initial_state() reports from then on. Does not discard entries: compact() does that.
  Result<Snapshot> create_snapshot(Index index, const ConfState* cs, std::string data);

  // Discards entries before compact_index (exclusive), keeping compact_index itself.
  // Compacted if already compacted past it; panics if compact_index > last_index() + 1.
  Result<void> compact(Index compact_index);

 private:
  Index offset() const { return ents_.front().index; }

  HardState hard_state_;
  ConfState conf_state_;
  Snapshot snapshot_;        // metadata of the latest snapshot (and its data)
  std::vector<Entry> ents_;  // see the invariant in the file comment
};

}  // namespace raft
