// Synthetic key-value histories for testing the linearizability checker at scale.
//
// make_history() simulates `clients` sequential clients issuing put/get/cas/del on `keys`
// keys against one ordinary map: each operation takes effect at a random point inside its
// interval (so operations of different clients overlap), the map decides the results, and
// the history is therefore linearizable by construction. Some operations are long (a slow
// or partitioned node), some end Unknown (a timeout): those take effect at a random later
// point, or never. Every write writes its own value ("c<client>-<seq>"), as in the chaos
// test. Deterministic for a given seed.
#pragma once

#include <cstdint>
#include <vector>

#include "tests/support/linearizability.h"

namespace lincheck::testing {

struct SyntheticOptions {
  uint64_t seed = 1;
  size_t ops = 1000;
  int clients = 5;
  int keys = 5;
  // Out of 1000 operations: how many are long (100 times the usual length) and how many end
  // Unknown.
  int long_per_mille = 10;
  int unknown_per_mille = 5;
  // Whether clients issue del (the chaos workload does not).
  bool dels = true;
};

// `points`, if given, receives when each operation took effect (~0: never), for debugging.
std::vector<Op> make_history(const SyntheticOptions& options, std::vector<uint64_t>* points = nullptr);

// Turns one late successful get into a stale read: it now returns a value that was
// overwritten by an acknowledged write completed before the get was invoked. Returns the
// index of the changed operation, or -1 if no such pair was found.
long inject_stale_read(std::vector<Op>& history);

// Turns one late successful get of a present value into a read of "absent". Returns the
// index of the changed operation, or -1 if there is no such get.
long inject_absent_read(std::vector<Op>& history);

}  // namespace lincheck::testing
