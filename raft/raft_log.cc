#include "raft/raft_log.h"

#include <algorithm>

#include "raft/check.h"

namespace raft {
namespace {
Index must(const Result<Index>& r, const char* what) {
  RAFT_CHECK(r.ok(), "storage %s failed: %s", what, r.ok() ? "" : r.error().to_string().c_str());
  return *r;
}
}  // namespace

RaftLog::RaftLog(const Storage& storage, uint64_t max_apply_size)
    : store_(storage),
      unstable_(must(storage.last_index(), "last_index") + 1),
      max_apply_size_(max_apply_size) {
  const Index first = must(storage.first_index(), "first_index");
  const Index last = unstable_.offset - 1;
  committed_ = first - 1;
  applying_ = first - 1;
  applied_ = first - 1;
  persisted_ = last;
}

Index RaftLog::first_index() const {
  if (auto i = unstable_.maybe_first_index()) return *i;
  return must(store_.first_index(), "first_index");
}

Index RaftLog::last_index() const {
  if (auto i = unstable_.maybe_last_index()) return *i;
  return must(store_.last_index(), "last_index");
}

Result<Term> RaftLog::term(Index idx) const {
  const Index dummy = first_index() - 1;
  if (idx < dummy || idx > last_index()) return Term{0};
  if (auto t = unstable_.maybe_term(idx)) return *t;
  auto t = store_.term(idx);
  if (t.ok() || t.code() == ErrorCode::Compacted || t.code() == ErrorCode::Unavailable) return t;
  RAFT_PANIC("storage term(%lu) failed: %s", idx, t.error().to_string().c_str());
}

Term RaftLog::last_term() const {
  auto t = term(last_index());
  RAFT_CHECK(t.ok(), "term of the last index %lu unknown: %s", last_index(),
             t.error().to_string().c_str());
  return *t;
}

bool RaftLog::match_term(Index idx, Term t) const {
  auto r = term(idx);
  return r.ok() && *r == t;
}

std::optional<Index> RaftLog::maybe_append(Index idx, Term log_term, Index committed,
                                           const std::vector<Entry>& ents) {
  if (!match_term(idx, log_term)) return std::nullopt;
  const Index last_new = idx + ents.size();
  const Index conflict = find_conflict(ents);
  if (conflict != 0) {
    RAFT_CHECK(conflict > committed_,
               "entry %lu conflicts with a committed entry (committed %lu): log matching broken",
               conflict, committed_);
    const size_t start = conflict - (idx + 1);
    append(std::vector<Entry>(ents.begin() + static_cast<std::ptrdiff_t>(start), ents.end()));
  }
  commit_to(std::min(committed, last_new));
  return last_new;
}

Index RaftLog::append(const std::vector<Entry>& ents) {
  if (ents.empty()) return last_index();
  const Index after = ents.front().index - 1;
  RAFT_CHECK(after >= committed_, "append after %lu would truncate committed entries up to %lu",
             after, committed_);
  // Entries above `after` are being replaced: they no longer count as persisted.
  if (after < persisted_) persisted_ = after;
  unstable_.truncate_and_append(ents);
  return last_index();
}

Index RaftLog::find_conflict(const std::vector<Entry>& ents) const {
  for (const auto& e : ents) {
    if (!match_term(e.index, e.term)) return e.index;
  }
  return 0;
}

std::pair<Index, Term> RaftLog::find_conflict_by_term(Index index, Term t) const {
  Index i = std::min(index, last_index());
  for (;;) {
    auto lt = term(i);
    if (!lt.ok()) return {i, 0};  // compacted: the leader will fall back to a snapshot
    if (*lt <= t) return {i, *lt};
    if (i == 0) return {0, 0};
    --i;
  }
}

bool RaftLog::is_up_to_date(Index last, Term t) const {
  return t > last_term() || (t == last_term() && last >= last_index());
}

bool RaftLog::maybe_commit(Index max_index, Term t) {
  if (max_index > committed_) {
    auto mt = term(max_index);
    if (mt.ok() && *mt == t) {
      commit_to(max_index);
      return true;
    }
  }
  return false;
}

void RaftLog::commit_to(Index to_commit) {
  if (committed_ >= to_commit) return;  // never decrease commit
  RAFT_CHECK(last_index() >= to_commit,
             "commit %lu is out of range [last index %lu]: was the log corrupted, truncated or lost?",
             to_commit, last_index());
  committed_ = to_commit;
}

void RaftLog::applied_to(Index idx) {
  if (idx == 0) return;
  RAFT_CHECK(idx <= committed_ && idx >= applied_,
             "applied %lu is out of range [prev applied %lu, committed %lu]", idx, applied_,
             committed_);
  applied_ = idx;
  applying_ = std::max(applying_, idx);
}

void RaftLog::applying_to(Index idx) {
  RAFT_CHECK(idx <= committed_ && idx >= applying_,
             "applying %lu is out of range [prev applying %lu, committed %lu]", idx, applying_,
             committed_);
  applying_ = idx;
}

Result<void> RaftLog::must_check_outofbounds(Index lo, Index hi) const {
  RAFT_CHECK(lo <= hi, "invalid slice %lu > %lu", lo, hi);
  const Index first = first_index();
  if (lo < first) {
    return make_error(ErrorCode::Compacted, format("index %lu, first index %lu", lo, first));
  }
  RAFT_CHECK(hi <= last_index() + 1, "slice [%lu, %lu) out of bound [%lu, %lu]", lo, hi, first,
             last_index());
  return {};
}

Result<std::vector<Entry>> RaftLog::slice(Index lo, Index hi, uint64_t max_size) const {
  if (auto r = must_check_outofbounds(lo, hi); !r) return r.error();
  std::vector<Entry> out;
  if (lo == hi) return out;
  if (lo < unstable_.offset) {
    auto stored = store_.entries(lo, std::min(hi, unstable_.offset), max_size);
    if (!stored) {
      if (stored.code() == ErrorCode::Compacted) return stored.error();
      RAFT_PANIC("entries [%lu, %lu) unavailable from storage: %s", lo,
                 std::min(hi, unstable_.offset), stored.error().to_string().c_str());
    }
    out = std::move(*stored);
    // The storage stopped early because of the size cap: do not add unstable entries.
    if (out.size() < std::min(hi, unstable_.offset) - lo) return out;
  }
  if (hi > unstable_.offset) {
    auto unstable = unstable_.slice(std::max(lo, unstable_.offset), hi);
    if (out.empty()) {
      out = std::move(unstable);
    } else {
      out.insert(out.end(), std::make_move_iterator(unstable.begin()),
                 std::make_move_iterator(unstable.end()));
    }
  }
  limit_size(out, max_size);
  return out;
}

Result<std::vector<Entry>> RaftLog::entries(Index idx, uint64_t max_size) const {
  if (idx > last_index()) return std::vector<Entry>{};
  return slice(idx, last_index() + 1, max_size);
}

std::vector<Entry> RaftLog::all_entries() const {
  auto r = entries(first_index(), kNoLimit);
  RAFT_CHECK(r.ok(), "all_entries: %s", r.ok() ? "" : r.error().to_string().c_str());
  return std::move(*r);
}

bool RaftLog::has_next_committed_entries() const {
  const Index lo = std::max(applying_ + 1, first_index());
  const Index hi = std::min(committed_, persisted_);
  return lo <= hi;
}

std::vector<Entry> RaftLog::next_committed_entries() const {
  const Index lo = std::max(applying_ + 1, first_index());
  const Index hi = std::min(committed_, persisted_);
  if (lo > hi) return {};
  auto r = slice(lo, hi + 1, max_apply_size_);
  RAFT_CHECK(r.ok(), "committed entries [%lu, %lu] unavailable: %s", lo, hi,
             r.ok() ? "" : r.error().to_string().c_str());
  return std::move(*r);
}

Result<Snapshot> RaftLog::snapshot(Index request_index) const {
  if (unstable_.snapshot && unstable_.snapshot->metadata.index >= request_index) {
    return *unstable_.snapshot;
  }
  return store_.snapshot(request_index);
}

void RaftLog::restore(const Snapshot& snap) {
  const Index index = snap.metadata.index;
  RAFT_CHECK(index >= committed_, "snapshot at %lu is behind commit %lu", index, committed_);
  committed_ = index;
  // Nothing at or below the snapshot remains to be applied: the snapshot replaces it.
  persisted_ = std::min(persisted_, index);
  unstable_.restore(snap);
}

void RaftLog::stable_entries(Index idx, Term t) {
  unstable_.stable_entries(idx, t);
  maybe_persist(idx, t);
}

void RaftLog::stable_snap(Index idx) {
  unstable_.stable_snap(idx);
  if (idx > persisted_) persisted_ = idx;
  if (idx > applying_) applying_ = idx;
  if (idx > applied_) applied_ = idx;
}

bool RaftLog::maybe_persist(Index idx, Term t) {
  // Only entries that left the unstable buffer are in storage; an index at or after the
  // first unstable one may have been replaced by a newer leader since the Ready went out.
  const Index first_update =
      unstable_.snapshot ? unstable_.snapshot->metadata.index : unstable_.offset;
  if (idx > persisted_ && idx < first_update) {
    auto st = store_.term(idx);
    if (st.ok() && *st == t) {
      persisted_ = idx;
      return true;
    }
  }
  return false;
}

}  // namespace raft
