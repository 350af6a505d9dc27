// Membership changes (joint consensus, learners, removal), snapshots, ReadIndex and leader
// transfer: the second half of the core (Raft thesis chapters 4, 5, 6 and §3.10).
#include <catch2/catch.hpp>

#include "raft/conf_change.h"
#include "tests/unit/raft/test_util.h"

using namespace raft;
using namespace raft::test;

namespace {

using MT = MessageType;
using CT = ConfChangeType;
using TR = ConfChangeTransition;

ConfChangeV2 v2(TR tr, std::vector<ConfChangeSingle> changes) {
  ConfChangeV2 cc;
  cc.transition = tr;
  cc.changes = std::move(changes);
  return cc;
}

ConfChange single(CT t, NodeId id) { return ConfChange{t, id, ""}; }

size_t count(const std::vector<Message>& ms, MT t, NodeId to = kNone) {
  size_t n = 0;
  for (const auto& m : ms) n += m.msg_type == t && (to == kNone || m.to == to);
  return n;
}

// A Raft node over storage holding membership `cs`.
std::unique_ptr<Node> node_with_conf(NodeId id, const ConfState& cs, std::function<void(Config&)> tweak = {}) {
  auto store = std::make_unique<MemStorage>(MemStorage::new_with_conf_state(cs));
  Config c = cfg(id);
  if (tweak) tweak(c);
  return new_node_on(std::move(store), c);
}

void make_leader(Node& n) {
  n->become_candidate();
  n->become_leader();
  (void)n.read_messages();
}

void ack(Node& n, NodeId from, Index index) {
  Message m = msg(MT::MsgAppendResponse, from, n->id(), n->term());
  m.index = index;
  REQUIRE(n->step(m).ok());
}

Message read_index_msg(std::string ctx) {
  Message m = msg(MT::MsgReadIndex, kNone, kNone);
  m.entries.push_back(ent(0, 0, std::move(ctx)));
  return m;
}

// Ticks the cluster until one of `candidates` leads, within a bound of two election rounds
// (the hand-off by MsgTimeoutNow is not guaranteed: its target may not have applied the
// change yet, and then waits for its election timeout). Returns the leader or kNone.
NodeId await_leader(Cluster& c, std::set<NodeId> candidates) {
  for (int i = 0; i < 60; ++i) {
    const NodeId l = c.leader();
    if (candidates.count(l)) return l;
    c.tick_and_stabilize(1);
  }
  return c.leader();
}

std::vector<NodeId> voters_of(Cluster& c, NodeId id) { return c.raft(id).prs().conf_state().voters; }

}  // namespace

// --- Learners (thesis §4.2.1). ---

TEST_CASE("a learner's acknowledgement does not count for commitment", "[membership]") {
  auto np = node_with_conf(1, ConfState{{1, 2}, {3}, {}, {}, false});
  Node& n = *np;
  make_leader(n);
  ack(n, 3, n->raft_log().last_index());
  CHECK(n->raft_log().committed() == 0);  // 1 of the 2 voters, plus a learner: no quorum
  ack(n, 2, n->raft_log().last_index());
  CHECK(n->raft_log().committed() == 1);
}

TEST_CASE("a learner's vote does not count", "[membership]") {
  auto np = node_with_conf(1, ConfState{{1, 2}, {3}, {}, {}, false});
  Node& n = *np;
  REQUIRE(n->step(msg(MT::MsgHup, 1, 1)).ok());
  auto out = n.read_messages();
  CHECK(count(out, MT::MsgRequestVote, 3) == 0);  // learners are not asked
  REQUIRE(n->step(msg(MT::MsgRequestVoteResponse, 3, 1, 1)).ok());
  CHECK(n->state() == StateRole::Candidate);
  REQUIRE(n->step(msg(MT::MsgRequestVoteResponse, 2, 1, 1)).ok());
  CHECK(n->state() == StateRole::Leader);
}

TEST_CASE("a learner never campaigns", "[membership]") {
  Cluster c({1, 2}, {3});
  c.elect(1);
  const Term term = c.raft(1).term();
  c.isolate(1);
  for (int i = 0; i < 100; ++i) c.tick(3);
  c.stabilize();
  CHECK(c.raft(3).state() == StateRole::Follower);
  CHECK(c.raft(3).term() == term);
  REQUIRE(c.node(3).campaign().ok());  // even when asked
  CHECK(c.raft(3).state() == StateRole::Follower);
}

