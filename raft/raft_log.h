// RaftLog: the node's log as the protocol sees it — stable entries in Storage followed by
// unstable ones not yet persisted — plus the commit, persistence and application cursors.
//
//   storage: [first_index .......... stable_last]
//   unstable:                          [offset ......... last_index]
//   cursors:  applied <= applying <= committed;  persisted <= last_index
//
// Invariant: applied <= applying <= committed (an entry is applied only once committed).
// Invariant: committed <= last_index (a node cannot commit what it does not have).
// Invariant: persisted < unstable.offset or persisted is a stable entry (see maybe_persist).
#pragma once

#include <optional>
#include <vector>

#include "raft/log_unstable.h"
#include "raft/storage.h"

namespace raft {

class RaftLog {
 public:
  // Panics if storage cannot report its first and last index.
  explicit RaftLog(const Storage& storage, uint64_t max_apply_size = kNoLimit);

  Index first_index() const;
  Index last_index() const;
  // Term of the entry at idx; 0 when idx is outside [first_index - 1, last_index].
  // Compacted if the storage has compacted past it since.
  Result<Term> term(Index idx) const;
  Term last_term() const;
  bool match_term(Index idx, Term term) const;

  // Raft §5.3: appends `ents` after (idx, log_term) if the logs match there, replacing any
  // conflicting suffix, and advances commit to min(committed, last new index). Returns the
  // index of the last new entry, or nullopt when the logs do not match at idx.
  // Panics if the conflict would overwrite a committed entry (Log Matching violated).
  std::optional<Index> maybe_append(Index idx, Term log_term, Index committed,
                                    const std::vector<Entry>& ents);
  // Appends entries (replacing a conflicting suffix); returns the new last index.
  // Panics if that would truncate committed entries.
  Index append(const std::vector<Entry>& ents);
  // Index of the first entry of ents whose term conflicts with the log, or 0 if none.
  Index find_conflict(const std::vector<Entry>& ents) const;
  // The largest index <= index whose term is <= term, with its term: where a follower's log
  // may match the leader's (fast backtracking of rejected appends).
  std::pair<Index, Term> find_conflict_by_term(Index index, Term term) const;

  // Raft §5.4.1: whether a log ending at (last_index, term) is at least as up to date.
  bool is_up_to_date(Index last_index, Term term) const;

  // Advances commit to max_index if that entry is of `term` (Raft §5.4.2: a leader only
  // commits entries of its own term by counting replicas).
  bool maybe_commit(Index max_index, Term term);
  // Panics if to_commit > last_index (the log would be missing committed entries).
  void commit_to(Index to_commit);
  void applied_to(Index idx);
  void applying_to(Index idx);

  // Entries [lo, hi) capped at max_size bytes (at least one entry).
  Result<std::vector<Entry>> slice(Index lo, Index hi, uint64_t max_size) const;
  Result<std::vector<Entry>> entries(Index idx, uint64_t max_size) const;
  std::vector<Entry> all_entries() const;  // for tests

  // Committed, persisted entries not yet handed to the application.
  bool has_next_committed_entries() const;
  std::vector<Entry> next_committed_entries() const;
  // Unstable entries (not yet reported persisted).
  const std::vector<Entry>& unstable_entries() const { return unstable_.entries; }
  bool has_pending_snapshot() const { return unstable_.snapshot.has_value(); }
  const std::optional<Snapshot>& pending_snapshot() const { return unstable_.snapshot; }
  // For Ready: the unstable entries and snapshot not handed out yet, then accept_unstable()
  // marks them handed out (in progress until stable_entries / stable_snap).
  bool has_next_unstable_entries() const { return unstable_.has_next_entries(); }
  std::vector<Entry> next_unstable_entries() const { return unstable_.next_entries(); }
  const Snapshot* next_unstable_snapshot() const { return unstable_.next_snapshot(); }
  void accept_unstable() { unstable_.accept_in_progress(); }

  Result<Snapshot> snapshot(Index request_index) const;
  void restore(const Snapshot& snapshot);

  // Called after the application persisted entries up to (idx, term) / a snapshot at idx.
  void stable_entries(Index idx, Term term);
  void stable_snap(Index idx);

  const Storage& store() const { return store_; }
  Index committed() const { return committed_; }
  Index applied() const { return applied_; }
  Index applying() const { return applying_; }
  Index persisted() const { return persisted_; }

 private:
  bool maybe_persist(Index idx, Term term);
  Result<void> must_check_outofbounds(Index lo, Index hi) const;

  const Storage& store_;
  Unstable unstable_;
  uint64_t max_apply_size_;
  // Invariant: the highest index known to be stored on a quorum.
  Index committed_ = 0;
  // Invariant: the highest index handed to the application (applied_ <= applying_).
  Index applying_ = 0;
  // Invariant: the highest index the application reported applied.
  Index applied_ = 0;
  // Invariant: the highest index known to be in stable storage with the term we expect.
  Index persisted_ = 0;
};

}  // namespace raft
