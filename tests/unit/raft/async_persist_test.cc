// Asynchronous persistence (Raft thesis §10.2.1): the application may take the next Ready
// before the previous one is written. Each entry and snapshot is handed out once (again only
// when a newer leader replaced it), and RawNode::on_persisted reports a written Ready.
#include <catch2/catch.hpp>

#include "tests/unit/raft/test_util.h"

using namespace raft;
using namespace raft::test;

namespace {
using MT = MessageType;

Message append_msg(NodeId from, NodeId to, Term term, Index index, Term log_term, std::vector<Entry> es,
                   Index commit = 0) {
  Message m = msg(MT::MsgAppend, from, to, term);
  m.index = index;
  m.log_term = log_term;
  m.entries = std::move(es);
  m.commit = commit;
  return m;
}

std::unique_ptr<RawNode> follower(MemStorage& store, NodeId id) {
  auto n = RawNode::create(cfg(id), store);
  REQUIRE(n.ok());
  return std::move(*n);
}
}  // namespace

TEST_CASE("a Ready taken before the previous one is persisted does not repeat its entries", "[raft][async]") {
  use_throwing_panics();
  Cluster c({1, 2, 3});
  c.elect(1);
  RawNode& leader = c.node(1);
  REQUIRE(leader.propose("", "a").ok());
  Ready rd1 = leader.ready();
  REQUIRE(rd1.entries.size() == 1);
  const Index first = rd1.entries[0].index;
  REQUIRE(leader.propose("", "b").ok());
  REQUIRE(leader.has_ready());
  Ready rd2 = leader.ready();
  REQUIRE(rd2.entries.size() == 1);
  CHECK(rd2.entries[0].index == first + 1);
  CHECK(rd2.entries[0].data == "b");
  // Nothing more to write until something new happens.
  const PersistMark m1 = RawNode::mark(rd1), m2 = RawNode::mark(rd2);
  CHECK(m1.last_index == first);
  CHECK(m2.last_index == first + 1);

  // Written in order, on "another thread": only then may the leader count its own copy.
  std::vector<Message> wire = rd1.messages;
  wire.insert(wire.end(), rd2.messages.begin(), rd2.messages.end());
  c.store(1).append(rd1.entries);
  leader.on_persisted(m1);
  c.store(1).append(rd2.entries);
  leader.on_persisted(m2);
  CHECK(leader.raft().raft_log().persisted() == first + 1);
  CHECK(leader.raft().raft_log().unstable_entries().empty());
  for (auto& m : wire) REQUIRE(c.node(m.to).step(m).ok());
  c.stabilize();
  for (NodeId id : {1, 2, 3}) {
    CAPTURE(id);
    CHECK(c.raft(id).raft_log().committed() == first + 1);
    REQUIRE(c.applied[id].size() >= 2);
    CHECK(c.applied[id][c.applied[id].size() - 2] == "a");
    CHECK(c.applied[id].back() == "b");
  }
}

TEST_CASE("entries replaced by a newer leader while being written are handed out again", "[raft][async]") {
  use_throwing_panics();
  auto store = storage_with(0, 0, {1, 2, 3});
  auto n = follower(*store, 2);
  REQUIRE(n->step(append_msg(1, 2, 1, 0, 0, ents(1, {1, 1, 1}))).ok());
  Ready rd1 = n->ready();
  REQUIRE(rd1.entries.size() == 3);
  // Before rd1 is written, a leader of term 2 replaces entries 2 and 3 with its entry 2.
  REQUIRE(n->step(append_msg(3, 2, 2, 1, 1, ents(2, {2}))).ok());
  Ready rd2 = n->ready();
  REQUIRE(rd2.entries.size() == 1);
  CHECK(rd2.entries[0].index == 2);
  CHECK(rd2.entries[0].term == 2);
  // rd1 lands first: its last entry (3 at term 1) is gone, so it makes nothing persisted
  // beyond what matches.
  store->append(rd1.entries);
  n->on_persisted(RawNode::mark(rd1));
  CHECK(n->raft().raft_log().persisted() == 0);
  store->append(rd2.entries);
  n->on_persisted(RawNode::mark(rd2));
  CHECK(n->raft().raft_log().persisted() == 2);
  CHECK(n->raft().raft_log().last_index() == 2);
  CHECK(n->raft().raft_log().unstable_entries().empty());
  CHECK_FALSE(n->raft().raft_log().has_next_unstable_entries());
}

TEST_CASE("a snapshot being written is not handed out again", "[raft][async]") {
  use_throwing_panics();
  auto store = storage_with(0, 0, {1, 2, 3});
  auto n = follower(*store, 2);
  Message sm = msg(MT::MsgSnapshot, 1, 2, 1);
  sm.snapshot = snap(10, 1, {1, 2, 3});
  REQUIRE(n->step(sm).ok());
  Ready rd1 = n->ready();
  REQUIRE_FALSE(rd1.snapshot.empty());
  Message hb = msg(MT::MsgHeartbeat, 1, 2, 1);
  hb.commit = 10;
  REQUIRE(n->step(hb).ok());
  Ready rd2 = n->ready();
  CHECK(rd2.snapshot.empty());
  CHECK(rd2.entries.empty());
  REQUIRE(store->apply_snapshot(rd1.snapshot).ok());
  n->on_persisted(RawNode::mark(rd1));
  CHECK_FALSE(n->raft().raft_log().has_pending_snapshot());
  CHECK(n->raft().raft_log().persisted() == 10);
}