TEST_CASE("a learner receives the log and applies it", "[membership]") {
  Cluster c({1, 2}, {3});
  c.elect(1);
  REQUIRE(c.node(1).propose("", "v").ok());
  c.stabilize();
  CHECK(c.applied[3] == std::vector<std::string>{"v"});
  CHECK(c.node(1).status().progress.at(3).is_learner);
}

TEST_CASE("a learner promoted to voter votes and counts", "[membership]") {
  Cluster c({1, 2}, {3});
  c.elect(1);
  REQUIRE(c.node(1).propose_conf_change("", single(CT::AddNode, 3)).ok());
  c.stabilize();
  for (NodeId id : {1, 2, 3}) CHECK(voters_of(c, id) == std::vector<NodeId>{1, 2, 3});
  CHECK_FALSE(c.raft(3).is_learner());
  // Its acknowledgement now commits with the leader's while 2 is away.
  c.isolate(2);
  REQUIRE(c.node(1).propose("", "w").ok());
  c.stabilize();
  CHECK(c.applied[3] == std::vector<std::string>{"w"});
  CHECK(c.applied[1] == std::vector<std::string>{"w"});
  // And it may become leader.
  c.recover();
  c.stabilize();
  REQUIRE(c.node(1).propose("", "sync").ok());
  c.stabilize();
  c.node(1).transfer_leader(3);
  c.stabilize();
  CHECK(c.leader() == 3);
}

// --- Removal and the leader stepping down. ---

TEST_CASE("a leader removed from the configuration steps down when it applies the change", "[membership]") {
  Cluster c({1, 2, 3});
  c.elect(1);
  REQUIRE(c.node(1).propose_conf_change("", single(CT::RemoveNode, 1)).ok());
  c.stabilize();
  CHECK(c.raft(1).state() == StateRole::Follower);
  CHECK(count(c.delivered, MT::MsgTimeoutNow) == 1);
  const NodeId leader = await_leader(c, {2, 3});
  CAPTURE(leader);
  REQUIRE((leader == 2 || leader == 3));
  CHECK(voters_of(c, 2) == std::vector<NodeId>{2, 3});
  REQUIRE(c.node(leader).propose("", "after").ok());
  c.stabilize();
  CHECK(c.applied[2].back() == "after");
  CHECK(c.applied[3].back() == "after");
  // The removed node's proposals are not accepted by anyone.
  CHECK(c.node(1).propose("", "x").ok() == (c.raft(1).leader_id() != kNone));
}

TEST_CASE("a removed leader hands over to a caught-up voter without an election timeout", "[membership]") {
  // The leader applies its own removal first and sends MsgTimeoutNow at once; the target has
  // usually not applied the change yet and must still campaign once it has.
  Cluster c({1, 2, 3});
  c.elect(1);
  REQUIRE(c.node(1).propose_conf_change("", single(CT::RemoveNode, 1)).ok());
  c.stabilize();  // no ticks: no election timeout can elapse
  const NodeId leader = c.leader();
  CAPTURE(leader);
  CHECK((leader == 2 || leader == 3));
}

TEST_CASE("a transfer target with a committed but unapplied conf change campaigns once it applied it", "[membership]") {
  auto np = node_with_conf(2, ConfState{{1, 2, 3}, {}, {}, {}, false});
  Node& n = *np;
  // Leader 1 replicates a conf change (adding learner 4) and commits it in the same append.
  Entry cc = ent(1, 1);
  cc.type = EntryType::ConfChange;
  cc.data = encode_conf_change(as_v2(single(CT::AddLearnerNode, 4)));
  Message app = msg(MT::MsgAppend, 1, 2, 1);
  app.entries = {cc};
  app.commit = 1;
  REQUIRE(n->step(app).ok());
  (void)n.read_messages();
  REQUIRE(n->raft_log().committed() == 1);
  REQUIRE(n->step(msg(MT::MsgTimeoutNow, 1, 2, 1)).ok());
  CHECK(n->state() == StateRole::Follower);  // not before the change is applied
  // The application applies the entry, then reports it applied (RawNode::advance_apply).
  const auto committed = n->raft_log().next_committed_entries();
  REQUIRE(committed.size() == 1);
  n->raft_log().applying_to(1);
  (void)n->apply_conf_change(*decode_conf_change(committed[0].data));
  CHECK(n->state() == StateRole::Follower);
  n->applied_to(1);
  CHECK(n->state() == StateRole::Candidate);
  CHECK(n->term() == 2);
  auto out = n.read_messages();
  CHECK(count(out, MT::MsgRequestVote) == 2);
  for (const auto& m : out) CHECK(m.context == std::string(kCampaignTransfer));
}

