// Raft behaviours beyond the paper's rules: the persistence model of the leader's own log,
// heartbeat commit capping, and leaders leaving through joint consensus.
#include <catch2/catch.hpp>

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
}  // namespace

TEST_CASE("a leader counts its own log for commitment only once it is persisted", "[raft]") {
  auto np = new_node(1, {1, 2, 3});
  Node& n = *np;
  n->become_candidate();
  n->become_leader();
  // The empty entry is not persisted yet: one follower's ack is not a quorum.
  Message ack = msg(MT::MsgAppendResponse, 2, 1, 1);
  ack.index = 1;
  REQUIRE(n->step(ack).ok());
  CHECK(n->raft_log().committed() == 0);
  n.persist();  // on_persist_entries: now the leader's own copy counts
  CHECK(n->raft_log().committed() == 1);
  // The same for a proposal.
  REQUIRE(n->step(propose_msg(1, "x")).ok());
  ack.index = 2;
  REQUIRE(n->step(ack).ok());
  CHECK(n->raft_log().committed() == 1);
  n.persist();
  CHECK(n->raft_log().committed() == 2);
}

TEST_CASE("a single voter commits only what it persisted", "[raft]") {
  auto np = new_node(1, {1});
  Node& n = *np;
  REQUIRE(n->step(msg(MT::MsgHup, 1, 1)).ok());
  REQUIRE(n->state() == StateRole::Leader);
  CHECK(n->raft_log().committed() == 0);
  n.persist();
  CHECK(n->raft_log().committed() == 1);
}

TEST_CASE("a heartbeat never carries a commit index beyond the follower's match", "[raft]") {
  auto np = new_node(1, {1, 2, 3});
  Node& n = *np;
  n->become_candidate();
  n->become_leader();
  n.persist();
  Message ack = msg(MT::MsgAppendResponse, 2, 1, 1);
  ack.index = 1;
  REQUIRE(n->step(ack).ok());
  REQUIRE(n->raft_log().committed() == 1);
  (void)n.read_messages();
  REQUIRE(n->step(msg(MT::MsgBeat, 1, 1)).ok());
  for (const auto& m : n.read_messages()) {
    if (m.msg_type != MT::MsgHeartbeat) continue;
    CAPTURE(m.to);
    CHECK(m.commit == (m.to == 2 ? 1u : 0u));
  }
}

TEST_CASE("a leader removed through joint consensus leads until the joint state is left", "[raft]") {
  Cluster c({1, 2, 3});
  c.add_node(4);
  c.elect(1);
  ConfChangeV2 cc;
  cc.transition = ConfChangeTransition::Implicit;
  cc.changes = {{ConfChangeType::RemoveNode, 1}, {ConfChangeType::AddNode, 4}};
  REQUIRE(c.node(1).propose_conf_change("", cc).ok());
  std::vector<StateRole> roles_when_applied;
  c.on_ready = [&](NodeId id, const Ready& rd) {
    if (id != 1) return;
    for (const auto& e : rd.committed_entries) {
      if (e.type == EntryType::ConfChange) roles_when_applied.push_back(c.raft(1).state());
    }
  };
  c.stabilize();
  // Both changes (enter, then the automatic leave) were applied while node 1 still led.
  REQUIRE(roles_when_applied.size() == 2);
  CHECK(roles_when_applied[0] == StateRole::Leader);
  CHECK(roles_when_applied[1] == StateRole::Leader);
  CHECK(c.raft(1).state() == StateRole::Follower);
  CHECK_FALSE(c.raft(1).prs().is_member(1));
  for (NodeId id : {2, 3, 4}) CHECK(c.raft(id).prs().conf_state().voters == std::vector<NodeId>{2, 3, 4});
  // The remaining cluster elects a leader among its members.
  for (int i = 0; i < 60 && c.leader() != 2 && c.leader() != 3 && c.leader() != 4; ++i) c.tick_and_stabilize(1);
  const NodeId leader = c.leader();
  CAPTURE(leader);
  CHECK((leader == 2 || leader == 3 || leader == 4));
}
