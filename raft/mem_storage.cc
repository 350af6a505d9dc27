#include "raft/mem_storage.h"

#include "raft/check.h"

namespace raft {

void limit_size(std::vector<Entry>& entries, uint64_t max_size) {
  if (entries.empty() || max_size == kNoLimit) return;
  uint64_t size = entries[0].payload_size();
  size_t keep = 1;
  while (keep < entries.size()) {
    size += entries[keep].payload_size();
    if (size > max_size) break;
    ++keep;
  }
  entries.resize(keep);
}

MemStorage::MemStorage() { ents_.push_back(Entry{}); }

MemStorage MemStorage::new_with_conf_state(const ConfState& cs) {
  MemStorage s;
  s.set_conf_state(cs);
  return s;
}

Result<RaftState> MemStorage::initial_state() const {
  return RaftState{hard_state_, conf_state_};
}

Result<std::vector<Entry>> MemStorage::entries(Index lo, Index hi, uint64_t max_size) const {
  if (lo <= offset()) {
    return make_error(ErrorCode::Compacted, format("entries from %lu, first kept is %lu",
                                                   lo, offset() + 1));
  }
  if (hi > ents_.back().index + 1) {
    return make_error(ErrorCode::Unavailable,
                      format("entries up to %lu, last is %lu", hi - 1, ents_.back().index));
  }
  RAFT_CHECK(lo <= hi, "invalid range [%lu, %lu)", lo, hi);
  std::vector<Entry> out(ents_.begin() + static_cast<std::ptrdiff_t>(lo - offset()),
                         ents_.begin() + static_cast<std::ptrdiff_t>(hi - offset()));
  limit_size(out, max_size);
  return out;
}

Result<Term> MemStorage::term(Index idx) const {
  if (idx < offset()) return make_error(ErrorCode::Compacted);
  if (idx - offset() >= ents_.size()) return make_error(ErrorCode::Unavailable);
  return ents_[idx - offset()].term;
}

Result<Index> MemStorage::first_index() const { return offset() + 1; }

Result<Index> MemStorage::last_index() const { return ents_.back().index; }

Result<Snapshot> MemStorage::snapshot(Index request_index) const {
  Snapshot snap = snapshot_;
  // A snapshot older than what the caller asked for is useless; let the caller retry.
  if (snap.metadata.index < request_index) {
    return make_error(ErrorCode::SnapshotTemporarilyUnavailable);
  }
  return snap;
}

void MemStorage::append(const std::vector<Entry>& entries) {
  if (entries.empty()) return;
  const Index first = entries.front().index;
  RAFT_CHECK(first > offset(), "append at %lu overwrites compacted entries (first kept %lu)",
             first, offset() + 1);
  RAFT_CHECK(first <= ents_.back().index + 1, "append at %lu leaves a gap after %lu", first,
             ents_.back().index);
  ents_.resize(first - offset());  // drop the conflicting suffix, if any
  ents_.insert(ents_.end(), entries.begin(), entries.end());
}

Result<void> MemStorage::apply_snapshot(const Snapshot& snapshot) {
  const Index index = snapshot.metadata.index;
  if (index < snapshot_.metadata.index) {
    return make_error(ErrorCode::SnapshotOutOfDate,
                      format("snapshot at %lu is older than %lu", index,
                             snapshot_.metadata.index));
  }
  snapshot_ = snapshot;
  conf_state_ = snapshot.metadata.conf_state;
  if (hard_state_.term < snapshot.metadata.term) hard_state_.term = snapshot.metadata.term;
  if (hard_state_.commit < index) hard_state_.commit = index;
  ents_.clear();
  ents_.push_back(Entry{EntryType::Normal, snapshot.metadata.term, index, {}, {}});
  return {};
}

Result<Snapshot> MemStorage::create_snapshot(Index index, const ConfState* cs, std::string data) {
  if (index <= snapshot_.metadata.index) {
    return make_error(ErrorCode::SnapshotOutOfDate);
  }
  RAFT_CHECK(index <= ents_.back().index, "snapshot at %lu is past the last index %lu", index,
             ents_.back().index);
  snapshot_.metadata.index = index;
  snapshot_.metadata.term = ents_[index - offset()].term;
  if (cs) {
    // A node restarted from this snapshot starts from its membership and re-applies the
    // conf changes after it, so initial_state() must report the snapshot's membership.
    snapshot_.metadata.conf_state = *cs;
    conf_state_ = *cs;
  }
  snapshot_.data = std::move(data);
  return snapshot_;
}

Result<void> MemStorage::compact(Index compact_index) {
  if (compact_index <= offset()) return make_error(ErrorCode::Compacted);
  RAFT_CHECK(compact_index <= ents_.back().index + 1,
             "compact at %lu is past the last index %lu", compact_index, ents_.back().index);
  // Keep compact_index - 1 as the new dummy entry: its term answers term(first - 1).
  const auto drop = static_cast<std::ptrdiff_t>(compact_index - 1 - offset());
  ents_.erase(ents_.begin(), ents_.begin() + drop);
  ents_.front().data.clear();
  ents_.front().context.clear();
  return {};
}

}  // namespace raft
