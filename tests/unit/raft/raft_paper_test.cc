// Conformance with the Raft paper (Ongaro & Ousterhout, "In Search of an Understandable
// Consensus Algorithm") and the thesis chapters it leans on: one TEST_CASE per rule, driving
// Raft directly (test_util.h Node) or a small in-memory network of nodes.
#include <catch2/catch.hpp>

#include <random>

#include "tests/unit/raft/test_util.h"

using namespace raft;
using namespace raft::test;

namespace {

using MT = MessageType;

std::vector<Message> of_type(const std::vector<Message>& ms, MT t) {
  std::vector<Message> out;
  for (const auto& m : ms) {
    if (m.msg_type == t) out.push_back(m);
  }
  return out;
}

// Makes node n the leader of its term (no election traffic) and drops its first messages.
void make_leader(Node& n) {
  n->become_candidate();
  n->become_leader();
  (void)n.read_messages();
}

// Every follower acknowledges the leader's whole log: commits the leader's empty entry.
void ack_all(Node& n, const std::vector<NodeId>& followers) {
  for (NodeId f : followers) {
    Message m = msg(MT::MsgAppendResponse, f, n->id(), n->term());
    m.index = n->raft_log().last_index();
    (void)n->step(m);
  }
  (void)n.read_messages();
}

Message append(NodeId from, NodeId to, Term term, Index index, Term log_term, std::vector<Entry> es,
               Index commit = 0) {
  Message m = msg(MT::MsgAppend, from, to, term);
  m.index = index;
  m.log_term = log_term;
  m.entries = std::move(es);
  m.commit = commit;
  return m;
}

Message propose_msg(NodeId id, std::string data) {
  Message m = msg(MT::MsgPropose, id, id);
  m.entries.push_back(ent(0, 0, std::move(data)));
  return m;
}

std::vector<Term> log_terms(const Raft& r) {
  std::vector<Term> out;
  for (const auto& e : r.raft_log().all_entries()) out.push_back(e.term);
  return out;
}

void tick_times(Node& n, int times) {
  for (int i = 0; i < times; ++i) n->tick();
}

// A store holding `terms` as entries 1..n with the given hard-state term.
std::unique_ptr<MemStorage> log_store(std::vector<NodeId> voters, const std::vector<Term>& terms, Term term) {
  auto s = storage_with(0, 0, std::move(voters), ents(1, terms));
  s->set_hard_state(HardState{term, kNone, 0});
  return s;
}

}  // namespace

// Raft §5.1: "If one server's current term is smaller than the other's, then it updates its
// current term to the larger value. If a candidate or leader discovers that its term is out
// of date, it immediately reverts to follower state."
TEST_CASE("every role adopts a higher term from a message and becomes follower", "[raft_paper]") {
  auto role = GENERATE(StateRole::Follower, StateRole::Candidate, StateRole::PreCandidate, StateRole::Leader);
  CAPTURE(to_string(role));
  auto node_ptr = new_node(1, {1, 2, 3});
  Node& n = *node_ptr;
  switch (role) {
    case StateRole::Follower: n->become_follower(1, 2); break;
    case StateRole::Candidate: n->become_candidate(); break;
    case StateRole::PreCandidate: n->become_pre_candidate(); break;
    case StateRole::Leader: make_leader(n); break;
  }
  REQUIRE(n->step(append(2, 1, 5, 0, 0, {})).ok());
  CHECK(n->term() == 5);
  CHECK(n->state() == StateRole::Follower);
  CHECK(n->leader_id() == 2);
  CHECK(n->vote() == kNone);
}

// Raft §5.1: "If a server receives a request with a stale term number, it rejects the
// request."
TEST_CASE("a message with a stale term is ignored", "[raft_paper]") {
  auto node_ptr = new_node(1, {1, 2, 3});
  Node& n = *node_ptr;
  n->become_follower(2, 3);
  REQUIRE(n->step(append(2, 1, 1, 0, 0, ents(1, {1}), 1)).ok());
  CHECK(n->term() == 2);
  CHECK(n->leader_id() == 3);
  CHECK(n->raft_log().last_index() == 0);
  CHECK(n.read_messages().empty());
}

// Thesis §6.2/§9.6: with check-quorum or pre-vote a node never bumps its term on its own, so
// it must tell a stale leader about the newer term or the stale leader would never step down.
TEST_CASE("a stale leader's append is answered with the newer term under check-quorum", "[raft_paper]") {
  auto node_ptr = new_node(1, {1, 2, 3}, 10, 1, [](Config& c) { c.check_quorum = true; });
  Node& n = *node_ptr;
  n->become_follower(2, 3);
  REQUIRE(n->step(append(2, 1, 1, 0, 0, {})).ok());
  auto out = n.read_messages();
  REQUIRE(out.size() == 1);
  CHECK(out[0].msg_type == MT::MsgAppendResponse);
  CHECK(out[0].term == 2);
  // The stale leader steps down on it.
  auto stale = new_node(2, {1, 2, 3});
  make_leader(*stale);
  REQUIRE(stale->raft->term() == 1);
  REQUIRE(stale->raft->step(out[0]).ok());
  CHECK(stale->raft->state() == StateRole::Follower);
  CHECK(stale->raft->term() == 2);
}