TEST_CASE("a leader demoted to learner steps down when the joint state is left", "[membership]") {
  Cluster c({1, 2, 3});
  c.elect(1);
  std::vector<StateRole> roles_while_joint;
  REQUIRE(c.node(1).propose_conf_change("", v2(TR::Implicit, {{CT::AddLearnerNode, 1}})).ok());
  c.stabilize();
  // Applied: enter joint (1 in learners_next, still leading), then the automatic leave.
  REQUIRE(c.conf_states[1].size() == 2);
  CHECK(c.conf_states[1][0].learners_next == std::vector<NodeId>{1});
  CHECK(c.conf_states[1][1].learners == std::vector<NodeId>{1});
  CHECK(c.conf_states[1][1].voters == std::vector<NodeId>{2, 3});
  CHECK(c.raft(1).state() == StateRole::Follower);
  CHECK(c.raft(1).is_learner());
  const NodeId leader = await_leader(c, {2, 3});
  CHECK((leader == 2 || leader == 3));
}

TEST_CASE("a removed node's vote requests are ignored while the leader is heard from", "[membership]") {
  // Node 1 has applied the removal of 3 and hears from leader 2; 3 did not hear of its
  // removal and campaigns with a higher term and a more up-to-date log.
  auto np = node_with_conf(1, ConfState{{1, 2}, {}, {}, {}, false}, [](Config& c) { c.check_quorum = true; });
  Node& n = *np;
  n->become_follower(1, 2);
  auto type = GENERATE(MT::MsgRequestVote, MT::MsgRequestPreVote);
  CAPTURE(to_string(type));
  Message vote = msg(type, 3, 1, 5);
  vote.index = 10;
  vote.log_term = 4;
  REQUIRE(n->step(vote).ok());
  CHECK(n.read_messages().empty());
  CHECK(n->term() == 1);
  CHECK(n->leader_id() == 2);
  CHECK(n->vote() == kNone);
}

TEST_CASE("a node that knows no configuration grants no vote", "[membership]") {
  // A voter that lost its storage restarts empty: it may already have voted in the
  // candidate's term, so its vote must not count again (docs/membership.md "Amnesia").
  auto np = new_node(3, {});
  Node& n = *np;
  auto type = GENERATE(MT::MsgRequestVote, MT::MsgRequestPreVote);
  CAPTURE(to_string(type));
  Message vote = msg(type, 1, 3, 5);
  vote.index = 10;
  vote.log_term = 4;
  REQUIRE(n->step(vote).ok());
  CHECK(n.read_messages().empty());  // no grant (and no rejection: its term may be 0)
  CHECK(n->vote() == kNone);
}

TEST_CASE("a removed node does not disrupt the remaining cluster", "[membership]") {
  Cluster c({1, 2, 3});
  c.elect(1);
  c.isolate(3);  // 3 never learns that it was removed
  REQUIRE(c.node(1).propose_conf_change("", single(CT::RemoveNode, 3)).ok());
  c.stabilize();
  REQUIRE(voters_of(c, 1) == std::vector<NodeId>{1, 2});
  const Term term = c.raft(1).term();
  c.recover();
  c.tick_and_stabilize(100);
  CHECK(c.raft(3).state() != StateRole::Leader);
  CHECK(c.leader() == 1);
  CHECK(c.raft(1).term() == term);
  CHECK(c.raft(2).term() == term);
}

// --- Joint consensus (thesis §4.3). ---

