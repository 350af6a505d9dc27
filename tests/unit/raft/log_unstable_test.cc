// Unstable: the in-memory tail of the log and the pending snapshot.
#include <catch2/catch.hpp>

#include <optional>

#include "raft/log_unstable.h"
#include "tests/unit/raft/test_util.h"

using namespace raft;
using namespace raft::test;

namespace {
Unstable make(std::vector<Entry> es, Index offset, std::optional<Snapshot> s = std::nullopt) {
  use_throwing_panics();
  Unstable u(offset);
  u.entries = std::move(es);
  for (const auto& e : u.entries) u.entries_size += e.payload_size();
  u.snapshot = std::move(s);
  return u;
}
constexpr Index kNo = 0;  // "nullopt" in the tables below
Index opt(std::optional<Index> v) { return v.value_or(kNo); }
}  // namespace

TEST_CASE("unstable first index is known only from a pending snapshot", "[log_unstable]") {
  auto [has_entry, has_snap, want] = GENERATE(table<bool, bool, Index>({
      {true, false, kNo},   // entries only: storage knows the first index
      {false, false, kNo},  // nothing
      {true, true, 5},      // snapshot at 4
      {false, true, 5},
  }));
  CAPTURE(has_entry, has_snap);
  auto u = make(has_entry ? ents(5, {1}) : std::vector<Entry>{}, 5,
                has_snap ? std::optional<Snapshot>(snap(4, 1, {1})) : std::nullopt);
  CHECK(opt(u.maybe_first_index()) == want);
}

TEST_CASE("unstable last index comes from the entries, else from the snapshot", "[log_unstable]") {
  auto [n_entries, has_snap, want] = GENERATE(table<int, bool, Index>({
      {1, false, 5}, {1, true, 5}, {0, true, 4}, {0, false, kNo}, {3, true, 7},
  }));
  CAPTURE(n_entries, has_snap);
  std::vector<Entry> es;
  for (int i = 0; i < n_entries; ++i) es.push_back(ent(5 + i, 1));
  auto u = make(es, 5, has_snap ? std::optional<Snapshot>(snap(4, 1, {1})) : std::nullopt);
  CHECK(opt(u.maybe_last_index()) == want);
}

TEST_CASE("unstable term answers for its entries and the snapshot index only", "[log_unstable]") {
  auto [n_entries, has_snap, idx, want] = GENERATE(table<int, bool, Index, Term>({
      {1, false, 5, 1}, {1, false, 6, kNo}, {1, false, 4, kNo},
      {1, true, 5, 1}, {1, true, 6, kNo}, {1, true, 4, 1}, {1, true, 3, kNo},
      {0, true, 5, kNo}, {0, true, 4, 1}, {0, false, 5, kNo},
  }));
  CAPTURE(n_entries, has_snap, idx);
  auto u = make(n_entries ? ents(5, {1}) : std::vector<Entry>{}, 5,
                has_snap ? std::optional<Snapshot>(snap(4, 1, {1})) : std::nullopt);
  CHECK(u.maybe_term(idx).value_or(kNo) == want);
}

TEST_CASE("unstable restore replaces everything with the snapshot", "[log_unstable]") {
  auto u = make(ents(5, {1, 1}), 5, snap(4, 1, {1}));
  u.restore(snap(6, 2, {1}));
  CHECK(u.offset == 7);
  CHECK(u.entries.empty());
  CHECK(u.entries_size == 0);
  REQUIRE(u.snapshot);
  CHECK(u.snapshot->metadata.index == 6);
}

TEST_CASE("stable_entries drops entries only when index and term still match", "[log_unstable]") {
  auto [first, terms, has_snap, idx, term, want_offset, want_len] =
      GENERATE(table<Index, std::vector<Term>, bool, Index, Term, Index, size_t>({
          {5, {1}, false, 5, 1, 6, 0},
          {5, {1, 1}, false, 5, 1, 6, 1},
          {5, {1, 2}, false, 6, 2, 7, 0},
          {5, {1}, false, 4, 1, 5, 1},   // before the offset: nothing
          {5, {1}, false, 5, 2, 5, 1},   // stale term: the entry was replaced since
          {5, {1}, false, 6, 1, 5, 1},   // not there
          {5, {1}, true, 4, 1, 5, 1},    // the snapshot index is not an entry
          {5, {2}, true, 5, 2, 6, 0},
      }));
  CAPTURE(first, terms, has_snap, idx, term);
  auto u = make(ents(first, terms), first, has_snap ? std::optional<Snapshot>(snap(4, 1, {1})) : std::nullopt);
  u.stable_entries(idx, term);
  CHECK(u.offset == want_offset);
  CHECK(u.entries.size() == want_len);
}

TEST_CASE("stable_snap clears only the matching snapshot", "[log_unstable]") {
  auto u = make({}, 5, snap(4, 1, {1}));
  u.stable_snap(3);
  CHECK(u.snapshot.has_value());
  u.stable_snap(4);
  CHECK_FALSE(u.snapshot.has_value());
}

TEST_CASE("truncate_and_append appends, replaces all, or truncates a suffix", "[log_unstable]") {
  auto [first, terms, to_append, want_offset, want_terms] =
      GENERATE(table<Index, std::vector<Term>, std::vector<Entry>, Index, std::vector<Term>>({
          {5, {1}, ents(6, {1, 1}), 5, {1, 1, 1}},     // plain append
          {5, {1}, ents(5, {2, 2}), 5, {2, 2}},        // replace from the offset
          {5, {1}, ents(4, {2, 2, 2}), 4, {2, 2, 2}},  // replace from before the offset
          {5, {1, 1, 1}, ents(6, {2}), 5, {1, 2}},     // truncate then append
          {5, {1, 1, 1}, ents(7, {2, 2}), 5, {1, 1, 2, 2}},
      }));
  CAPTURE(first, terms, want_terms);
  auto u = make(ents(first, terms), first);
  u.truncate_and_append(to_append);
  CHECK(u.offset == want_offset);
  std::vector<Term> got;
  uint64_t size = 0;
  for (const auto& e : u.entries) {
    got.push_back(e.term);
    size += e.payload_size();
  }
  CHECK(got == want_terms);
  CHECK(u.entries_size == size);
}

TEST_CASE("truncate_and_append keeps entries_size equal to the payload bytes", "[log_unstable]") {
  auto u = make({}, 1);
  u.truncate_and_append({ent(1, 1, "aaaa"), ent(2, 1, "bb"), ent(3, 1, "c")});
  CHECK(u.entries_size == 7);
  u.truncate_and_append({ent(2, 2, "zzzzzz")});
  CHECK(u.entries_size == 10);
  u.stable_entries(1, 1);
  CHECK(u.entries_size == 6);
}

TEST_CASE("unstable slice outside its bounds panics", "[log_unstable]") {
  auto u = make(ents(5, {1, 1, 1}), 5);
  CHECK(u.slice(5, 8).size() == 3);
  CHECK(u.slice(6, 6).empty());
  auto [lo, hi] = GENERATE(table<Index, Index>({{4, 6}, {6, 9}, {7, 6}}));
  CAPTURE(lo, hi);
  CHECK_THROWS_AS(u.slice(lo, hi), PanicError);
}
