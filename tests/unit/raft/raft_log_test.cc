// RaftLog: stable entries in Storage followed by the unstable tail, with the commit,
// persistence and application cursors.
#include <catch2/catch.hpp>

#include "raft/raft_log.h"
#include "tests/unit/raft/test_util.h"

using namespace raft;
using namespace raft::test;

namespace {

// A RaftLog over its own MemStorage: `stable` goes to storage (after a snapshot at
// snap_index, when non-zero), `unstable` is appended to the log on top.
struct Log {
  std::unique_ptr<MemStorage> store;
  std::unique_ptr<RaftLog> log;
  Log(const std::vector<Entry>& stable, const std::vector<Entry>& unstable = {}, Index snap_index = 0,
      Term snap_term = 0, uint64_t max_apply = kNoLimit) {
    use_throwing_panics();
    store = storage_with(snap_index, snap_term, {1}, stable);
    log = std::make_unique<RaftLog>(*store, max_apply);
    log->append(unstable);
  }
  RaftLog* operator->() { return log.get(); }
};

std::vector<Term> terms_of(const std::vector<Entry>& es) {
  std::vector<Term> out;
  for (const auto& e : es) out.push_back(e.term);
  return out;
}

std::vector<Index> indexes_of(const std::vector<Entry>& es) {
  std::vector<Index> out;
  for (const auto& e : es) out.push_back(e.index);
  return out;
}

// The log of the maybe_append table: terms 1 2 3, committed 1.
constexpr Index last = 3;
constexpr Term lterm = 3;
constexpr Index commit = 1;

Entry sized(Index i, size_t bytes) { return ent(i, i, std::string(bytes, 'x')); }

}  // namespace

TEST_CASE("find_conflict returns the first entry whose term differs, or 0", "[raft_log]") {
  auto [appended, want] = GENERATE(table<std::vector<Entry>, Index>({
      {std::vector<Entry>{}, 0},                     // nothing to compare
      {ents(1, {1, 2, 3}), 0},                       // all match
      {ents(2, {2, 3}), 0},
      {ents(3, {3}), 0},
      {ents(1, {1, 2, 3, 4, 4}), 4},                 // new entries past the end
      {ents(2, {2, 3, 4, 4}), 4},
      {ents(4, {4, 4}), 4},
      {ents(1, {4, 4}), 1},                          // conflicts with existing entries
      {ents(2, {1, 4, 4}), 2},
      {ents(3, {1, 2, 4, 4}), 3},
  }));
  CAPTURE(indexes_of(appended), terms_of(appended));
  Log l(ents(1, {1, 2, 3}));
  CHECK(l->find_conflict(appended) == want);
}

TEST_CASE("find_conflict_by_term finds the last index whose term is not above the given one", "[raft_log]") {
  // Log: 1..10 with terms 1 1 1 2 2 3 3 3 5 5 (a follower that saw terms 1, 2, 3 and 5).
  auto [index, term, want_index, want_term] = GENERATE(table<Index, Term, Index, Term>({
      {10, 5, 10, 5},  // matches at once
      {10, 4, 8, 3},   // skips the whole term-5 run
      {10, 3, 8, 3},
      {10, 2, 5, 2},
      {10, 1, 3, 1},
      {10, 0, 0, 0},
      {7, 2, 5, 2},
      {4, 9, 4, 2},    // the leader's term is higher than everything: stay
      {15, 5, 10, 5},  // an index past our end is clamped to our last index
  }));
  CAPTURE(index, term);
  Log l(ents(1, {1, 1, 1, 2, 2, 3, 3, 3, 5, 5}));
  auto [i, t] = l->find_conflict_by_term(index, term);
  CHECK(i == want_index);
  CHECK(t == want_term);
}

TEST_CASE("find_conflict_by_term stops at the compaction boundary", "[raft_log]") {
  Log l(ents(6, {3, 3, 4}), {}, 5, 2);  // snapshot at 5 (term 2), then 6..8
  auto [i, t] = l->find_conflict_by_term(8, 2);
  CHECK(i == 5);
  CHECK(t == 2);
  auto [j, u] = l->find_conflict_by_term(8, 1);
  CHECK(j <= 5);  // below the snapshot nothing is known: the leader falls back to a snapshot
  CHECK(u <= 1);
}