// Raft §5.2: "When servers start up, they begin as followers."
TEST_CASE("nodes start as followers", "[raft_paper]") {
  auto node_ptr = new_node(1, {1, 2, 3});
  Node& n = *node_ptr;
  CHECK(n->state() == StateRole::Follower);
  CHECK(n->term() == 0);
  CHECK(n->leader_id() == kNone);
}

// Raft §5.2: "Leaders send periodic heartbeats (AppendEntries RPCs that carry no log
// entries) to all followers in order to maintain their authority."
TEST_CASE("a leader broadcasts heartbeats every heartbeat timeout", "[raft_paper]") {
  auto node_ptr = new_node(1, {1, 2, 3}, 10, 2);
  Node& n = *node_ptr;
  make_leader(n);
  n->tick();
  CHECK(of_type(n.read_messages(), MT::MsgHeartbeat).empty());
  n->tick();
  auto hb = of_type(n.read_messages(), MT::MsgHeartbeat);
  REQUIRE(hb.size() == 2);
  std::set<NodeId> to;
  for (const auto& m : hb) {
    to.insert(m.to);
    CHECK(m.term == 1);
    CHECK(m.entries.empty());
  }
  CHECK(to == std::set<NodeId>{2, 3});
}

// Raft §5.2: "If a follower receives no communication over a period of time called the
// election timeout, then it assumes there is no viable leader and begins an election";
// a candidate whose election times out starts a new one in a new term.
TEST_CASE("a follower or candidate starts an election on its election timeout", "[raft_paper]") {
  auto role = GENERATE(StateRole::Follower, StateRole::Candidate);
  CAPTURE(to_string(role));
  auto node_ptr = new_node(1, {1, 2, 3});
  Node& n = *node_ptr;
  if (role == StateRole::Follower) {
    n->become_follower(1, 2);
  } else {
    n->become_candidate();
  }
  (void)n.read_messages();
  tick_times(n, 2 * n->election_timeout());
  CHECK(n->term() == 2);
  CHECK(n->state() == StateRole::Candidate);
  CHECK(n->vote() == 1);
  auto votes = of_type(n.read_messages(), MT::MsgRequestVote);
  REQUIRE(votes.size() == 2);
  for (const auto& m : votes) CHECK(m.term == 2);
}

// Raft §5.2: "A candidate wins an election if it receives votes from a majority of the
// servers in the full cluster for the same term"; it loses when a majority refuses; otherwise
// it waits.
TEST_CASE("a candidate wins, loses or waits after one round of vote requests", "[raft_paper]") {
  using Votes = std::map<NodeId, bool>;
  auto [size, votes, want] = GENERATE(table<size_t, Votes, StateRole>({
      {1, {}, StateRole::Leader},
      {3, {{2, true}, {3, true}}, StateRole::Leader},
      {3, {{2, true}}, StateRole::Leader},
      {5, {{2, true}, {3, true}, {4, true}, {5, true}}, StateRole::Leader},
      {5, {{2, true}, {3, true}, {4, true}}, StateRole::Leader},
      {5, {{2, true}, {3, true}}, StateRole::Leader},
      {3, {{2, false}, {3, false}}, StateRole::Follower},
      {5, {{2, false}, {3, false}, {4, false}, {5, false}}, StateRole::Follower},
      {5, {{2, true}, {3, false}, {4, false}, {5, false}}, StateRole::Follower},
      {3, {}, StateRole::Candidate},
      {5, {{2, true}}, StateRole::Candidate},
      {5, {{2, false}, {3, false}}, StateRole::Candidate},
      {5, {}, StateRole::Candidate},
  }));
  CAPTURE(size, votes);
  std::vector<NodeId> ids;
  for (NodeId i = 1; i <= size; ++i) ids.push_back(i);
  auto node_ptr = new_node(1, ids);
  Node& n = *node_ptr;
  REQUIRE(n->step(msg(MT::MsgHup, 1, 1)).ok());
  for (const auto& [id, granted] : votes) {
    Message m = msg(MT::MsgRequestVoteResponse, id, 1, 1);
    m.reject = !granted;
    REQUIRE(n->step(m).ok());
  }
  CHECK(n->state() == want);
  CHECK(n->term() == 1);
}

