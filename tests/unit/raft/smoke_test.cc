#include <catch2/catch.hpp>

#include <map>
#include <memory>

#include "raft/check.h"
#include "raft/conf_change.h"
#include "raft/mem_storage.h"
#include "raft/raft.h"
#include "raft/raw_node.h"

using namespace raft;

namespace {

struct Cluster {
  std::map<NodeId, std::unique_ptr<MemStorage>> stores;
  std::map<NodeId, std::unique_ptr<RawNode>> nodes;
  std::map<NodeId, std::vector<Entry>> applied;
  std::map<NodeId, std::vector<ReadState>> read_states;
  std::vector<Message> wire;

  explicit Cluster(std::vector<NodeId> ids) {
    set_panic_handler(&throwing_panic_handler);
    ConfState cs;
    cs.voters = ids;
    for (NodeId id : ids) {
      stores[id] = std::make_unique<MemStorage>(MemStorage::new_with_conf_state(cs));
      Config c;
      c.id = id;
      c.seed = id;
      auto n = RawNode::create(c, *stores[id]);
      REQUIRE(n.ok());
      nodes[id] = std::move(*n);
    }
  }

  void handle_ready(NodeId id) {
    auto& n = *nodes[id];
    auto& s = *stores[id];
    if (!n.has_ready()) return;
    Ready rd = n.ready();
    for (auto& m : rd.messages) wire.push_back(m);
    if (!rd.snapshot.empty()) REQUIRE(s.apply_snapshot(rd.snapshot).ok());
    s.append(rd.entries);
    if (rd.hard_state) s.set_hard_state(*rd.hard_state);
    for (auto& m : rd.persisted_messages) wire.push_back(m);
    for (auto& r : rd.read_states) read_states[id].push_back(r);
    for (auto& e : rd.committed_entries) apply(id, e);
    LightReady lr = n.advance(std::move(rd));
    if (lr.commit_index) s.set_commit(*lr.commit_index);
    for (auto& m : lr.messages) wire.push_back(m);
    for (auto& e : lr.committed_entries) apply(id, e);
    n.advance_apply();
  }

  void add(NodeId id, const ConfState& cs) {
    stores[id] = std::make_unique<MemStorage>(MemStorage::new_with_conf_state(cs));
    Config c;
    c.id = id;
    c.seed = id;
    auto n = RawNode::create(c, *stores[id]);
    REQUIRE(n.ok());
    nodes[id] = std::move(*n);
  }

  void apply(NodeId id, const Entry& e) {
    if (e.type == EntryType::ConfChange) {
      auto cc = decode_conf_change(e.data);
      REQUIRE(cc.ok());
      stores[id]->set_conf_state(nodes[id]->apply_conf_change(*cc));
    }
    applied[id].push_back(e);
  }

  void stabilize() {
    for (int round = 0; round < 1000; ++round) {
      for (auto& [id, n] : nodes) handle_ready(id);
      if (wire.empty()) return;
      auto msgs = std::exchange(wire, {});
      for (auto& m : msgs) {
        auto it = nodes.find(m.to);
        if (it != nodes.end()) (void)it->second->step(m);
      }
    }
    FAIL("cluster did not stabilize");
  }
};

}  // namespace

TEST_CASE("three nodes elect a leader and replicate proposals", "[smoke]") {
  Cluster c({1, 2, 3});
  REQUIRE(c.nodes[1]->campaign().ok());
  c.stabilize();
  CHECK(c.nodes[1]->status().soft_state.raft_state == StateRole::Leader);
  CHECK(c.nodes[2]->status().soft_state.leader_id == 1);
  for (int i = 0; i < 10; ++i) REQUIRE(c.nodes[1]->propose("", "v" + std::to_string(i)).ok());
  c.stabilize();
  for (NodeId id : {1, 2, 3}) {
    CAPTURE(id);
    REQUIRE(c.applied[id].size() == 11);  // the leader's empty entry + 10
    CHECK(c.applied[id].back().data == "v9");
  }
}

TEST_CASE("a follower forwards proposals to the leader", "[smoke]") {
  Cluster c({1, 2, 3});
  REQUIRE(c.nodes[1]->campaign().ok());
  c.stabilize();
  REQUIRE(c.nodes[3]->propose("", "from3").ok());
  c.stabilize();
  CHECK(c.applied[2].back().data == "from3");
}

TEST_CASE("ticks alone elect a leader", "[smoke]") {
  Cluster c({1, 2, 3, 4, 5});
  for (int t = 0; t < 100; ++t) {
    for (auto& [id, n] : c.nodes) n->tick();
    c.stabilize();
  }
  int leaders = 0;
  for (auto& [id, n] : c.nodes) leaders += n->status().soft_state.raft_state == StateRole::Leader;
  CHECK(leaders == 1);
}

TEST_CASE("read index on the leader and a follower", "[smoke]") {
  Cluster c({1, 2, 3});
  REQUIRE(c.nodes[1]->campaign().ok());
  c.stabilize();
  REQUIRE(c.nodes[1]->propose("", "x").ok());
  c.stabilize();
  c.nodes[2]->read_index("ctx2");
  c.nodes[1]->read_index("ctx1");
  c.stabilize();
  // Both requests are answered with the commit index (the leader's empty entry and "x").
  REQUIRE(c.read_states[1].size() == 1);
  CHECK(c.read_states[1][0].request_ctx == "ctx1");
  CHECK(c.read_states[1][0].index == 2);
  REQUIRE(c.read_states[2].size() == 1);
  CHECK(c.read_states[2][0].request_ctx == "ctx2");
  CHECK(c.read_states[2][0].index == 2);
  CHECK(c.read_states[3].empty());
}

TEST_CASE("add a voter and a learner by conf change", "[smoke]") {
  Cluster c({1});
  // Nodes 2 and 3 start from the same initial membership and learn the rest from the log.
  for (NodeId id : {2, 3}) c.add(id, ConfState{{1}, {}, {}, {}, false});
  REQUIRE(c.nodes[1]->campaign().ok());
  c.stabilize();
  CHECK(c.nodes[1]->status().soft_state.raft_state == StateRole::Leader);
  REQUIRE(c.nodes[1]->propose_conf_change("", ConfChange{ConfChangeType::AddNode, 2, ""}).ok());
  c.stabilize();
  REQUIRE(c.nodes[1]->propose_conf_change("", ConfChange{ConfChangeType::AddLearnerNode, 3, ""}).ok());
  c.stabilize();
  const ConfState want{{1, 2}, {3}, {}, {}, false};
  for (NodeId id : {1, 2, 3}) {
    CAPTURE(id);
    CHECK(c.nodes[id]->status().conf_state == want);
    CHECK(c.stores[id]->conf_state() == want);
  }
  REQUIRE(c.nodes[1]->propose("", "after").ok());
  c.stabilize();
  CHECK(c.applied[3].back().data == "after");
}