TEST_CASE("maybe_append appends after a matching entry and advances commit", "[raft_log]") {
  // (log_term, index, committed, entries) -> (last new index or 0 when rejected, commit)
  auto [log_term, index, committed, appended, want_last, want_ok, want_commit] =
      GENERATE(table<Term, Index, Index, std::vector<Entry>, Index, bool, Index>({
          {lterm - 1, last, last, ents(last + 1, {4}), 0, false, commit},  // term mismatch
          {lterm, last + 1, last, ents(last + 2, {4}), 0, false, commit},  // index out of range
          {lterm, last, last, std::vector<Entry>{}, last, true, last},
          {lterm, last, last + 1, std::vector<Entry>{}, last, true, last},      // never past the last new entry
          {lterm, last, last - 1, std::vector<Entry>{}, last, true, last - 1},
          {lterm, last, 0, std::vector<Entry>{}, last, true, commit},           // commit never decreases
          {0, 0, last, std::vector<Entry>{}, 0, true, commit},
          {lterm, last, last, ents(last + 1, {4}), last + 1, true, last},
          {lterm, last, last + 1, ents(last + 1, {4}), last + 1, true, last + 1},
          {lterm, last, last + 2, ents(last + 1, {4}), last + 1, true, last + 1},
          {lterm, last, last + 2, ents(last + 1, {4, 4}), last + 2, true, last + 2},
          {lterm - 1, last - 1, last, ents(last, {4}), last, true, last},  // replaces the tail
          {lterm - 2, last - 2, last, ents(last - 1, {4}), last - 1, true, last - 1},
          {lterm - 2, last - 2, last, ents(last - 1, {4, 4}), last, true, last},
      }));
  CAPTURE(log_term, index, committed, indexes_of(appended));
  Log l(ents(1, {1, 2, 3}));
  l->commit_to(commit);
  auto got = l->maybe_append(index, log_term, committed, appended);
  CHECK(got.has_value() == want_ok);
  if (want_ok) CHECK(*got == want_last);
  CHECK(l->committed() == want_commit);
  if (want_ok && !appended.empty()) {
    // The log now holds the appended entries.
    auto sl = l->slice(appended.front().index, appended.back().index + 1, kNoLimit);
    REQUIRE(sl.ok());
    CHECK(*sl == appended);
  }
}

TEST_CASE("maybe_append panics when a conflict hits a committed entry", "[raft_log]") {
  Log l(ents(1, {1, 2, 3}));
  l->commit_to(2);
  // The leader claims entry 2 has term 4: log matching would be broken.
  CHECK_THROWS_AS(l->maybe_append(1, 1, 3, ents(2, {4})), PanicError);
  CHECK_THROWS_AS(l->maybe_append(0, 0, 3, ents(1, {4})), PanicError);
  // Rewriting only the uncommitted entry 3 is fine.
  CHECK(l->maybe_append(2, 2, 3, ents(3, {4})) == std::optional<Index>(3));
}

TEST_CASE("append panics when it would truncate committed entries", "[raft_log]") {
  Log l(ents(1, {1, 2, 3}));
  l->commit_to(2);
  CHECK_THROWS_AS(l->append(ents(2, {5})), PanicError);
  CHECK(l->append(ents(3, {5})) == 3);
  CHECK(l->append(ents(4, {5, 5})) == 5);
}

TEST_CASE("is_up_to_date compares last term first, then last index", "[raft_log]") {
  // Raft §5.4.1. Our log: terms 1 2 3, last index 3.
  auto [index, term, want] = GENERATE(table<Index, Term, bool>({
      {2, 4, true}, {3, 4, true}, {4, 4, true},      // higher last term wins regardless of length
      {2, 2, false}, {3, 2, false}, {4, 2, false},   // lower last term loses regardless of length
      {2, 3, false}, {3, 3, true}, {4, 3, true},     // same term: the longer log wins
  }));
  CAPTURE(index, term);
  Log l(ents(1, {1, 2, 3}));
  CHECK(l->is_up_to_date(index, term) == want);
}

TEST_CASE("commit_to never decreases commit and panics past the last index", "[raft_log]") {
  auto [to, want, panics] = GENERATE(table<Index, Index, bool>({{3, 3, false}, {1, 2, false}, {4, 0, true}}));
  CAPTURE(to);
  Log l(ents(1, {1, 2, 3}));
  l->commit_to(2);
  if (panics) {
    CHECK_THROWS_AS(l->commit_to(to), PanicError);
  } else {
    l->commit_to(to);
    CHECK(l->committed() == want);
  }
}