// Raft §5.2: "Each server will vote for at most one candidate in a given term, on a
// first-come-first-served basis."
TEST_CASE("a follower votes for at most one candidate per term, first come first served", "[raft_paper]") {
  auto [voted, candidate, want_reject] = GENERATE(table<NodeId, NodeId, bool>({
      {kNone, 2, false}, {kNone, 3, false}, {2, 2, false}, {3, 3, false}, {2, 3, true}, {3, 2, true},
  }));
  CAPTURE(voted, candidate);
  auto store = storage_with(0, 0, {1, 2, 3});
  store->set_hard_state(HardState{1, voted, 0});
  auto node_ptr = new_node_on(std::move(store), cfg(1));
  Node& n = *node_ptr;
  REQUIRE(n->step(msg(MT::MsgRequestVote, candidate, 1, 1)).ok());
  auto out = n.read_messages();
  REQUIRE(out.size() == 1);
  CHECK(out[0].msg_type == MT::MsgRequestVoteResponse);
  CHECK(out[0].reject == want_reject);
  CHECK(n->vote() == (want_reject ? voted : candidate));
}

// Raft §5.2: "If the leader's term is at least as large as the candidate's current term,
// then the candidate recognizes the leader as legitimate and returns to follower state."
TEST_CASE("a candidate falls back to follower on an append from a valid leader", "[raft_paper]") {
  auto leader_term = GENERATE(Term{1}, Term{2});
  CAPTURE(leader_term);
  auto node_ptr = new_node(1, {1, 2, 3});
  Node& n = *node_ptr;
  n->become_candidate();
  REQUIRE(n->term() == 1);
  REQUIRE(n->step(append(2, 1, leader_term, 0, 0, {})).ok());
  CHECK(n->state() == StateRole::Follower);
  CHECK(n->term() == leader_term);
  CHECK(n->leader_id() == 2);
}

// Raft §5.2: "Raft uses randomized election timeouts to ensure that split votes are rare ...
// election timeouts are chosen randomly from a fixed interval."
TEST_CASE("election timeouts are randomized within the interval and differ between nodes", "[raft_paper]") {
  std::set<int> per_node_first;
  for (NodeId id = 1; id <= 5; ++id) {
    auto node_ptr = new_node(id, {1, 2, 3, 4, 5});
    Node& n = *node_ptr;
    per_node_first.insert(n->randomized_election_timeout());
    std::set<int> seen;
    for (int round = 0; round < 50; ++round) {
      n->become_follower(n->term() + 1, kNone);
      const int t = n->randomized_election_timeout();
      CHECK(t >= n->election_timeout());
      CHECK(t < 2 * n->election_timeout());
      seen.insert(t);
      // The node campaigns exactly when its timeout has passed.
      tick_times(n, t - 1);
      CHECK(n->state() == StateRole::Follower);
      n->tick();
      CHECK(n->state() == StateRole::Candidate);
    }
    CHECK(seen.size() >= 5);  // the draw is not stuck on a few values
  }
  CHECK(per_node_first.size() >= 2);  // different seeds, different timeouts
}

// Raft §5.3: "the leader appends the command to its log as a new entry, then issues
// AppendEntries RPCs in parallel to each of the other servers to replicate the entry."
TEST_CASE("a leader starts replication of a proposal", "[raft_paper]") {
  auto node_ptr = new_node(1, {1, 2, 3});
  Node& n = *node_ptr;
  make_leader(n);
  ack_all(n, {2, 3});
  REQUIRE(n->step(propose_msg(1, "some data")).ok());
  CHECK(n->raft_log().last_index() == 2);
  auto apps = of_type(n.read_messages(), MT::MsgAppend);
  REQUIRE(apps.size() == 2);
  for (const auto& m : apps) {
    CHECK(m.index == 1);
    CHECK(m.log_term == 1);
    CHECK(m.commit == 1);
    REQUIRE(m.entries.size() == 1);
    CHECK(m.entries[0] == ent(2, 1, "some data"));
  }
}

// Raft §5.3: "A log entry is committed once the leader that created the entry has
// replicated it on a majority of the servers."
TEST_CASE("a leader commits an entry once a majority stores it", "[raft_paper]") {
  auto node_ptr = new_node(1, {1, 2, 3});
  Node& n = *node_ptr;
  make_leader(n);
  ack_all(n, {2, 3});
  REQUIRE(n->step(propose_msg(1, "some data")).ok());
  (void)n.read_messages();
  CHECK(n->raft_log().committed() == 1);
  Message ack = msg(MT::MsgAppendResponse, 2, 1, 1);
  ack.index = 2;
  REQUIRE(n->step(ack).ok());
  CHECK(n->raft_log().committed() == 2);
  auto committed = n.apply_committed();
  REQUIRE(committed.size() == 2);
  CHECK(committed[1].data == "some data");
  // Followers learn the new commit index in the next appends.
  auto apps = of_type(n.read_messages(), MT::MsgAppend);
  REQUIRE_FALSE(apps.empty());
  for (const auto& m : apps) CHECK(m.commit == 2);
}