TEST_CASE("a joint configuration needs both majorities to commit", "[membership]") {
  auto np = node_with_conf(1, ConfState{{1, 2, 3}, {}, {1, 4, 5}, {}, false});
  Node& n = *np;
  make_leader(n);
  const Index li = n->raft_log().last_index();
  ack(n, 2, li);
  ack(n, 3, li);
  CHECK(n->raft_log().committed() == 0);  // incoming majority only
  ack(n, 4, li);
  CHECK(n->raft_log().committed() == li);
}

TEST_CASE("a joint configuration needs both majorities to elect", "[membership]") {
  auto outgoing_vote = GENERATE(true, false);
  CAPTURE(outgoing_vote);
  auto np = node_with_conf(1, ConfState{{1, 2, 3}, {}, {1, 4, 5}, {}, false});
  Node& n = *np;
  REQUIRE(n->step(msg(MT::MsgHup, 1, 1)).ok());
  auto out = n.read_messages();
  for (NodeId id : {2, 3, 4, 5}) CHECK(count(out, MT::MsgRequestVote, id) == 1);
  REQUIRE(n->step(msg(MT::MsgRequestVoteResponse, 2, 1, 1)).ok());
  REQUIRE(n->step(msg(MT::MsgRequestVoteResponse, 3, 1, 1)).ok());
  CHECK(n->state() == StateRole::Candidate);  // incoming won, outgoing pending
  for (NodeId id : {4, 5}) {
    Message m = msg(MT::MsgRequestVoteResponse, id, 1, 1);
    m.reject = !outgoing_vote;
    REQUIRE(n->step(m).ok());
    if (outgoing_vote) break;
  }
  CHECK(n->state() == (outgoing_vote ? StateRole::Leader : StateRole::Follower));
}

TEST_CASE("replacing a node in one change goes through the joint state and leaves it automatically", "[membership]") {
  Cluster c({1, 2, 3});
  c.add_node(4);
  c.elect(1);
  REQUIRE(c.node(1).propose_conf_change("", v2(TR::Auto, {{CT::AddNode, 4}, {CT::RemoveNode, 3}})).ok());
  c.stabilize();
  for (NodeId id : {1, 2, 4}) {
    CAPTURE(id);
    REQUIRE(c.conf_states[id].size() == 2);
    const ConfState& joint = c.conf_states[id][0];
    CHECK(joint.voters == std::vector<NodeId>{1, 2, 4});
    CHECK(joint.voters_outgoing == std::vector<NodeId>{1, 2, 3});
    CHECK(joint.auto_leave);
    CHECK(c.conf_states[id][1] == ConfState{{1, 2, 4}, {}, {}, {}, false});
  }
  // The leader proposed the leave itself: an empty ConfChangeV2 in the log.
  bool leave_entry = false;
  for (const auto& e : c.raft(1).raft_log().all_entries()) {
    if (e.type != EntryType::ConfChange) continue;
    auto cc = decode_conf_change(e.data);
    REQUIRE(cc.ok());
    leave_entry = leave_entry || cc->leave_joint();
  }
  CHECK(leave_entry);
  // The new configuration works without 3.
  c.isolate(3);
  REQUIRE(c.node(1).propose("", "v").ok());
  c.stabilize();
  CHECK(c.applied[4] == std::vector<std::string>{"v"});
}

TEST_CASE("an explicit joint change waits for the application to leave it", "[membership]") {
  Cluster c({1, 2, 3});
  c.add_node(4);
  c.elect(1);
  REQUIRE(c.node(1).propose_conf_change("", v2(TR::Explicit, {{CT::AddNode, 4}})).ok());
  c.tick_and_stabilize(3);
  CHECK(c.raft(1).prs().config().voters.is_joint());
  CHECK(c.conf_states[1].size() == 1);
  // Commitment in the joint state needs both halves: without 2 and 3 nothing commits.
  c.isolate(2);
  c.isolate(3);
  const Index commit = c.raft(1).raft_log().committed();
  REQUIRE(c.node(1).propose("", "stuck").ok());
  c.stabilize();
  CHECK(c.raft(1).raft_log().committed() == commit);
  c.recover();
  c.tick_and_stabilize(2);  // the next heartbeat round re-sends what 2 and 3 missed
  CHECK(c.applied[4] == std::vector<std::string>{"stuck"});
  // A second membership change is refused until the joint state is left.
  CHECK(c.node(1).propose_conf_change("", single(CT::AddLearnerNode, 5)).code() == ErrorCode::ProposalDropped);
  REQUIRE(c.node(1).propose_conf_change("", ConfChangeV2{}).ok());
  c.stabilize();
  CHECK_FALSE(c.raft(1).prs().config().voters.is_joint());
  CHECK(voters_of(c, 4) == std::vector<NodeId>{1, 2, 3, 4});
}

