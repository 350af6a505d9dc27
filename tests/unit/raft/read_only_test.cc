// ReadOnly: pending linearizable reads on the leader, answered in arrival order once a
// quorum acknowledged a heartbeat carrying their context (Raft thesis §6.4).
#include <catch2/catch.hpp>

#include "raft/read_only.h"
#include "tests/unit/raft/test_util.h"

using namespace raft;
using namespace raft::test;

namespace {
Message req(std::string ctx, NodeId from = kNone) {
  Message m = msg(MessageType::MsgReadIndex, from, kNone);
  m.entries.push_back(ent(0, 0, std::move(ctx)));
  return m;
}
}  // namespace

TEST_CASE("a read request is acknowledged by its leader at once", "[read_only]") {
  ReadOnly ro(ReadOnlyOption::Safe);
  ro.add_request(5, req("a"), 1);
  CHECK(ro.pending_count() == 1);
  CHECK(ro.last_pending_request_ctx() == "a");
  const auto* acks = ro.recv_ack(2, "a");
  REQUIRE(acks);
  CHECK(*acks == std::set<NodeId>{1, 2});
  CHECK(ro.recv_ack(3, "unknown") == nullptr);
}

TEST_CASE("a duplicate read context is recorded once", "[read_only]") {
  ReadOnly ro(ReadOnlyOption::Safe);
  ro.add_request(5, req("a", 2), 1);
  ro.add_request(7, req("a", 3), 1);
  CHECK(ro.pending_count() == 1);
  auto done = ro.advance("a");
  REQUIRE(done.size() == 1);
  CHECK(done[0].index == 5);
  CHECK(done[0].req.from == 2);
}

TEST_CASE("advancing a read answers every earlier read in order", "[read_only]") {
  ReadOnly ro(ReadOnlyOption::Safe);
  ro.add_request(1, req("a"), 1);
  ro.add_request(2, req("b"), 1);
  ro.add_request(3, req("c"), 1);
  CHECK(ro.last_pending_request_ctx() == "c");
  auto done = ro.advance("b");
  REQUIRE(done.size() == 2);
  CHECK(done[0].index == 1);
  CHECK(done[1].index == 2);
  CHECK(ro.pending_count() == 1);
  CHECK(ro.advance("zzz").empty());  // unknown: nothing moves
  CHECK(ro.pending_count() == 1);
  CHECK(ro.advance("c").size() == 1);
  CHECK(ro.last_pending_request_ctx().empty());
}

TEST_CASE("reset drops every pending read", "[read_only]") {
  ReadOnly ro(ReadOnlyOption::LeaseBased);
  CHECK(ro.option() == ReadOnlyOption::LeaseBased);
  ro.add_request(1, req("a"), 1);
  ro.reset();
  CHECK(ro.pending_count() == 0);
  CHECK(ro.recv_ack(2, "a") == nullptr);
}