// Raft §5.3: "The leader keeps track of the highest index it knows to be committed, and it
// includes that index in future AppendEntries RPCs."
TEST_CASE("a leader commits once a quorum acknowledges and tells the followers", "[raft_paper]") {
  auto [size, acceptors, want_commit] = GENERATE(table<size_t, std::set<NodeId>, bool>({
      {1, {}, true},
      {3, {}, false},
      {3, {2}, true},
      {3, {2, 3}, true},
      {5, {}, false},
      {5, {2}, false},
      {5, {2, 3}, true},
      {5, {2, 3, 4}, true},
      {5, {2, 3, 4, 5}, true},
  }));
  CAPTURE(size, acceptors);
  std::vector<NodeId> ids;
  for (NodeId i = 1; i <= size; ++i) ids.push_back(i);
  auto node_ptr = new_node(1, ids);
  Node& n = *node_ptr;
  make_leader(n);
  std::vector<NodeId> followers(ids.begin() + 1, ids.end());
  ack_all(n, followers);
  REQUIRE(n->step(propose_msg(1, "x")).ok());
  (void)n.read_messages();
  const Index li = n->raft_log().last_index();
  for (NodeId a : acceptors) {
    Message m = msg(MT::MsgAppendResponse, a, 1, 1);
    m.index = li;
    REQUIRE(n->step(m).ok());
  }
  CHECK((n->raft_log().committed() == li) == want_commit);
  if (want_commit && size > 1) {
    auto apps = of_type(n.read_messages(), MT::MsgAppend);
    REQUIRE_FALSE(apps.empty());
    for (const auto& m : apps) CHECK(m.commit == li);
  }
}

// Raft §5.3: "This also commits all preceding entries in the leader's log, including
// entries created by previous leaders."
TEST_CASE("a leader commits preceding entries with the first entry of its term", "[raft_paper]") {
  auto prior = GENERATE(std::vector<Term>{}, std::vector<Term>{2}, std::vector<Term>{1, 2},
                        std::vector<Term>{1});
  CAPTURE(prior);
  auto node_ptr = new_node_on(log_store({1, 2, 3}, prior, 2), cfg(1));
  Node& n = *node_ptr;
  make_leader(n);  // term 3
  REQUIRE(n->step(propose_msg(1, "some data")).ok());
  (void)n.read_messages();
  const Index li = n->raft_log().last_index();
  REQUIRE(li == prior.size() + 2);
  for (NodeId f : {2, 3}) {
    Message m = msg(MT::MsgAppendResponse, f, 1, 3);
    m.index = li;
    REQUIRE(n->step(m).ok());
  }
  CHECK(n->raft_log().committed() == li);
  auto committed = n.apply_committed();
  REQUIRE(committed.size() == li);
  CHECK(committed.back().data == "some data");
}

// Raft §5.3: "Once a follower learns that a log entry is committed, it applies the entry to
// its local state machine (in log order)."
TEST_CASE("a follower commits entries up to the leader's commit index", "[raft_paper]") {
  auto [count, commit] = GENERATE(table<size_t, Index>({{1, 1}, {2, 2}, {2, 1}, {3, 2}, {3, 0}}));
  CAPTURE(count, commit);
  auto node_ptr = new_node(1, {1, 2, 3});
  Node& n = *node_ptr;
  n->become_follower(1, 2);
  std::vector<Entry> es;
  for (Index i = 1; i <= count; ++i) es.push_back(ent(i, 1, "d" + std::to_string(i)));
  REQUIRE(n->step(append(2, 1, 1, 0, 0, es, commit)).ok());
  (void)n.read_messages();
  CHECK(n->raft_log().committed() == commit);
  auto applied = n.apply_committed();
  REQUIRE(applied.size() == commit);
  for (size_t i = 0; i < applied.size(); ++i) CHECK(applied[i] == es[i]);
}

// Raft §5.3: "If the follower does not find an entry in its log with the same index and
// term, then it refuses the new entries." The rejection carries a hint (index, term) for
// fast backtracking.
TEST_CASE("a follower checks the previous index and term of an append", "[raft_paper]") {
  auto [log_term, index, want_index, want_reject, want_hint, want_hint_term] =
      GENERATE(table<Term, Index, Index, bool, Index, Term>({
          {0, 0, 1, false, 0, 0},  // below the commit index: everything there matches
          {1, 1, 1, false, 0, 0},
          {2, 2, 2, false, 0, 0},
          {1, 2, 2, true, 1, 1},   // term mismatch at 2: the hint skips the term-2 entries
          {3, 3, 3, true, 2, 2},   // past our end: the hint is our last entry
      }));
  CAPTURE(log_term, index);
  auto store = log_store({1, 2, 3}, {1, 2}, 2);
  store->set_hard_state(HardState{2, kNone, 1});
  auto node_ptr = new_node_on(std::move(store), cfg(1));
  Node& n = *node_ptr;
  n->become_follower(2, 2);
  REQUIRE(n->step(append(2, 1, 2, index, log_term, {}, 1)).ok());
  auto out = n.read_messages();
  REQUIRE(out.size() == 1);
  CHECK(out[0].msg_type == MT::MsgAppendResponse);
  CHECK(out[0].index == want_index);
  CHECK(out[0].reject == want_reject);
  if (want_reject) {
    CHECK(out[0].reject_hint == want_hint);
    CHECK(out[0].log_term == want_hint_term);
  }
}