// --- Snapshots (thesis chapter 5). ---

TEST_CASE("a follower that needs compacted entries gets a snapshot", "[membership]") {
  Cluster c({1, 2, 3});
  c.elect(1);
  c.isolate(3);
  for (int i = 0; i < 10; ++i) REQUIRE(c.node(1).propose("", "v" + std::to_string(i)).ok());
  c.stabilize();
  const Index applied = c.raft(1).raft_log().applied();
  ConfState cs = c.raft(1).prs().conf_state();
  REQUIRE(c.store(1).create_snapshot(applied, &cs, "state@" + std::to_string(applied)).ok());
  REQUIRE(c.store(1).compact(applied).ok());
  c.recover();
  c.tick_and_stabilize(3);
  CHECK(count(c.delivered, MT::MsgSnapshot, 3) == 1);
  CHECK(c.raft(3).raft_log().last_index() == c.raft(1).raft_log().last_index());
  CHECK(c.store(3).snapshot(0)->data == "state@" + std::to_string(applied));
  CHECK(c.store(3).conf_state() == cs);
  CHECK(c.node(1).status().progress.at(3).state == ProgressState::Replicate);
  // Replication goes on normally after the snapshot.
  REQUIRE(c.node(1).propose("", "after").ok());
  c.stabilize();
  CHECK(c.applied[3].back() == "after");
}

TEST_CASE("report_snapshot moves the follower back to probing", "[membership]") {
  auto failed = GENERATE(true, false);
  CAPTURE(failed);
  // Leader log: snapshot at 10 (term 1), entry 11.
  auto np = new_node_on(storage_with(10, 1, {1, 2}, ents(11, {1})), cfg(1));
  Node& n = *np;
  make_leader(n);
  // 2 rejects the first probe with an empty-log hint: it needs entries before 11.
  Message rej = msg(MT::MsgAppendResponse, 2, 1, n->term());
  rej.reject = true;
  rej.index = 11;
  rej.reject_hint = 0;
  REQUIRE(n->step(rej).ok());
  auto out = n.read_messages();
  REQUIRE(count(out, MT::MsgSnapshot, 2) == 1);
  CHECK(n->prs().get(2)->state == ProgressState::Snapshot);
  CHECK(n->prs().get(2)->pending_snapshot == 10);
  // Nothing more goes to 2 while the snapshot is in flight.
  n->tick();
  CHECK(count(n.read_messages(), MT::MsgAppend, 2) == 0);
  Message status = msg(MT::MsgSnapStatus, 2, 1);
  status.reject = failed;
  REQUIRE(n->step(status).ok());
  const Progress* pr = n->prs().get(2);
  CHECK(pr->state == ProgressState::Probe);
  CHECK(pr->next_idx == (failed ? 1 : 11));  // after the snapshot, or from scratch
  CHECK(pr->is_paused());                    // until the next heartbeat response
}

TEST_CASE("a snapshot that is not newer than the commit index is ignored", "[membership]") {
  auto snap_index = GENERATE(Index{2}, Index{3});
  CAPTURE(snap_index);
  auto store = storage_with(0, 0, {1, 2}, ents(1, {1, 1, 1, 1}));
  store->set_hard_state(HardState{1, kNone, 3});
  auto np = new_node_on(std::move(store), cfg(2));
  Node& n = *np;
  Message m = msg(MT::MsgSnapshot, 1, 2, 1);
  m.snapshot = snap(snap_index, 1, {1, 2, 3});
  REQUIRE(n->step(m).ok());
  CHECK_FALSE(n->raft_log().has_pending_snapshot());
  CHECK(n->raft_log().last_index() == 4);
  CHECK(n->prs().conf_state().voters == std::vector<NodeId>{1, 2});
  auto out = n.read_messages();
  REQUIRE(count(out, MT::MsgAppendResponse, 1) == 1);
  CHECK(out[0].index == 3);
}

