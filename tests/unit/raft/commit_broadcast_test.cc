// How a leader tells its followers a new commit index: once per follower for every batch of
// messages taken (Raft::take_msgs), however many acknowledgements moved it, riding on an
// append already queued for that follower when there is one; with lazy_commit_broadcast
// only on an append or heartbeat that goes out anyway, except for a committed conf change.
#include <catch2/catch.hpp>

#include <functional>
#include <map>

#include "raft/conf_change.h"
#include "tests/unit/raft/test_util.h"

using namespace raft;
using namespace raft::test;

namespace {
using MT = MessageType;

Message propose_msg(NodeId id, std::string data) {
  Message m = msg(MT::MsgPropose, id, id);
  m.entries.push_back(ent(0, 0, std::move(data)));
  return m;
}

Message ack(NodeId from, Index index, Term term) {
  Message m = msg(MT::MsgAppendResponse, from, 1, term);
  m.index = index;
  return m;
}

// A leader 1 of five voters whose followers all acknowledged its empty entry (index 1): they
// are in the replicate state and everything is committed and sent.
std::unique_ptr<Node> settled_leader(std::function<void(Config&)> tweak = {}) {
  auto n = new_node(1, {1, 2, 3, 4, 5}, 10, 1, std::move(tweak));
  (*n)->become_candidate();
  (*n)->become_leader();
  n->persist();
  const Term t = (*n)->term();
  for (NodeId f : {2, 3, 4, 5}) REQUIRE((*n)->step(ack(f, 1, t)).ok());
  REQUIRE((*n)->raft_log().committed() == 1);
  (void)n->read_messages();
  return n;
}

std::map<NodeId, std::vector<Message>> by_receiver(const std::vector<Message>& msgs) {
  std::map<NodeId, std::vector<Message>> out;
  for (const auto& m : msgs) out[m.to].push_back(m);
  return out;
}
}  // namespace

TEST_CASE("a commit index moved by several acknowledgements is told to each follower once", "[raft][commit]") {
  use_throwing_panics();
  auto np = settled_leader();
  Node& n = *np;
  const Term t = n->term();
  for (const char* d : {"a", "b", "c"}) REQUIRE(n->step(propose_msg(1, d)).ok());  // entries 2, 3, 4
  n.persist();
  (void)n.read_messages();  // the appends of the three entries

  // Acknowledgements that move the commit index three times (2, then 3, then 4).
  for (auto [from, index] : std::vector<std::pair<NodeId, Index>>{{2, 2}, {3, 2}, {2, 3}, {3, 3}, {4, 4}, {2, 4}}) {
    REQUIRE(n->step(ack(from, index, t)).ok());
  }
  REQUIRE(n->raft_log().committed() == 4);
  const auto msgs = n.read_messages();
  const auto per = by_receiver(msgs);
  CHECK(msgs.size() == 4);
  for (NodeId f : {2, 3, 4, 5}) {
    CAPTURE(f);
    REQUIRE(per.count(f) == 1);
    REQUIRE(per.at(f).size() == 1);
    const Message& m = per.at(f).front();
    CHECK(m.msg_type == MT::MsgAppend);
    CHECK(m.commit == 4);
    CHECK(m.entries.empty());  // everything was already sent to it
  }
  // Nothing more to tell until the commit index moves again.
  REQUIRE(n->step(ack(5, 4, t)).ok());
  CHECK(n.read_messages().empty());
}

TEST_CASE("a new commit index rides on the append already queued for a follower", "[raft][commit]") {
  use_throwing_panics();
  auto np = settled_leader();
  Node& n = *np;
  const Term t = n->term();
  REQUIRE(n->step(propose_msg(1, "a")).ok());  // entry 2
  n.persist();
  (void)n.read_messages();
  REQUIRE(n->step(propose_msg(1, "b")).ok());  // entry 3: its appends are queued, commit 1
  REQUIRE(n->step(ack(2, 2, t)).ok());
  REQUIRE(n->step(ack(3, 2, t)).ok());  // commit 2
  REQUIRE(n->raft_log().committed() == 2);
  const auto msgs = n->take_msgs();
  const auto per = by_receiver(msgs);
  CHECK(msgs.size() == 4);
  for (NodeId f : {2, 3, 4, 5}) {
    CAPTURE(f);
    REQUIRE(per.count(f) == 1);
    const Message& m = per.at(f).front();
    CHECK(m.msg_type == MT::MsgAppend);
    CHECK(m.commit == 2);
    REQUIRE(m.entries.size() == 1);
    CHECK(m.entries[0].index == 3);
  }
}

