#include <catch2/catch.hpp>

#include <set>

#include "node/snapshot_policy.h"

using node::SnapshotPolicy;

TEST_CASE("a snapshot is due at the entry bound or at the byte bound, whichever comes first", "[snapshot_policy]") {
  SnapshotPolicy p;
  p.entries = 100;
  p.log_bytes = 1000;
  CHECK_FALSE(p.due(0, 0));
  CHECK_FALSE(p.due(99, 999));
  CHECK(p.due(100, 0));      // entries alone
  CHECK(p.due(1, 1000));     // bytes alone: few large entries
  CHECK(p.due(5000, 5000));
}

TEST_CASE("members get distinct stagger factors from 1 to 1.5 so that they do not snapshot together", "[snapshot_policy]") {
  std::set<uint64_t> entry_bounds;
  for (uint64_t id = 1; id <= 7; ++id) {
    const double f = SnapshotPolicy::stagger(id);
    CHECK(f >= 1.0);
    CHECK(f < 1.5);
    const auto p = SnapshotPolicy::for_member(id, 10000, 256);
    CHECK(p.entries >= 10000);
    CHECK(p.entries < 15000);
    CHECK(p.log_bytes >= uint64_t{256} << 20);
    CHECK(p.log_bytes < uint64_t{384} << 20);
    entry_bounds.insert(p.entries);
    CHECK(SnapshotPolicy::stagger(id) == f);  // deterministic
  }
  CHECK(entry_bounds.size() == 7);
  // Any two of five consecutive ids are at least 5% of the bound apart.
  for (uint64_t a = 1; a <= 5; ++a)
    for (uint64_t b = a + 1; b <= 5; ++b)
      CHECK(std::abs(SnapshotPolicy::stagger(a) - SnapshotPolicy::stagger(b)) >= 0.05);
  // Tiny settings still give positive bounds.
  const auto tiny = SnapshotPolicy::for_member(3, 1, 1);
  CHECK(tiny.entries >= 1);
  CHECK(tiny.log_bytes >= 1);
}
