// Small predicates and names of the plain protocol types, errors and checks.
#include <catch2/catch.hpp>

#include "raft/check.h"
#include "raft/error.h"
#include "raft/storage.h"
#include "raft/types.h"
#include "tests/unit/raft/test_util.h"

using namespace raft;

TEST_CASE("local messages are exactly the ones that never cross the network", "[types]") {
  using MT = MessageType;
  for (int i = 0; i < kMessageTypeCount; ++i) {
    const auto t = static_cast<MT>(i);
    CAPTURE(to_string(t));
    const bool local = t == MT::MsgHup || t == MT::MsgBeat || t == MT::MsgUnreachable ||
                       t == MT::MsgSnapStatus || t == MT::MsgCheckQuorum;
    CHECK(is_local_msg(t) == local);
    CHECK(to_string(t).substr(0, 3) == "Msg");
    CHECK(to_string(t) != "MsgUnknown");
  }
}

TEST_CASE("hard state and snapshot emptiness", "[types]") {
  CHECK(HardState{}.empty());
  CHECK_FALSE((HardState{1, 0, 0}.empty()));
  CHECK(Snapshot{}.empty());
  CHECK_FALSE(raft::test::snap(1, 1, {1}).empty());
  CHECK(ConfState{{1}, {}, {2}, {}, false}.is_joint());
  CHECK_FALSE(ConfState{{1}, {}, {}, {}, false}.is_joint());
}

TEST_CASE("limit_size keeps at least one entry and stops at the byte cap", "[types]") {
  auto [cap, want] = GENERATE(table<uint64_t, size_t>({{0, 1}, {9, 1}, {10, 1}, {19, 1}, {20, 2}, {30, 3}, {kNoLimit, 3}}));
  CAPTURE(cap);
  std::vector<Entry> es{raft::test::ent(1, 1, std::string(10, 'a')), raft::test::ent(2, 1, std::string(10, 'b')),
                        raft::test::ent(3, 1, std::string(10, 'c'))};
  limit_size(es, cap);
  CHECK(es.size() == want);
}

TEST_CASE("errors and roles have readable names", "[types]") {
  CHECK(to_string(ErrorCode::ProposalDropped) == "proposal dropped");
  Error e = make_error(ErrorCode::Compacted, "index 3");
  CHECK(e == ErrorCode::Compacted);
  CHECK_THAT(e.to_string(), Catch::Matchers::Contains("index 3"));
  CHECK(to_string(StateRole::PreCandidate) == "precandidate");
  CHECK(to_string(ProgressState::Replicate) == "replicate");
}

TEST_CASE("RAFT_CHECK throws through the test handler with the message", "[types]") {
  raft::test::use_throwing_panics();
  try {
    RAFT_CHECK(1 + 1 == 3, "arithmetic is %s", "broken");
    FAIL("no panic");
  } catch (const PanicError& p) {
    CHECK_THAT(p.message, Catch::Matchers::Contains("arithmetic is broken"));
    CHECK_THAT(p.message, Catch::Matchers::Contains("1 + 1 == 3"));
  }
  CHECK(format("%d-%s", 7, "x") == "7-x");
}
