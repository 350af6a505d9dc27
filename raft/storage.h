// The read side of a node's stable storage, as the core sees it.
//
// The application owns the storage and writes to it while handling a Ready (entries, hard
// state, snapshot); the core only reads through this interface. Implementations:
// MemStorage (tests, examples) and the durable storage in storage/.
//
// Index conventions: entries (first_index() .. last_index()] are readable, and
// term(first_index() - 1) is the term of the last compacted entry (the snapshot's), so that
// the log matching check works at the boundary. An empty storage has first_index() == 1 and
// last_index() == 0.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "raft/error.h"
#include "raft/types.h"

namespace raft {

struct RaftState {
  HardState hard_state;
  ConfState conf_state;
};

// Means "no byte limit" for Storage::entries and the size-capped helpers.
inline constexpr uint64_t kNoLimit = UINT64_MAX;

class Storage {
 public:
  virtual ~Storage() = default;

  // The hard state and membership to start from (after a restart, what was persisted).
  virtual Result<RaftState> initial_state() const = 0;

  // Entries in [lo, hi). Returns at least one entry when lo < hi, then stops before the
  // total payload would exceed max_size. Errors: Compacted if lo < first_index(),
  // Unavailable if hi > last_index() + 1.
  virtual Result<std::vector<Entry>> entries(Index lo, Index hi, uint64_t max_size) const = 0;

  // Term of the entry at idx, for first_index() - 1 <= idx <= last_index().
  // Errors: Compacted below that range, Unavailable above it.
  virtual Result<Term> term(Index idx) const = 0;

  virtual Result<Index> first_index() const = 0;
  virtual Result<Index> last_index() const = 0;

  // The most recent snapshot. `request_index` is the index the caller needs the snapshot
  // to cover at least; SnapshotTemporarilyUnavailable tells the caller to retry later.
  virtual Result<Snapshot> snapshot(Index request_index) const = 0;
};

// Truncates `entries` so that their total payload does not exceed max_size, but always keeps
// at least one entry (so replication can always make progress).
void limit_size(std::vector<Entry>& entries, uint64_t max_size);

}  // namespace raft