TEST_CASE("a commit index reached when the leader persists its own entries goes out with the advance", "[raft][commit]") {
  use_throwing_panics();
  Cluster c({1, 2, 3, 4, 5});
  c.elect(1);
  REQUIRE(c.node(1).propose("", "x").ok());
  Ready rd = c.node(1).ready();
  REQUIRE(rd.messages.size() == 4);
  const Index index = rd.entries.back().index;
  // Two followers persist and acknowledge before the leader's own write is done: with the
  // leader's copy not yet durable, that is no quorum of five.
  for (auto& m : rd.messages) {
    if (m.to != 2 && m.to != 3) continue;
    RawNode& f = c.node(m.to);
    REQUIRE(f.step(m).ok());
    Ready frd = f.ready();
    c.store(m.to).append(frd.entries);
    if (frd.hard_state) c.store(m.to).set_hard_state(*frd.hard_state);
    for (auto& resp : frd.persisted_messages) REQUIRE(c.node(1).step(resp).ok());
    (void)f.advance(std::move(frd));
    f.advance_apply();
  }
  CHECK(c.raft(1).raft_log().committed() < index);
  c.store(1).append(rd.entries);
  LightReady light = c.node(1).advance(std::move(rd));
  REQUIRE(light.commit_index);
  CHECK(*light.commit_index == index);
  const auto per = by_receiver(light.messages);
  for (NodeId f : {2, 3, 4, 5}) {
    CAPTURE(f);
    REQUIRE(per.count(f) == 1);
    CHECK(per.at(f).size() == 1);
    CHECK(per.at(f).front().commit == index);
  }
  for (auto& m : light.messages) REQUIRE(c.node(m.to).step(m).ok());
  c.node(1).advance_apply();
  c.stabilize();
  for (NodeId id : {1, 2, 3, 4, 5}) {
    CAPTURE(id);
    CHECK(c.raft(id).raft_log().committed() == index);
  }
}

TEST_CASE("with lazy_commit_broadcast a new commit index waits for the next append or heartbeat", "[raft][commit]") {
  use_throwing_panics();
  auto np = settled_leader([](Config& c) { c.lazy_commit_broadcast = true; });
  Node& n = *np;
  const Term t = n->term();
  REQUIRE(n->step(propose_msg(1, "a")).ok());  // entry 2
  n.persist();
  (void)n.read_messages();
  REQUIRE(n->step(ack(2, 2, t)).ok());
  REQUIRE(n->step(ack(3, 2, t)).ok());
  REQUIRE(n->raft_log().committed() == 2);
  CHECK(n.read_messages().empty());  // no follower is sent a message only for the commit

  // One message of `type` to each follower, telling it `commit_for(follower)`.
  auto check_one_each = [&](MT type, const std::function<Index(NodeId)>& commit_for) {
    const auto per = by_receiver(n.read_messages());
    for (NodeId f : {2, 3, 4, 5}) {
      CAPTURE(f);
      REQUIRE(per.count(f) == 1);
      const Message& m = per.at(f).front();
      CHECK(m.msg_type == type);
      CHECK(m.commit == commit_for(f));
    }
  };
  SECTION("the next append carries it") {
    REQUIRE(n->step(propose_msg(1, "b")).ok());  // entry 3
    check_one_each(MT::MsgAppend, [](NodeId) { return Index{2}; });
  }
  SECTION("the next heartbeat carries it to the followers that have the entry") {
    n->tick();  // heartbeat_tick 1
    // Never past what the follower is known to hold.
    check_one_each(MT::MsgHeartbeat, [](NodeId f) { return Index{(f == 2 || f == 3) ? 2u : 1u}; });
  }
}

TEST_CASE("with lazy_commit_broadcast a committed conf change is told to every follower at once", "[raft][commit]") {
  use_throwing_panics();
  auto np = settled_leader([](Config& c) { c.lazy_commit_broadcast = true; });
  Node& n = *np;
  const Term t = n->term();
  Message prop = msg(MT::MsgPropose, 1, 1);
  Entry cc;
  cc.type = EntryType::ConfChange;
  ConfChangeV2 add_learner;
  add_learner.changes.push_back({ConfChangeType::AddLearnerNode, 6});
  cc.data = encode_conf_change(add_learner);
  prop.entries.push_back(cc);
  REQUIRE(n->step(prop).ok());  // entry 2
  n.persist();
  (void)n.read_messages();
  REQUIRE(n->step(ack(2, 2, t)).ok());
  REQUIRE(n->step(ack(3, 2, t)).ok());
  REQUIRE(n->raft_log().committed() == 2);
  REQUIRE(n->raft_log().all_entries().back().type == EntryType::ConfChange);
  const auto per = by_receiver(n.read_messages());
  for (NodeId f : {2, 3, 4, 5}) {
    CAPTURE(f);
    REQUIRE(per.count(f) == 1);
    CHECK(per.at(f).front().msg_type == MT::MsgAppend);
    CHECK(per.at(f).front().commit == 2);
  }
}