// Raft §5.3: "If an existing entry conflicts with a new one (same index but different
// terms), delete the existing entry and all that follow it; append any new entries not
// already in the log."
TEST_CASE("a follower appends new entries and truncates conflicting ones", "[raft_paper]") {
  auto [index, term, es, want, want_unstable] =
      GENERATE(table<Index, Term, std::vector<Entry>, std::vector<Term>, std::vector<Term>>({
          {2, 2, ents(3, {3}), {1, 2, 3}, {3}},
          {1, 1, ents(2, {3, 4}), {1, 3, 4}, {3, 4}},
          {0, 0, ents(1, {1}), {1, 2}, {}},
          {0, 0, ents(1, {3}), {3}, {3}},
      }));
  CAPTURE(index, term, want);
  auto node_ptr = new_node_on(log_store({1, 2, 3}, {1, 2}, 2), cfg(1));
  Node& n = *node_ptr;
  n->become_follower(2, 2);
  REQUIRE(n->step(append(2, 1, 2, index, term, es)).ok());
  CHECK(log_terms(*n.raft) == want);
  std::vector<Term> unstable;
  for (const auto& e : n->raft_log().unstable_entries()) unstable.push_back(e.term);
  CHECK(unstable == want_unstable);
}

// Raft §5.3, Figure 7: whatever a follower's log looks like (missing entries a-b, extra
// uncommitted entries c-d, or both e-f), the leader brings it in line with its own.
TEST_CASE("a leader syncs every follower log of Figure 7", "[raft_paper]") {
  const std::vector<Term> leader_log{1, 1, 1, 4, 4, 5, 5, 6, 6, 6};
  auto [name, follower_log] = GENERATE(table<std::string, std::vector<Term>>({
      {"a", {1, 1, 1, 4, 4, 5, 5, 6, 6}},
      {"b", {1, 1, 1, 4}},
      {"c", {1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6}},
      {"d", {1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7}},
      {"e", {1, 1, 1, 4, 4, 4, 4}},
      {"f", {1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3}},
  }));
  CAPTURE(name);
  std::vector<std::unique_ptr<Node>> nodes;
  nodes.push_back(new_node_on(log_store({1, 2, 3}, leader_log, 7), cfg(1)));
  nodes.push_back(new_node_on(log_store({1, 2, 3}, follower_log, 7), cfg(2)));
  nodes.push_back(nullptr);  // node 3 is a black hole
  Network net(std::move(nodes));
  net.campaign(1);
  // Node 3 votes for 1 (the follower may refuse: its log can be more up to date).
  Message vote = msg(MT::MsgRequestVoteResponse, 3, 1, 8);
  net.send({vote});
  REQUIRE(net.raft(1).state() == StateRole::Leader);
  net.propose(1, "x");
  CHECK(net.raft(1).raft_log().all_entries() == net.raft(2).raft_log().all_entries());
  CHECK(net.raft(2).raft_log().committed() == net.raft(1).raft_log().committed());
  CHECK(net.raft(1).raft_log().committed() == leader_log.size() + 2);
}

// Raft §5.4.2, Figure 8: a leader cannot conclude that an entry from a previous term is
// committed once it is stored on a majority: another leader could still overwrite it.
TEST_CASE("a leader does not commit an entry of an earlier term by counting replicas", "[raft_paper]") {
  // S1 holds (2, term 2) from its reign in term 2; S5 holds (2, term 3) from its reign in
  // term 3; S2 got S1's entry; S3 and S4 only the first.
  std::vector<std::unique_ptr<Node>> nodes;
  const std::vector<NodeId> ids{1, 2, 3, 4, 5};
  nodes.push_back(new_node_on(log_store(ids, {1, 2}, 3), cfg(1)));
  nodes.push_back(new_node_on(log_store(ids, {1, 2}, 3), cfg(2)));
  nodes.push_back(new_node_on(log_store(ids, {1}, 3), cfg(3)));
  nodes.push_back(new_node_on(log_store(ids, {1}, 3), cfg(4)));
  nodes.push_back(new_node_on(log_store(ids, {1, 3}, 3), cfg(5)));
  Network net(std::move(nodes));
  // (c) S1 is elected in term 4 (S2, S3, S4 vote for it), but its appends are lost...
  net.ignore(MT::MsgAppend);
  net.campaign(1);
  REQUIRE(net.raft(1).state() == StateRole::Leader);
  REQUIRE(net.raft(1).term() == 4);
  // ...except that S2 and S3 now store the term-2 entry at index 2: a majority (S1-S3).
  for (NodeId f : {2, 3}) {
    Message ack = msg(MT::MsgAppendResponse, f, 1, 4);
    ack.index = 2;
    REQUIRE(net.raft(1).step(ack).ok());
  }
  CHECK(net.raft(1).raft_log().committed() < 2);  // not committed: it is of an earlier term
  // (d) S1 crashes; S5 is elected in term 5 with votes from S2, S3, S4 and replaces index 2.
  net.recover();
  net.isolate(1);
  net.campaign(5);
  REQUIRE(net.raft(5).state() == StateRole::Leader);
  for (NodeId id : {2, 3, 4}) {
    CAPTURE(id);
    CHECK(*net.raft(id).raft_log().term(2) == 3);
  }
  // Had S1 committed index 2, a committed entry would now be lost. S1 never applied it.
  CHECK(net.raft(1).raft_log().committed() < 2);
}

