// Unstable: the entries and snapshot the node holds in memory but has not yet been told are
// persisted. They are handed to the application in Ready and become stable (in Storage)
// once the application persists them and calls advance.
//
// Entries and the snapshot are handed out once (Ready): what was handed out and not yet
// persisted is "in progress", so that an application persisting asynchronously may take the
// next Ready before the previous one is written (Raft thesis §10.2.1) and gets each entry
// once — again only if a newer leader replaced it meanwhile.
//
// Invariant: if snapshot is set, offset == snapshot.metadata.index + 1.
// Invariant: entries[i].index == offset + i.
// Invariant: offset <= offset_in_progress <= offset + entries.size().
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

  // What has not been handed out for persistence yet.
  bool has_next_entries() const { return offset_in_progress < offset + entries.size(); }
  std::vector<Entry> next_entries() const;
  const Snapshot* next_snapshot() const { return snapshot && !snapshot_in_progress ? &*snapshot : nullptr; }
  // Marks everything unstable as handed out.
  void accept_in_progress();

  std::optional<Snapshot> snapshot;
  std::vector<Entry> entries;
  Index offset;
  // Entries before this index (and the snapshot, when snapshot_in_progress) were handed out.
  Index offset_in_progress = offset;
  bool snapshot_in_progress = false;
  // Bytes of data in `entries`, kept to size Ready batches cheaply.
  uint64_t entries_size = 0;

 private:
  void must_check_outofbounds(Index lo, Index hi) const;
};

}  // namespace raft
