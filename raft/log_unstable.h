// Unstable: the entries and snapshot the node holds in memory but has not yet been told are
// persisted. They are handed to the application in Ready and become stable (in Storage)
// once the application persists them and calls advance.
//
// Invariant: if snapshot is set, offset == snapshot.metadata.index + 1.
// Invariant: entries[i].index == offset + i.
#pragma once

#include <optional>
#include <vector>

#include "raft/types.h"

namespace raft {

class Unstable {
 public:
  explicit Unstable(Index offset) : offset(offset) {}

  // Index of the first entry this may know: just after the pending snapshot, if any.
  std::optional<Index> maybe_first_index() const;
  std::optional<Index> maybe_last_index() const;
  std::optional<Term> maybe_term(Index idx) const;

  // Drops entries up to (idx, term) once they are persisted, if they are still there.
  void stable_entries(Index idx, Term term);
  void stable_snap(Index idx);
  void restore(const Snapshot& snap);
  // Appends, truncating any conflicting suffix first.
  void truncate_and_append(const std::vector<Entry>& ents);
  // Entries in [lo, hi); panics outside [offset, offset + entries.size()].
  std::vector<Entry> slice(Index lo, Index hi) const;

  std::optional<Snapshot> snapshot;
  std::vector<Entry> entries;
  Index offset;
  // Bytes of data in `entries`, kept to size Ready batches cheaply.
  uint64_t entries_size = 0;

 private:
  void must_check_outofbounds(Index lo, Index hi) const;
};

}  // namespace raft