// Raft §5.4.1: "the voter denies its vote if its own log is more up-to-date than that of the
// candidate": later last term wins; with equal last terms, the longer log wins.
TEST_CASE("a vote is granted only to a candidate whose log is at least as up to date", "[raft_paper]") {
  auto [our_log, cand_last_term, cand_last_index, want_reject] =
      GENERATE(table<std::vector<Term>, Term, Index, bool>({
          {{1}, 1, 1, false},
          {{1}, 1, 2, false},
          {{1, 1}, 1, 1, true},   // same last term, shorter log
          {{1}, 2, 1, false},     // later last term
          {{1}, 2, 2, false},
          {{1, 1}, 2, 1, false},
          {{2}, 1, 1, true},      // earlier last term
          {{2}, 1, 2, true},
          {{2, 1}, 1, 1, true},
      }));
  CAPTURE(our_log, cand_last_term, cand_last_index);
  auto node_ptr = new_node_on(log_store({1, 2}, our_log, 2), cfg(1));
  Node& n = *node_ptr;
  Message m = msg(MT::MsgRequestVote, 2, 1, 3);
  m.log_term = cand_last_term;
  m.index = cand_last_index;
  REQUIRE(n->step(m).ok());
  auto out = n.read_messages();
  REQUIRE(out.size() == 1);
  CHECK(out[0].msg_type == MT::MsgRequestVoteResponse);
  CHECK(out[0].reject == want_reject);
}

// Raft §5.4.2: "Only log entries from the leader's current term are committed by counting
// replicas."
TEST_CASE("a leader only commits entries of its current term by counting replicas", "[raft_paper]") {
  auto [acked, want_commit] = GENERATE(table<Index, Index>({{1, 0}, {2, 0}, {3, 3}}));
  CAPTURE(acked);
  auto node_ptr = new_node_on(log_store({1, 2}, {1, 2}, 2), cfg(1));
  Node& n = *node_ptr;
  make_leader(n);  // term 3: the empty entry is index 3
  REQUIRE(n->raft_log().last_index() == 3);
  Message ack = msg(MT::MsgAppendResponse, 2, 1, n->term());
  ack.index = acked;
  REQUIRE(n->step(ack).ok());
  CHECK(n->raft_log().committed() == want_commit);
}

// Raft §5.3, Figure 3 (Leader Append-Only): "a leader never overwrites or deletes entries in
// its log; it only appends new entries."
TEST_CASE("a leader never overwrites or deletes its own entries", "[raft_paper]") {
  auto node_ptr = new_node_on(log_store({1, 2, 3}, {1, 1, 2}, 2), cfg(1));
  Node& n = *node_ptr;
  make_leader(n);
  const auto before = n->raft_log().all_entries();
  // Conflicting appends at its own term, or from an older term, change nothing.
  REQUIRE(n->step(append(2, 1, n->term(), 1, 1, ents(2, {3, 3, 3}))).ok());
  REQUIRE(n->step(append(2, 1, 1, 0, 0, ents(1, {1}), 1)).ok());
  // Rejections make the leader probe, never rewrite.
  Message rej = msg(MT::MsgAppendResponse, 2, 1, n->term());
  rej.reject = true;
  rej.index = 3;
  rej.reject_hint = 0;
  REQUIRE(n->step(rej).ok());
  CHECK(n->state() == StateRole::Leader);
  CHECK(n->raft_log().all_entries() == before);
  REQUIRE(n->step(propose_msg(1, "more")).ok());
  auto after = n->raft_log().all_entries();
  REQUIRE(after.size() == before.size() + 1);
  CHECK(std::equal(before.begin(), before.end(), after.begin()));
}

// Raft §5.3, Figure 3 (Log Matching): "if two logs contain an entry with the same index and
// term, then the logs are identical in all entries up through the given index." Checked
// after every step of a randomized run with partitions, elections and proposals.
TEST_CASE("logs that agree on an entry agree on every entry before it", "[raft_paper]") {
  auto seed = GENERATE(1, 2, 3, 4, 5);
  CAPTURE(seed);
  std::mt19937_64 rng(static_cast<uint64_t>(seed));
  Network net = Network::of(5);
  auto check_matching = [&] {
    for (NodeId a = 1; a <= 5; ++a) {
      for (NodeId b = a + 1; b <= 5; ++b) {
        const auto la = net.raft(a).raft_log().all_entries();
        const auto lb = net.raft(b).raft_log().all_entries();
        const size_t n = std::min(la.size(), lb.size());
        for (size_t i = n; i-- > 0;) {
          if (la[i].term == lb[i].term) {
            for (size_t j = 0; j <= i; ++j) REQUIRE(la[j] == lb[j]);
            break;
          }
        }
      }
    }
  };
  for (int step = 0; step < 150; ++step) {
    const NodeId who = 1 + rng() % 5;
    switch (rng() % 6) {
      case 0: net.campaign(who); break;
      case 1:
      case 2:
        if (net.raft(who).state() == StateRole::Leader) net.propose(who, "s" + std::to_string(step));
        break;
      case 3: net.recover(); net.isolate(who); break;
      case 4: net.recover(); net.cut(who, 1 + rng() % 5); break;
      default:
        for (NodeId id : net.ids()) net.raft(id).tick();
        net.flush();
        break;
    }
    check_matching();
  }
  // Healing lets everyone agree on the committed prefix.
  net.recover();
  for (int i = 0; i < 30; ++i) {
    for (NodeId id : net.ids()) net.raft(id).tick();
    net.flush();
  }
  check_matching();
}

