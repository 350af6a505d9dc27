// Inflights: the flow-control window of appends in flight to one follower.
#include <catch2/catch.hpp>

#include "raft/tracker/inflights.h"
#include "tests/unit/raft/test_util.h"

using namespace raft;

TEST_CASE("inflights fill up to capacity and refuse more", "[inflights]") {
  raft::test::use_throwing_panics();
  Inflights in(10);
  for (Index i = 0; i < 10; ++i) {
    CHECK_FALSE(in.full());
    in.add(i + 1);
  }
  CHECK(in.full());
  CHECK(in.count() == 10);
  CHECK_THROWS_AS(in.add(11), PanicError);
}

TEST_CASE("inflights free_to releases every append up to the index", "[inflights]") {
  auto [free_to, want_count] = GENERATE(table<Index, size_t>({
      {0, 10}, {1, 9}, {5, 5}, {7, 3}, {10, 0}, {20, 0},
  }));
  CAPTURE(free_to);
  Inflights in(10);
  for (Index i = 1; i <= 10; ++i) in.add(i);
  in.free_to(free_to);
  CHECK(in.count() == want_count);
  CHECK(in.full() == (want_count == 10));
}

TEST_CASE("inflights work as a ring across wrap-around", "[inflights]") {
  Inflights in(4);
  Index next = 1;
  // Many rounds of add/free force the start of the ring around the buffer.
  for (int round = 0; round < 50; ++round) {
    while (!in.full()) in.add(next++);
    CHECK(in.count() == 4);
    in.free_to(next - 3);  // leaves the two newest
    CHECK(in.count() == 2);
    in.free_first_one();
    CHECK(in.count() == 1);
  }
  in.free_to(next);
  CHECK(in.count() == 0);
  in.add(next + 5);
  CHECK(in.count() == 1);
}

TEST_CASE("inflights require increasing indexes", "[inflights]") {
  raft::test::use_throwing_panics();
  Inflights in(5);
  in.add(5);
  CHECK_THROWS_AS(in.add(5), PanicError);
  CHECK_THROWS_AS(in.add(3), PanicError);
  in.add(6);
  CHECK(in.count() == 2);
}

TEST_CASE("inflights free_first_one and reset", "[inflights]") {
  Inflights in(3);
  in.free_first_one();  // empty: no effect
  CHECK(in.count() == 0);
  in.add(1);
  in.add(2);
  in.free_first_one();
  CHECK(in.count() == 1);
  in.free_to(1);  // already freed
  CHECK(in.count() == 1);
  in.reset();
  CHECK(in.count() == 0);
  CHECK(in.capacity() == 3);
  in.add(1);  // after a reset any index may start the window again
  CHECK(in.count() == 1);
}
