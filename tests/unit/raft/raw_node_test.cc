// RawNode: the application API — Ready contents, the persisted/unpersisted message split,
// advance and LightReady, application progress, and the errors returned as values.
#include <catch2/catch.hpp>

#include "raft/conf_change.h"
#include "raft/mem_storage.h"
#include "raft/raft.h"
#include "raft/raw_node.h"
#include "tests/unit/raft/test_util.h"

using namespace raft;
using namespace raft::test;

namespace {

using MT = MessageType;

struct Single {
  std::unique_ptr<MemStorage> store;
  std::unique_ptr<RawNode> node;
  explicit Single(std::vector<NodeId> voters = {1}, std::function<void(Config&)> tweak = {}) {
    use_throwing_panics();
    ConfState cs;
    cs.voters = std::move(voters);
    store = std::make_unique<MemStorage>(MemStorage::new_with_conf_state(cs));
    Config c;
    c.id = 1;
    if (tweak) tweak(c);
    auto n = RawNode::create(c, *store);
    REQUIRE(n.ok());
    node = std::move(*n);
  }
  // Persists a Ready the way an application does.
  void persist(const Ready& rd) {
    if (!rd.snapshot.empty()) REQUIRE(store->apply_snapshot(rd.snapshot).ok());
    store->append(rd.entries);
    if (rd.hard_state) store->set_hard_state(*rd.hard_state);
  }
};

bool has_type(const std::vector<Message>& ms, MT t) {
  for (const auto& m : ms) {
    if (m.msg_type == t) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("a fresh node has nothing ready", "[raw_node]") {
  Single s({1, 2, 3});
  CHECK_FALSE(s.node->has_ready());
}

TEST_CASE("create refuses an invalid config", "[raw_node]") {
  MemStorage store;
  Config c;  // id 0
  auto n = RawNode::create(c, store);
  REQUIRE_FALSE(n.ok());
  CHECK(n.code() == ErrorCode::ConfigInvalid);
}

TEST_CASE("a single voter's first Ready holds its election and needs a sync", "[raw_node]") {
  Single s;
  REQUIRE(s.node->campaign().ok());
  REQUIRE(s.node->has_ready());
  Ready rd = s.node->ready();
  REQUIRE(rd.soft_state);
  CHECK(rd.soft_state->raft_state == StateRole::Leader);
  CHECK(rd.soft_state->leader_id == 1);
  REQUIRE(rd.hard_state);
  CHECK(rd.hard_state->term == 1);
  CHECK(rd.hard_state->vote == 1);
  REQUIRE(rd.entries.size() == 1);  // the new leader's empty entry
  CHECK(rd.entries[0].term == 1);
  CHECK(rd.entries[0].data.empty());
  CHECK(rd.must_sync);
  // Not yet persisted: nothing to apply.
  CHECK(rd.committed_entries.empty());
  s.persist(rd);
  LightReady lr = s.node->advance(std::move(rd));
  REQUIRE(lr.commit_index);
  CHECK(*lr.commit_index == 1);
  REQUIRE(lr.committed_entries.size() == 1);
  CHECK(lr.committed_entries[0].index == 1);
  s.node->advance_apply();
  CHECK(s.node->status().applied == 1);
  CHECK_FALSE(s.node->has_ready());
}

TEST_CASE("proposals on a single voter are committed once persisted", "[raw_node]") {
  Single s;
  REQUIRE(s.node->campaign().ok());
  { Ready rd = s.node->ready(); s.persist(rd); (void)s.node->advance(std::move(rd)); s.node->advance_apply(); }
  REQUIRE(s.node->propose("ctx", "a").ok());
  REQUIRE(s.node->propose("", "b").ok());
  Ready rd = s.node->ready();
  REQUIRE(rd.entries.size() == 2);
  CHECK(rd.entries[0].data == "a");
  CHECK(rd.entries[0].context == "ctx");
  CHECK(rd.committed_entries.empty());
  CHECK(rd.must_sync);
  s.persist(rd);
  LightReady lr = s.node->advance(std::move(rd));
  REQUIRE(lr.committed_entries.size() == 2);
  CHECK(lr.committed_entries[1].data == "b");
  CHECK(lr.commit_index == std::optional<Index>(3));
}

TEST_CASE("advance_append defers committed entries to the next Ready", "[raw_node]") {
  Single s;
  REQUIRE(s.node->campaign().ok());
  Ready rd = s.node->ready();
  s.persist(rd);
  s.node->advance_append(std::move(rd));
  REQUIRE(s.node->has_ready());
  Ready next = s.node->ready();
  REQUIRE(next.committed_entries.size() == 1);
  CHECK(next.committed_entries[0].index == 1);
  REQUIRE(next.hard_state);
  CHECK(next.hard_state->commit == 1);
  CHECK_FALSE(next.must_sync);  // only the commit index changed
}

TEST_CASE("advance_apply_to reports partial application", "[raw_node]") {
  Single s;
  REQUIRE(s.node->campaign().ok());
  { Ready rd = s.node->ready(); s.persist(rd); (void)s.node->advance(std::move(rd)); s.node->advance_apply(); }
  for (int i = 0; i < 3; ++i) REQUIRE(s.node->propose("", "x").ok());
  Ready rd = s.node->ready();
  s.persist(rd);
  LightReady lr = s.node->advance(std::move(rd));
  REQUIRE(lr.committed_entries.size() == 3);  // indexes 2..4
  s.node->advance_apply_to(3);
  CHECK(s.node->status().applied == 3);
  CHECK_FALSE(s.node->has_ready());  // 4 was handed out already: not handed out twice
  s.node->advance_apply_to(4);
  CHECK(s.node->status().applied == 4);
}

TEST_CASE("messages split into sendable now and sendable after persisting", "[raw_node]") {
  Cluster c({1, 2, 3}, {}, [](Config& cfg) { cfg.pre_vote = false; });
  std::map<NodeId, std::vector<Ready>> seen;
  c.on_ready = [&](NodeId id, const Ready& rd) { seen[id].push_back(rd); };
  c.elect(1);
  // The candidate's vote requests wait for its term and vote to be durable.
  const Ready& first = seen[1].front();
  CHECK(first.messages.empty());
  CHECK(has_type(first.persisted_messages, MT::MsgRequestVote));
  // Votes are promises: they go out only after persisting.
  for (NodeId f : {2, 3}) {
    bool vote_seen = false;
    for (const auto& rd : seen[f]) {
      CHECK_FALSE(has_type(rd.messages, MT::MsgRequestVoteResponse));
      vote_seen = vote_seen || has_type(rd.persisted_messages, MT::MsgRequestVoteResponse);
    }
    CHECK(vote_seen);
  }
  seen.clear();
  REQUIRE(c.node(1).propose("", "p").ok());
  c.stabilize();
  // The leader's appends go out at once, in parallel with its own write.
  bool leader_append_now = false;
  for (const auto& rd : seen[1]) {
    CHECK_FALSE(has_type(rd.persisted_messages, MT::MsgAppend));
    leader_append_now = leader_append_now || has_type(rd.messages, MT::MsgAppend);
  }
  CHECK(leader_append_now);
  // Followers acknowledge only after persisting; commit-only Readies need no sync.
  bool ack_after = false, commit_only = false;
  for (const auto& rd : seen[2]) {
    CHECK_FALSE(has_type(rd.messages, MT::MsgAppendResponse));
    ack_after = ack_after || has_type(rd.persisted_messages, MT::MsgAppendResponse);
    if (!rd.entries.empty()) CHECK(rd.must_sync);
    if (rd.hard_state && rd.entries.empty() && rd.snapshot.empty()) {
      commit_only = true;
      CHECK_FALSE(rd.must_sync);
    }
  }
  CHECK(ack_after);
  CHECK(commit_only);
  CHECK(c.applied[3] == std::vector<std::string>{"p"});
}

TEST_CASE("a proposal on a follower without a leader is dropped", "[raw_node]") {
  Single s({1, 2, 3});
  auto r = s.node->propose("", "data");
  REQUIRE_FALSE(r.ok());
  CHECK(r.code() == ErrorCode::ProposalDropped);
  auto cc = s.node->propose_conf_change("", ConfChange{ConfChangeType::AddNode, 4, ""});
  CHECK(cc.code() == ErrorCode::ProposalDropped);
}

TEST_CASE("a proposal on a candidate is dropped", "[raw_node]") {
  Single s({1, 2, 3}, [](Config& c) { c.pre_vote = false; });
  REQUIRE(s.node->campaign().ok());
  CHECK(s.node->raft().state() == StateRole::Candidate);
  CHECK(s.node->propose("", "data").code() == ErrorCode::ProposalDropped);
}

TEST_CASE("stepping a local message from the network is refused", "[raw_node]") {
  auto t = GENERATE(MT::MsgHup, MT::MsgBeat, MT::MsgUnreachable, MT::MsgSnapStatus, MT::MsgCheckQuorum);
  CAPTURE(to_string(t));
  Single s({1, 2, 3});
  auto r = s.node->step(msg(t, 2, 1, 1));
  REQUIRE_FALSE(r.ok());
  CHECK(r.code() == ErrorCode::StepLocalMsg);
  CHECK(s.node->raft().state() == StateRole::Follower);
}

TEST_CASE("a response from an unknown peer is refused", "[raw_node]") {
  auto t = GENERATE(MT::MsgAppendResponse, MT::MsgHeartbeatResponse, MT::MsgRequestVoteResponse);
  CAPTURE(to_string(t));
  Single s({1, 2, 3});
  CHECK(s.node->step(msg(t, 9, 1, 1)).code() == ErrorCode::StepPeerNotFound);
}

TEST_CASE("a second pending conf change is refused", "[raw_node]") {
  Cluster c({1, 2, 3});
  c.elect(1);
  // Isolate the followers so the first change cannot commit.
  c.isolate(2);
  c.isolate(3);
  REQUIRE(c.node(1).propose_conf_change("", ConfChange{ConfChangeType::AddLearnerNode, 4, ""}).ok());
  c.stabilize();
  auto second = c.node(1).propose_conf_change("", ConfChange{ConfChangeType::AddLearnerNode, 5, ""});
  REQUIRE_FALSE(second.ok());
  CHECK(second.code() == ErrorCode::ProposalDropped);
  CHECK_THAT(second.error().message, Catch::Matchers::Contains("pending"));
  // Normal proposals still go through.
  CHECK(c.node(1).propose("", "x").ok());
  // Once the first is applied, a new one is accepted.
  c.recover();
  c.tick_and_stabilize(3);
  CHECK(c.raft(1).prs().is_member(4));
  CHECK(c.node(1).propose_conf_change("", ConfChange{ConfChangeType::AddLearnerNode, 5, ""}).ok());
}

TEST_CASE("an invalid conf change is refused when proposed", "[raw_node]") {
  Cluster c({1});
  c.elect(1);
  auto r = c.node(1).propose_conf_change("", ConfChange{ConfChangeType::RemoveNode, 1, ""});
  REQUIRE_FALSE(r.ok());
  CHECK(r.code() == ErrorCode::ConfigInvalid);  // never valid here: retrying is pointless
  ConfChangeV2 leave;  // leaving a joint configuration that does not exist
  CHECK(c.node(1).propose_conf_change("", leave).code() == ErrorCode::ConfigInvalid);
}

TEST_CASE("status reports role, hard state and, on the leader, progress", "[raw_node]") {
  Cluster c({1, 2, 3});
  c.elect(1);
  REQUIRE(c.node(1).propose("", "v").ok());
  c.stabilize();
  Status leader = c.node(1).status();
  CHECK(leader.id == 1);
  CHECK(leader.soft_state.raft_state == StateRole::Leader);
  CHECK(leader.soft_state.leader_id == 1);
  CHECK(leader.hard_state.term == c.raft(1).term());
  CHECK(leader.hard_state.commit == 2);
  CHECK(leader.applied == 2);
  CHECK(leader.last_index == 2);
  CHECK(leader.conf_state.voters == std::vector<NodeId>{1, 2, 3});
  REQUIRE(leader.progress.size() == 3);
  CHECK(leader.progress.at(2).matched == 2);
  CHECK(leader.progress.at(2).state == ProgressState::Replicate);
  Status follower = c.node(2).status();
  CHECK(follower.soft_state.raft_state == StateRole::Follower);
  CHECK(follower.soft_state.leader_id == 1);
  CHECK(follower.progress.empty());
}

TEST_CASE("report_unreachable moves a replicating follower back to probe", "[raw_node]") {
  Cluster c({1, 2, 3});
  c.elect(1);
  REQUIRE(c.node(1).status().progress.at(2).state == ProgressState::Replicate);
  c.node(1).report_unreachable(2);
  CHECK(c.node(1).status().progress.at(2).state == ProgressState::Probe);
}

TEST_CASE("read states come out in Ready on a single voter", "[raw_node]") {
  Single s;
  REQUIRE(s.node->campaign().ok());
  { Ready rd = s.node->ready(); s.persist(rd); (void)s.node->advance(std::move(rd)); s.node->advance_apply(); }
  s.node->read_index("req-1");
  REQUIRE(s.node->has_ready());
  Ready rd = s.node->ready();
  REQUIRE(rd.read_states.size() == 1);
  CHECK(rd.read_states[0] == ReadState{1, "req-1"});
}

TEST_CASE("Ready numbers increase", "[raw_node]") {
  Single s;
  REQUIRE(s.node->campaign().ok());
  Ready a = s.node->ready();
  s.persist(a);
  (void)s.node->advance(a);
  REQUIRE(s.node->propose("", "x").ok());
  Ready b = s.node->ready();
  CHECK(b.number > a.number);
}

TEST_CASE("a node restarted on its storage resumes its term, vote and commit", "[raw_node]") {
  Single s;
  REQUIRE(s.node->campaign().ok());
  { Ready rd = s.node->ready(); s.persist(rd); (void)s.node->advance(std::move(rd)); }
  REQUIRE(s.node->propose("", "x").ok());
  { Ready rd = s.node->ready(); s.persist(rd); auto lr = s.node->advance(std::move(rd)); if (lr.commit_index) s.store->set_commit(*lr.commit_index); }
  Config c;
  c.id = 1;
  c.applied = 1;
  auto again = RawNode::create(c, *s.store);
  REQUIRE(again.ok());
  Status st = (*again)->status();
  CHECK(st.hard_state.term == 1);
  CHECK(st.hard_state.vote == 1);
  CHECK(st.hard_state.commit == 2);
  CHECK(st.applied == 1);
  CHECK(st.soft_state.raft_state == StateRole::Follower);
  // The entry committed but not applied before the restart is handed out again.
  REQUIRE((*again)->has_ready());
  Ready rd = (*again)->ready();
  REQUIRE(rd.committed_entries.size() == 1);
  CHECK(rd.committed_entries[0].data == "x");
}

TEST_CASE("a stored commit beyond the log is refused at creation", "[raw_node]") {
  MemStorage store = MemStorage::new_with_conf_state(ConfState{{1}, {}, {}, {}, false});
  store.set_hard_state(HardState{1, 1, 5});
  Config c;
  c.id = 1;
  CHECK(RawNode::create(c, store).code() == ErrorCode::ConfigInvalid);
  store.set_hard_state(HardState{1, 1, 0});
  c.applied = 3;
  CHECK(RawNode::create(c, store).code() == ErrorCode::ConfigInvalid);
}

// The Ready driver writes a change of the commit index alone lazily, so a snapshot and its
// compaction can pass the commit on disk; a crash then leaves a stored commit below the first
// kept entry. Found by the simulation once it ran the production driver.
TEST_CASE("a stored commit below the snapshot is taken as the snapshot's index", "[raw_node]") {
  MemStorage store = MemStorage::new_with_conf_state(ConfState{{1}, {}, {}, {}, false});
  store.append({Entry{EntryType::Normal, 1, 1, {}, "a"}, Entry{EntryType::Normal, 1, 2, {}, "b"},
                Entry{EntryType::Normal, 1, 3, {}, "c"}, Entry{EntryType::Normal, 1, 4, {}, "d"}});
  store.set_hard_state(HardState{1, 1, 2});
  REQUIRE(store.create_snapshot(4, nullptr, "state@4").ok());
  REQUIRE(store.compact(5).ok());
  Config c;
  c.id = 1;
  c.applied = 4;
  auto n = RawNode::create(c, store);
  REQUIRE(n.ok());
  CHECK((*n)->raft().raft_log().committed() == 4);
  CHECK_FALSE((*n)->has_ready());  // nothing to apply again
}

// A lone voter acknowledged entry 3 (applied it) but its commit of 3 was never written: it
// restarts with commit 2. Answering a read at 2 would be stale; it waits for its new term's
// first entry to commit, which commits 3 again. Found by the simulation running the driver.
TEST_CASE("a lone voter with a lagging stored commit answers reads only once its term commits", "[raw_node]") {
  Single s({1});
  s.store->append({Entry{EntryType::Normal, 1, 1, {}, "a"}, Entry{EntryType::Normal, 1, 2, {}, "b"},
                   Entry{EntryType::Normal, 1, 3, {}, "c"}});
  s.store->set_hard_state(HardState{1, 1, 2});
  Config c;
  c.id = 1;
  auto n = RawNode::create(c, *s.store);
  REQUIRE(n.ok());
  RawNode& node = **n;
  REQUIRE(node.campaign().ok());
  REQUIRE(node.raft().state() == StateRole::Leader);
  node.read_index("r");
  std::vector<ReadState> reads;
  for (int i = 0; i < 10 && node.has_ready(); ++i) {
    Ready rd = node.ready();
    for (const auto& r : rd.read_states) reads.push_back(r);
    // Before the no-op of term 2 is persisted, no read may be answered at commit 2.
    if (!rd.entries.empty()) CHECK(reads.empty());
    s.persist(rd);
    (void)node.advance(std::move(rd));
    node.advance_apply();
  }
  REQUIRE(reads.size() == 1);
  CHECK(reads[0].index >= 4);  // the no-op of term 2, after entry 3
}

TEST_CASE("proposals beyond max_uncommitted_size are dropped until entries commit", "[raw_node]") {
  Single s({1}, [](Config& c) { c.max_uncommitted_size = 100; });
  REQUIRE(s.node->campaign().ok());
  { Ready rd = s.node->ready(); s.persist(rd); (void)s.node->advance(std::move(rd)); s.node->advance_apply(); }
  REQUIRE(s.node->propose("", std::string(60, 'a')).ok());
  auto r = s.node->propose("", std::string(60, 'b'));
  REQUIRE_FALSE(r.ok());
  CHECK(r.code() == ErrorCode::ProposalDropped);
  CHECK(s.node->propose("", "").ok());  // empty proposals are always accepted
  Ready rd = s.node->ready();
  s.persist(rd);
  LightReady lr = s.node->advance(std::move(rd));
  CHECK(lr.committed_entries.size() == 2);
  s.node->advance_apply();
  CHECK(s.node->propose("", std::string(60, 'b')).ok());  // the committed bytes were released
}

TEST_CASE("propose_batch appends every entry and sends them in one append per follower", "[raw_node]") {
  raft::set_panic_handler(&raft::throwing_panic_handler);
  raft::ConfState cs;
  cs.voters = {1, 2, 3};
  raft::MemStorage storage = raft::MemStorage::new_with_conf_state(cs);
  raft::Config cfg;
  cfg.id = 1;
  auto node = raft::RawNode::create(cfg, storage);
  REQUIRE(node.ok());
  auto& n = **node;
  n.raft().become_candidate();
  n.raft().become_leader();
  // Drain the leader's own Ready so that followers are known to be in sync.
  auto rd = n.ready();
  storage.append(rd.entries);
  (void)n.advance(std::move(rd));
  for (raft::NodeId id : {2, 3}) {
    raft::Message resp;
    resp.msg_type = raft::MessageType::MsgAppendResponse;
    resp.from = id;
    resp.to = 1;
    resp.term = n.raft().term();
    resp.index = n.raft().raft_log().last_index();
    REQUIRE(n.step(resp).ok());
  }
  (void)n.raft().take_msgs();
  const raft::Index before = n.raft().raft_log().last_index();

  std::vector<raft::Entry> batch(5);
  for (size_t i = 0; i < batch.size(); ++i) batch[i].data = "v" + std::to_string(i);
  REQUIRE(n.propose_batch(std::move(batch)).ok());

  CHECK(n.raft().raft_log().last_index() == before + 5);
  auto msgs = n.raft().take_msgs();
  size_t appends = 0;
  for (const auto& m : msgs) {
    if (m.msg_type != raft::MessageType::MsgAppend) continue;
    ++appends;
    CHECK(m.entries.size() == 5);
  }
  CHECK(appends == 2);
}