TEST_CASE("maybe_commit commits only an entry of the given term", "[raft_log]") {
  auto [index, term, want_ok, want_commit] = GENERATE(table<Index, Term, bool, Index>({
      {3, 3, true, 3}, {3, 2, false, 1}, {2, 2, true, 2}, {1, 1, false, 1}, {4, 3, false, 1},
  }));
  CAPTURE(index, term);
  Log l(ents(1, {1, 2, 3}));
  l->commit_to(1);
  CHECK(l->maybe_commit(index, term) == want_ok);
  CHECK(l->committed() == want_commit);
}

TEST_CASE("term answers inside the log and 0 outside, across storage and unstable", "[raft_log]") {
  // Snapshot at 100 (term 1), stable 101..120, unstable 121..130; term of entry i is i.
  std::vector<Entry> stable, unstable;
  for (Index i = 101; i <= 120; ++i) stable.push_back(ent(i, i));
  for (Index i = 121; i <= 130; ++i) unstable.push_back(ent(i, i));
  Log l(stable, unstable, 100, 1);
  auto [idx, want] = GENERATE(table<Index, Term>({
      {99, 0}, {100, 1}, {101, 101}, {120, 120}, {121, 121}, {130, 130}, {131, 0},
  }));
  CAPTURE(idx);
  auto t = l->term(idx);
  REQUIRE(t.ok());
  CHECK(*t == want);
  CHECK(l->first_index() == 101);
  CHECK(l->last_index() == 130);
}

TEST_CASE("slice honours the byte cap across stable and unstable entries", "[raft_log]") {
  // Snapshot at 100; stable 101..149, unstable 150..199; every entry carries 10 bytes.
  std::vector<Entry> stable, unstable;
  for (Index i = 101; i < 150; ++i) stable.push_back(sized(i, 10));
  for (Index i = 150; i < 200; ++i) unstable.push_back(sized(i, 10));
  Log l(stable, unstable, 100, 1);
  auto [lo, hi, cap, want_first, want_count] = GENERATE(table<Index, Index, uint64_t, Index, size_t>({
      {149, 151, kNoLimit, 149, 2},  // across the boundary
      {149, 151, 10, 149, 1},        // the cap stops inside storage
      {148, 151, 25, 148, 2},        // both from storage
      {149, 152, 20, 149, 2},        // one stable, one unstable
      {149, 152, 30, 149, 3},
      {150, 153, 15, 150, 1},        // unstable only
      {150, 153, 0, 150, 1},         // at least one entry, always
      {101, 200, kNoLimit, 101, 99},
      {120, 120, kNoLimit, 0, 0},    // empty range
      {199, 200, kNoLimit, 199, 1},
  }));
  CAPTURE(lo, hi, cap);
  auto got = l->slice(lo, hi, cap);
  REQUIRE(got.ok());
  CHECK(got->size() == want_count);
  if (want_count > 0) CHECK(got->front().index == want_first);
  for (size_t i = 0; i < got->size(); ++i) CHECK((*got)[i].index == lo + i);
}

TEST_CASE("slice below the first index is Compacted and past the end panics", "[raft_log]") {
  Log l(ents(101, {2, 2}), ents(103, {3}), 100, 1);
  CHECK(l->slice(99, 102, kNoLimit).code() == ErrorCode::Compacted);
  CHECK(l->slice(100, 102, kNoLimit).code() == ErrorCode::Compacted);
  CHECK(l->slice(101, 104, kNoLimit).ok());
  CHECK_THROWS_AS(l->slice(101, 105, kNoLimit), PanicError);
  CHECK_THROWS_AS(l->slice(103, 102, kNoLimit), PanicError);
}

TEST_CASE("next_committed_entries stops at the persisted index", "[raft_log]") {
  // Stable 1..3 (persisted), unstable 4..6.
  Log l(ents(1, {1, 1, 1}), ents(4, {1, 1, 1}));
  CHECK(l->persisted() == 3);
  CHECK_FALSE(l->has_next_committed_entries());
  l->commit_to(5);
  CHECK(l->has_next_committed_entries());
  CHECK(indexes_of(l->next_committed_entries()) == std::vector<Index>{1, 2, 3});
  // The application persists 4..5 and reports it.
  l.store->append(ents(4, {1, 1}));
  l->stable_entries(5, 1);
  CHECK(l->persisted() == 5);
  CHECK(indexes_of(l->next_committed_entries()) == std::vector<Index>{1, 2, 3, 4, 5});
  l->applying_to(2);
  CHECK(indexes_of(l->next_committed_entries()) == std::vector<Index>{3, 4, 5});
  l->applied_to(5);
  CHECK_FALSE(l->has_next_committed_entries());
  CHECK(l->next_committed_entries().empty());
}