// Thesis §9.6: with pre-vote, a node partitioned away does not increase its term, so when it
// rejoins it does not force the stable leader to step down.
TEST_CASE("pre-vote keeps a rejoining partitioned node from disrupting a stable leader", "[raft_paper]") {
  auto pre_vote = GENERATE(true, false);
  CAPTURE(pre_vote);
  Network net = Network::of(3, [pre_vote](Config& c) { c.pre_vote = pre_vote; });
  net.campaign(1);
  REQUIRE(net.raft(1).state() == StateRole::Leader);
  const Term term = net.raft(1).term();
  net.isolate(3);
  for (int i = 0; i < 50; ++i) {
    for (NodeId id : net.ids()) net.raft(id).tick();
    net.flush();
  }
  if (pre_vote) {
    CHECK(net.raft(3).term() == term);  // only pre-votes, which change nothing
  } else {
    CHECK(net.raft(3).term() > term);
  }
  net.recover();
  for (int i = 0; i < 2 * net.raft(1).election_timeout(); ++i) {
    for (NodeId id : net.ids()) net.raft(id).tick();
    net.flush();
  }
  if (pre_vote) {
    CHECK(net.raft(1).state() == StateRole::Leader);
    CHECK(net.raft(1).term() == term);
    CHECK(net.raft(3).leader_id() == 1);
  } else {
    // Without pre-vote the rejoining node's higher term deposes the leader.
    CHECK(net.raft(1).term() > term);
  }
}

// Thesis §6.2: "a leader steps down if an election timeout elapses without a successful
// round of heartbeats to a majority of its cluster."
TEST_CASE("check-quorum makes a leader that lost its quorum step down", "[raft_paper]") {
  Network net = Network::of(3, [](Config& c) { c.check_quorum = true; });
  net.campaign(1);
  REQUIRE(net.raft(1).state() == StateRole::Leader);
  // Connected: the leader survives many election timeouts.
  for (int i = 0; i < 3 * net.raft(1).election_timeout(); ++i) {
    net.raft(1).tick();
    net.flush();
  }
  CHECK(net.raft(1).state() == StateRole::Leader);
  net.isolate(1);
  for (int i = 0; i < 2 * net.raft(1).election_timeout() + 1; ++i) {
    net.raft(1).tick();
    net.flush();
  }
  CHECK(net.raft(1).state() == StateRole::Follower);
  CHECK(net.raft(1).leader_id() == kNone);
}

// Raft §5.3 (last paragraphs): with the conflicting term in the rejection, the leader skips
// a whole term of entries per round trip instead of one entry.
TEST_CASE("fast backtracking with reject hints converges in few round trips", "[raft_paper]") {
  std::vector<Term> leader_log{1}, follower_log{1};
  for (int i = 0; i < 50; ++i) leader_log.push_back(3);
  for (int i = 0; i < 100; ++i) follower_log.push_back(2);
  std::vector<std::unique_ptr<Node>> nodes;
  nodes.push_back(new_node_on(log_store({1, 2}, leader_log, 3), cfg(1)));
  nodes.push_back(new_node_on(log_store({1, 2}, follower_log, 3), cfg(2)));
  Network net(std::move(nodes));
  net.campaign(1);
  REQUIRE(net.raft(1).state() == StateRole::Leader);
  size_t rejections = 0, appends = 0;
  for (const auto& m : net.delivered) {
    rejections += m.msg_type == MT::MsgAppendResponse && m.reject;
    appends += m.msg_type == MT::MsgAppend;
  }
  CHECK(rejections <= 2);  // one entry at a time would take about 50
  CHECK(appends <= 4);
  CHECK(net.raft(2).raft_log().all_entries() == net.raft(1).raft_log().all_entries());
}