TEST_CASE("a follower restores its membership from a snapshot", "[membership]") {
  auto np = node_with_conf(2, ConfState{{1, 2}, {}, {}, {}, false});
  Node& n = *np;
  Message m = msg(MT::MsgSnapshot, 1, 2, 2);
  m.snapshot = snap(20, 2, {1, 2, 3}, {4});
  REQUIRE(n->step(m).ok());
  REQUIRE(n->raft_log().has_pending_snapshot());
  CHECK(n->raft_log().committed() == 20);
  CHECK(n->prs().conf_state() == ConfState{{1, 2, 3}, {4}, {}, {}, false});
  auto out = n.read_messages();  // persists the snapshot
  CHECK(n.store->conf_state() == ConfState{{1, 2, 3}, {4}, {}, {}, false});
  REQUIRE(count(out, MT::MsgAppendResponse, 1) == 1);
  CHECK(out[0].index == 20);
  CHECK(n->raft_log().first_index() == 21);
}

// --- ReadIndex (thesis §6.4). ---

TEST_CASE("a leader answers a read only after committing an entry of its term and a heartbeat quorum", "[membership]") {
  auto np = new_node(1, {1, 2, 3});
  Node& n = *np;
  make_leader(n);
  REQUIRE(n->step(read_index_msg("r1")).ok());
  auto out = n.read_messages();
  CHECK(count(out, MT::MsgHeartbeat) == 0);  // held back: the leader's empty entry is not committed
  CHECK(n->read_states().empty());
  ack(n, 2, 1);  // commits the empty entry: the held request proceeds
  out = n.read_messages();
  std::vector<Message> hbs;
  for (const auto& m : out) {
    if (m.msg_type == MT::MsgHeartbeat && m.context == "r1") hbs.push_back(m);
  }
  CHECK(hbs.size() == 2);
  CHECK(n->read_states().empty());  // not before a quorum confirms the leadership
  Message resp = msg(MT::MsgHeartbeatResponse, 3, 1, n->term());
  resp.context = "r1";
  REQUIRE(n->step(resp).ok());
  REQUIRE(n->read_states().size() == 1);
  CHECK(n->read_states()[0] == ReadState{1, "r1"});
}

TEST_CASE("a follower forwards read requests to the leader", "[membership]") {
  Cluster c({1, 2, 3});
  c.elect(1);
  REQUIRE(c.node(1).propose("", "v").ok());
  c.stabilize();
  c.node(3).read_index("from-3");
  c.stabilize();
  CHECK(count(c.delivered, MT::MsgReadIndex, 1) == 1);
  REQUIRE(c.read_states[3].size() == 1);
  CHECK(c.read_states[3][0] == ReadState{2, "from-3"});
  CHECK(c.read_states[1].empty());
}

TEST_CASE("a read request without a known leader is dropped", "[membership]") {
  Cluster c({1, 2, 3});
  c.node(2).read_index("lost");
  c.stabilize();
  CHECK(c.delivered.empty());
  CHECK(c.read_states[2].empty());
}

TEST_CASE("read index after a leader change waits for the new leader's entry", "[membership]") {
  Cluster c({1, 2, 3});
  c.elect(1);
  REQUIRE(c.node(1).propose("", "a").ok());
  c.stabilize();
  c.node(1).transfer_leader(2);
  c.stabilize();
  REQUIRE(c.leader() == 2);
  c.node(3).read_index("after-change");
  c.node(2).read_index("on-leader");
  c.stabilize();
  const Index commit = c.raft(2).raft_log().committed();
  REQUIRE(c.read_states[3].size() == 1);
  CHECK(c.read_states[3][0].index == commit);  // includes the new leader's empty entry
  REQUIRE(c.read_states[2].size() == 1);
  CHECK(c.read_states[2][0].index == commit);
}

