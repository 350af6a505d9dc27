#include <catch2/catch.hpp>

#include "raft/mem_storage.h"

using namespace raft;

namespace {
Entry ent(Index i, Term t) { return Entry{EntryType::Normal, t, i, {}, {}}; }
MemStorage storage_with(std::vector<Entry> ents) {
  MemStorage s;
  s.apply_snapshot(Snapshot{{}, SnapshotMetadata{{}, ents.front().index, ents.front().term}}).ok();
  ents.erase(ents.begin());
  s.append(ents);
  return s;
}
}  // namespace

TEST_CASE("term answers for the compacted boundary and the kept entries", "[mem_storage]") {
  auto s = storage_with({ent(3, 3), ent(4, 4), ent(5, 5)});
  auto [idx, code] = GENERATE(table<Index, int>({{2, 1}, {3, 0}, {4, 0}, {5, 0}, {6, 2}}));
  CAPTURE(idx);
  auto t = s.term(idx);
  if (code == 0) {
    REQUIRE(t.ok());
    CHECK(*t == idx);
  } else {
    REQUIRE_FALSE(t.ok());
    CHECK(t.code() == (code == 1 ? ErrorCode::Compacted : ErrorCode::Unavailable));
  }
}

TEST_CASE("entries stop at the byte limit but return at least one entry", "[mem_storage]") {
  auto s = storage_with({ent(3, 3), ent(4, 4), ent(5, 5), ent(6, 6)});
  std::vector<Entry> more = {Entry{EntryType::Normal, 6, 7, std::string(10, 'x'), {}},
                             Entry{EntryType::Normal, 6, 8, std::string(10, 'y'), {}}};
  s.append(more);
  CHECK(s.entries(7, 9, 5)->size() == 1);
  CHECK(s.entries(7, 9, 20)->size() == 2);
  CHECK(s.entries(4, 9, kNoLimit)->size() == 5);
  CHECK(s.entries(3, 5, kNoLimit).code() == ErrorCode::Compacted);
  CHECK(s.entries(4, 10, kNoLimit).code() == ErrorCode::Unavailable);
}

TEST_CASE("append replaces a conflicting suffix", "[mem_storage]") {
  auto s = storage_with({ent(3, 3), ent(4, 4), ent(5, 5)});
  s.append({ent(4, 6), ent(5, 6), ent(6, 6)});
  CHECK(*s.last_index() == 6);
  CHECK(*s.term(4) == 6);
}

TEST_CASE("compact keeps the boundary term and refuses to go backwards", "[mem_storage]") {
  auto s = storage_with({ent(3, 3), ent(4, 4), ent(5, 5)});
  REQUIRE(s.compact(5).ok());
  CHECK(*s.first_index() == 5);
  CHECK(*s.term(4) == 4);
  CHECK(s.compact(4).code() == ErrorCode::Compacted);
}

TEST_CASE("create_snapshot records the term of the index and the membership", "[mem_storage]") {
  auto s = storage_with({ent(3, 3), ent(4, 4), ent(5, 5)});
  ConfState cs{{1, 2, 3}, {}, {}, {}, false};
  auto snap = s.create_snapshot(4, &cs, "data");
  REQUIRE(snap.ok());
  CHECK(snap->metadata.index == 4);
  CHECK(snap->metadata.term == 4);
  CHECK(snap->metadata.conf_state == cs);
  CHECK(s.create_snapshot(3, &cs, "").code() == ErrorCode::SnapshotOutOfDate);
}

TEST_CASE("apply_snapshot replaces the log and refuses an older snapshot", "[mem_storage]") {
  auto s = storage_with({ent(3, 3), ent(4, 4), ent(5, 5)});
  REQUIRE(s.apply_snapshot(Snapshot{"x", SnapshotMetadata{{}, 10, 7}}).ok());
  CHECK(*s.first_index() == 11);
  CHECK(*s.last_index() == 10);
  CHECK(*s.term(10) == 7);
  CHECK(s.apply_snapshot(Snapshot{"x", SnapshotMetadata{{}, 9, 7}}).code() ==
        ErrorCode::SnapshotOutOfDate);
}