// Flow control, probe state: while the leader does not know where a follower's log ends it
// sends one append and waits (for an answer or the next heartbeat response).
TEST_CASE("a probing follower gets one append until it answers", "[raft_paper]") {
  auto node_ptr = new_node(1, {1, 2, 3});
  Node& n = *node_ptr;
  make_leader(n);
  REQUIRE(n->prs().get(2)->state == ProgressState::Probe);
  for (int i = 0; i < 3; ++i) REQUIRE(n->step(propose_msg(1, "p")).ok());
  auto to2 = [](const std::vector<Message>& ms) {
    size_t k = 0;
    for (const auto& m : ms) k += m.msg_type == MT::MsgAppend && m.to == 2;
    return k;
  };
  CHECK(to2(n.read_messages()) == 1);
  // A heartbeat round: the heartbeat response resumes the probe.
  n->tick();
  auto out = n.read_messages();
  CHECK(of_type(out, MT::MsgHeartbeat).size() == 2);
  CHECK(to2(out) == 0);
  REQUIRE(n->step(msg(MT::MsgHeartbeatResponse, 2, 1, n->term())).ok());
  CHECK(to2(n.read_messages()) == 1);
}

// Flow control, replicate state: appends are pipelined up to max_inflight_msgs; each
// acknowledgement opens the window again.
TEST_CASE("a replicating follower gets pipelined appends up to the inflight window", "[raft_paper]") {
  auto node_ptr = new_node(1, {1, 2}, 10, 1, [](Config& c) { c.max_inflight_msgs = 3; });
  Node& n = *node_ptr;
  make_leader(n);
  ack_all(n, {2});
  REQUIRE(n->prs().get(2)->state == ProgressState::Replicate);
  for (int i = 0; i < 10; ++i) REQUIRE(n->step(propose_msg(1, "p")).ok());
  auto apps = of_type(n.read_messages(), MT::MsgAppend);
  REQUIRE(apps.size() == 3);
  CHECK(n->prs().get(2)->ins.full());
  // Acknowledging the first frees one slot: exactly one more append goes out, carrying the rest.
  Message ack = msg(MT::MsgAppendResponse, 2, 1, n->term());
  ack.index = apps[0].entries.back().index;
  REQUIRE(n->step(ack).ok());
  auto more = of_type(n.read_messages(), MT::MsgAppend);
  REQUIRE(more.size() == 1);
  CHECK(more[0].entries.back().index == n->raft_log().last_index());
}

// Flow control: every append respects max_size_per_msg (and carries at least one entry).
TEST_CASE("appends respect the message size cap", "[raft_paper]") {
  Network net = Network::of(3, [](Config& c) { c.max_size_per_msg = 25; });
  net.campaign(1);
  net.isolate(3);
  for (int i = 0; i < 20; ++i) net.propose(1, std::string(10, 'a' + i % 26));
  net.recover();
  net.delivered.clear();
  for (int i = 0; i < 5; ++i) {
    net.raft(1).tick();
    net.flush();
  }
  size_t to3 = 0;
  for (const auto& m : net.delivered) {
    if (m.msg_type != MT::MsgAppend) continue;
    uint64_t bytes = 0;
    for (const auto& e : m.entries) bytes += e.payload_size();
    CHECK((bytes <= 25 || m.entries.size() == 1));
    to3 += m.to == 3 && !m.entries.empty();
  }
  CHECK(to3 >= 10);  // 21 entries at two per message
  CHECK(net.raft(3).raft_log().last_index() == net.raft(1).raft_log().last_index());
}

// Proposals need a leader: without one they are dropped, with a clear error.
TEST_CASE("proposals without a leader are dropped with ProposalDropped", "[raft_paper]") {
  auto role = GENERATE(StateRole::Follower, StateRole::Candidate, StateRole::PreCandidate);
  CAPTURE(to_string(role));
  auto node_ptr = new_node(1, {1, 2, 3});
  Node& n = *node_ptr;
  if (role == StateRole::Candidate) n->become_candidate();
  if (role == StateRole::PreCandidate) n->become_pre_candidate();
  auto r = n->step(propose_msg(1, "x"));
  REQUIRE_FALSE(r.ok());
  CHECK(r.code() == ErrorCode::ProposalDropped);
  CHECK(n->raft_log().last_index() == 0);
}

// Raft §8 / §5.4.2: "each leader commit[s] a blank no-op entry into the log at the start of
// its term", which also commits every earlier entry.
TEST_CASE("a new leader appends and commits an empty entry of its term", "[raft_paper]") {
  Network net = Network::of(3);
  net.campaign(1);
  REQUIRE(net.raft(1).state() == StateRole::Leader);
  for (NodeId id : {1, 2, 3}) {
    const auto es = net.raft(id).raft_log().all_entries();
    REQUIRE(es.size() == 1);
    CHECK(es[0].term == net.raft(1).term());
    CHECK(es[0].data.empty());
    CHECK(net.raft(id).raft_log().committed() == 1);
  }
  // A second leader does the same in its own term.
  net.campaign(2);
  REQUIRE(net.raft(2).state() == StateRole::Leader);
  const auto es = net.raft(3).raft_log().all_entries();
  REQUIRE(es.size() == 2);
  CHECK(es[1].term == net.raft(2).term());
  CHECK(net.raft(3).raft_log().committed() == 2);
}