TEST_CASE("next_committed_entries honours max_apply_size", "[raft_log]") {
  std::vector<Entry> stable;
  for (Index i = 1; i <= 5; ++i) stable.push_back(sized(i, 10));
  Log l(stable, {}, 0, 0, 25);
  l->commit_to(5);
  CHECK(indexes_of(l->next_committed_entries()) == std::vector<Index>{1, 2});
  l->applying_to(2);
  CHECK(indexes_of(l->next_committed_entries()) == std::vector<Index>{3, 4});
}

TEST_CASE("applied_to outside committed range panics", "[raft_log]") {
  Log l(ents(1, {1, 1, 1}));
  l->commit_to(2);
  CHECK_THROWS_AS(l->applied_to(3), PanicError);
  l->applied_to(2);
  CHECK(l->applied() == 2);
  CHECK(l->applying() == 2);
  CHECK_THROWS_AS(l->applied_to(1), PanicError);
}

TEST_CASE("restore replaces the log with a snapshot and commits up to it", "[raft_log]") {
  Log l(ents(1, {1, 1, 1}), ents(4, {2}));
  l->commit_to(3);
  l->restore(snap(200, 5, {1, 2}));
  CHECK(l->first_index() == 201);
  CHECK(l->last_index() == 200);
  CHECK(l->committed() == 200);
  CHECK(l->persisted() <= 3);  // the snapshot is not durable until stable_snap
  CHECK(l->unstable_entries().empty());
  REQUIRE(l->has_pending_snapshot());
  CHECK(*l->term(200) == 5);
  CHECK_FALSE(l->has_next_committed_entries());  // the snapshot replaces entries 1..200
  REQUIRE(l.store->apply_snapshot(snap(200, 5, {1, 2})).ok());
  l->stable_snap(200);
  CHECK_FALSE(l->has_pending_snapshot());
  CHECK(l->persisted() == 200);
  CHECK(l->applied() == 200);
  // New entries go after the snapshot.
  CHECK(l->append(ents(201, {5})) == 201);
}

TEST_CASE("restore behind the commit index panics", "[raft_log]") {
  Log l(ents(1, {1, 1, 1}));
  l->commit_to(3);
  CHECK_THROWS_AS(l->restore(snap(2, 1, {1})), PanicError);
}

TEST_CASE("stable_entries with a stale term does not mark replaced entries persisted", "[raft_log]") {
  // Stable 1..3; a Ready hands out 4 and 5 (term 1).
  Log l(ents(1, {1, 1, 1}), ents(4, {1, 1}));
  // The application writes them, but before it calls advance a new leader replaces 5.
  l.store->append(ents(4, {1, 1}));
  l->append(ents(5, {2}));
  CHECK(l->persisted() == 3);
  l->stable_entries(5, 1);  // the advance for the old Ready
  CHECK(l->persisted() == 3);
  CHECK(l->unstable_entries().size() == 2);  // 4 and the new 5 are still to be persisted
  CHECK(l->unstable_entries().back().term == 2);
  // The next Ready persists the replacement.
  l.store->append(ents(4, {1, 2}));
  l->stable_entries(5, 2);
  CHECK(l->persisted() == 5);
  CHECK(l->unstable_entries().empty());
}

TEST_CASE("stable_entries for a prefix keeps the rest unstable", "[raft_log]") {
  Log l(ents(1, {1}), ents(2, {1, 1, 1}));
  l.store->append(ents(2, {1, 1}));
  l->stable_entries(3, 1);
  CHECK(l->persisted() == 3);
  CHECK(indexes_of(l->unstable_entries()) == std::vector<Index>{4});
}

TEST_CASE("entries returns everything from an index and nothing past the end", "[raft_log]") {
  Log l(ents(1, {1, 1}), ents(3, {2, 2}));
  CHECK(indexes_of(*l->entries(2, kNoLimit)) == std::vector<Index>{2, 3, 4});
  CHECK(l->entries(5, kNoLimit)->empty());
  CHECK(indexes_of(l->all_entries()) == std::vector<Index>{1, 2, 3, 4});
}
