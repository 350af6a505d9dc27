#include "raft/log_unstable.h"

#include <algorithm>

#include "raft/check.h"

namespace raft {

std::optional<Index> Unstable::maybe_first_index() const {
  if (snapshot) return snapshot->metadata.index + 1;
  return std::nullopt;
}

std::optional<Index> Unstable::maybe_last_index() const {
  if (!entries.empty()) return offset + entries.size() - 1;
  if (snapshot) return snapshot->metadata.index;
  return std::nullopt;
}

std::optional<Term> Unstable::maybe_term(Index idx) const {
  if (idx < offset) {
    if (snapshot && snapshot->metadata.index == idx) return snapshot->metadata.term;
    return std::nullopt;
  }
  auto last = maybe_last_index();
  if (!last || idx > *last) return std::nullopt;
  return entries[idx - offset].term;
}

void Unstable::stable_entries(Index idx, Term term) {
  auto t = maybe_term(idx);
  // Only if the entry is still the one that was persisted: a newer leader may have
  // replaced it since the Ready was handed out.
  if (!t || *t != term || idx < offset) return;
  const size_t n = idx - offset + 1;
  for (size_t i = 0; i < n; ++i) entries_size -= entries[i].payload_size();
  entries.erase(entries.begin(), entries.begin() + static_cast<std::ptrdiff_t>(n));
  offset = idx + 1;
  offset_in_progress = std::max(offset_in_progress, offset);
}

void Unstable::stable_snap(Index idx) {
  if (snapshot && snapshot->metadata.index == idx) {
    snapshot.reset();
    snapshot_in_progress = false;
  }
}

void Unstable::restore(const Snapshot& snap) {
  entries.clear();
  entries_size = 0;
  offset = snap.metadata.index + 1;
  offset_in_progress = offset;
  snapshot = snap;
  snapshot_in_progress = false;
}

std::vector<Entry> Unstable::next_entries() const {
  const Index lo = std::max(offset_in_progress, offset);
  return slice(lo, offset + entries.size());
}

void Unstable::accept_in_progress() {
  offset_in_progress = offset + entries.size();
  if (snapshot) snapshot_in_progress = true;
}

void Unstable::truncate_and_append(const std::vector<Entry>& ents) {
  if (ents.empty()) return;
  const Index after = ents.front().index;
  if (after == offset + entries.size()) {
    // The common case: appending right after the last entry.
  } else if (after <= offset) {
    // Replaces everything unstable; storage will be overwritten from `after` on too.
    entries.clear();
    entries_size = 0;
    offset = after;
    offset_in_progress = offset;
  } else {
    must_check_outofbounds(offset, after);
    for (size_t i = after - offset; i < entries.size(); ++i) entries_size -= entries[i].payload_size();
    entries.resize(after - offset);
    // The replaced entries must be handed out (and written) again.
    offset_in_progress = std::min(offset_in_progress, after);
  }
  for (const auto& e : ents) entries_size += e.payload_size();
  entries.insert(entries.end(), ents.begin(), ents.end());
}

std::vector<Entry> Unstable::slice(Index lo, Index hi) const {
  must_check_outofbounds(lo, hi);
  return std::vector<Entry>(entries.begin() + static_cast<std::ptrdiff_t>(lo - offset),
                            entries.begin() + static_cast<std::ptrdiff_t>(hi - offset));
}

void Unstable::must_check_outofbounds(Index lo, Index hi) const {
  RAFT_CHECK(lo <= hi, "invalid unstable slice %lu > %lu", lo, hi);
  const Index upper = offset + entries.size();
  RAFT_CHECK(lo >= offset && hi <= upper, "unstable slice [%lu, %lu) out of bound [%lu, %lu]",
             lo, hi, offset, upper);
}

}  // namespace raft