TEST_CASE("lease-based reads skip the heartbeat round", "[membership]") {
  auto np = new_node(1, {1, 2, 3}, 10, 1, [](Config& c) {
    c.check_quorum = true;
    c.read_only_option = ReadOnlyOption::LeaseBased;
  });
  Node& n = *np;
  make_leader(n);
  ack(n, 2, 1);
  (void)n.read_messages();
  REQUIRE(n->step(read_index_msg("fast")).ok());
  CHECK(count(n.read_messages(), MT::MsgHeartbeat) == 0);
  REQUIRE(n->read_states().size() == 1);
  CHECK(n->read_states()[0] == ReadState{1, "fast"});
}

TEST_CASE("lease-based reads are refused without check-quorum", "[membership]") {
  Config c = cfg(1);
  c.read_only_option = ReadOnlyOption::LeaseBased;
  c.check_quorum = false;
  MemStorage store = MemStorage::new_with_conf_state(ConfState{{1}, {}, {}, {}, false});
  CHECK(Raft::create(c, store).code() == ErrorCode::ConfigInvalid);
}

// --- Leader transfer (thesis §3.10). ---

TEST_CASE("transfer to an up-to-date follower sends MsgTimeoutNow at once", "[membership]") {
  Cluster c({1, 2, 3});
  c.elect(1);
  c.node(1).transfer_leader(2);
  c.stabilize();
  CHECK(count(c.delivered, MT::MsgTimeoutNow, 2) == 1);
  CHECK(c.leader() == 2);
  CHECK(c.raft(1).state() == StateRole::Follower);
  CHECK(c.raft(1).leader_id() == 2);
}

TEST_CASE("transfer to a lagging follower catches it up first and refuses proposals meanwhile", "[membership]") {
  Cluster c({1, 2, 3});
  c.elect(1);
  c.isolate(3);
  for (int i = 0; i < 5; ++i) REQUIRE(c.node(1).propose("", "v").ok());
  c.stabilize();
  c.node(1).transfer_leader(3);
  CHECK(c.raft(1).lead_transferee() == 3);
  CHECK(count(c.delivered, MT::MsgTimeoutNow) == 0);
  auto r = c.node(1).propose("", "during");
  REQUIRE_FALSE(r.ok());
  CHECK(r.code() == ErrorCode::ProposalDropped);
  c.recover();
  c.tick_and_stabilize(3);
  CHECK(c.leader() == 3);
  CHECK(c.raft(3).raft_log().committed() >= 7);
}

TEST_CASE("a transfer that does not finish within an election timeout is abandoned", "[membership]") {
  Cluster c({1, 2, 3});
  c.elect(1);
  c.isolate(3);
  REQUIRE(c.node(1).propose("", "v").ok());
  c.stabilize();
  c.node(1).transfer_leader(3);
  REQUIRE(c.raft(1).lead_transferee() == 3);
  for (int i = 0; i < c.raft(1).election_timeout(); ++i) {
    c.tick(1);
    c.stabilize();
  }
  CHECK(c.raft(1).lead_transferee() == kNone);
  CHECK(c.raft(1).state() == StateRole::Leader);
  CHECK(c.node(1).propose("", "again").ok());
}

TEST_CASE("transfer to a learner is ignored", "[membership]") {
  Cluster c({1, 2}, {3});
  c.elect(1);
  c.node(1).transfer_leader(3);
  CHECK(c.raft(1).lead_transferee() == kNone);
  c.stabilize();
  CHECK(c.leader() == 1);
  CHECK(count(c.delivered, MT::MsgTimeoutNow) == 0);
}

TEST_CASE("transfer requested on a follower moves leadership to the named node", "[membership]") {
  Cluster c({1, 2, 3});
  c.elect(1);
  c.node(2).transfer_leader(3);
  c.stabilize();
  CHECK(c.leader() == 3);
}

TEST_CASE("transfer to the current leader or a non-member does nothing", "[membership]") {
  Cluster c({1, 2, 3});
  c.elect(1);
  c.node(1).transfer_leader(1);
  c.node(1).transfer_leader(9);
  CHECK(c.raft(1).lead_transferee() == kNone);
  c.stabilize();
  CHECK(c.leader() == 1);
}
