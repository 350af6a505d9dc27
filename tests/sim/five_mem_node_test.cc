// A port of raft-rs examples/five_mem_node: five RawNode<MemStorage> in one process talking
// through in-memory mailboxes. Node 1 starts as the only voter (from a snapshot holding that
// membership) and becomes leader; nodes 2..5 exist only as mailboxes until their first
// initial message (a vote request, or a heartbeat with commit 0) creates their RawNode on an
// empty MemStorage. Conf changes add 2..5 one at a time, then 100 "put" proposals are
// committed and applied everywhere, and the five key-value maps must be identical.
//
// raft-rs runs one thread per node with 10 ms sleeps and a tick every 100 ms; here one loop
// visits the nodes in turn and ticks every 10 iterations, which is the same protocol without
// the threads (and deterministic).
#include <catch2/catch.hpp>

#include <deque>
#include <list>
#include <set>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "raft/check.h"
#include "raft/conf_change.h"
#include "raft/mem_storage.h"
#include "raft/raft.h"
#include "raft/raw_node.h"

using namespace raft;

namespace {

constexpr int kNumNodes = 5;

Config example_config(NodeId id) {
  Config c;
  c.id = id;
  c.election_tick = 10;
  c.heartbeat_tick = 3;
  c.seed = id;
  return c;
}

// A client request waiting to be proposed on the leader and then applied.
struct Proposal {
  std::optional<std::pair<uint16_t, std::string>> normal;  // put key value
  std::optional<ConfChange> conf_change;
  Index proposed = 0;  // the log index it went to, 0 while not proposed
  std::optional<bool> success;
};

struct Node {
  std::unique_ptr<MemStorage> storage;
  std::unique_ptr<RawNode> raft_group;  // null until the node is initialized
  std::deque<Message> mailbox;
  std::map<uint16_t, std::string> kv_pairs;
};

bool is_initial_msg(const Message& m) {
  return m.msg_type == MessageType::MsgRequestVote || m.msg_type == MessageType::MsgRequestPreVote ||
         (m.msg_type == MessageType::MsgHeartbeat && m.commit == 0);
}

class FiveMemNode {
 public:
  FiveMemNode() {
    set_panic_handler(&throwing_panic_handler);
    for (NodeId id = 1; id <= kNumNodes; ++id) nodes_[id].storage = std::make_unique<MemStorage>();
    // Node 1 starts alone, from a snapshot whose membership is just itself.
    Snapshot s;
    s.metadata.index = 1;
    s.metadata.term = 1;
    s.metadata.conf_state.voters = {1};
    REQUIRE(nodes_[1].storage->apply_snapshot(s).ok());
    auto rn = RawNode::create(example_config(1), *nodes_[1].storage);
    REQUIRE(rn.ok());
    nodes_[1].raft_group = std::move(*rn);
  }

  // One pass over every node: deliver its mail, tick, propose (leader), handle its Ready.
  void iterate() {
    ++iteration_;
    for (auto& [id, node] : nodes_) {
      while (!node.mailbox.empty()) {
        Message m = std::move(node.mailbox.front());
        node.mailbox.pop_front();
        step(id, node, std::move(m));
      }
      if (!node.raft_group) continue;
      if (iteration_ % 10 == 0) node.raft_group->tick();
      if (node.raft_group->raft().state() == StateRole::Leader) {
        for (auto& p : proposals_) {
          if (p.proposed == 0) propose(*node.raft_group, p);
        }
      }
      on_ready(node);
    }
  }

  // Queues a proposal and runs until it is applied on the leader (true) or refused (false).
  bool submit(Proposal p) {
    proposals_.push_back(std::move(p));
    Proposal* mine = &proposals_.back();
    for (int i = 0; i < 10000; ++i) {
      iterate();
      if (mine->success) {
        const bool ok = *mine->success;
        proposals_.remove_if([mine](const Proposal& q) { return &q == mine; });
        return ok;
      }
    }
    FAIL("a proposal was neither applied nor refused within 10000 iterations");
    return false;
  }

  std::map<NodeId, Node>& nodes() { return nodes_; }

 private:
  void step(NodeId id, Node& node, Message m) {
    if (!node.raft_group) {
      if (!is_initial_msg(m)) return;
      // Created by its first message: empty storage, no membership; the leader sends it a
      // snapshot with everything.
      auto rn = RawNode::create(example_config(id), *node.storage);
      REQUIRE(rn.ok());
      node.raft_group = std::move(*rn);
    }
    (void)node.raft_group->step(std::move(m));
  }

  static void propose(RawNode& rn, Proposal& p) {
    const Index before = rn.raft().raft_log().last_index() + 1;
    if (p.normal) {
      (void)rn.propose("", "put " + std::to_string(p.normal->first) + " " + p.normal->second);
    } else if (p.conf_change) {
      (void)rn.propose_conf_change("", *p.conf_change);
    }
    const Index after = rn.raft().raft_log().last_index() + 1;
    if (after == before) {
      p.success = false;  // refused: tell the client at once
    } else {
      p.proposed = before;
    }
  }

  void send(std::vector<Message>& msgs) {
    for (auto& m : msgs) nodes_.at(m.to).mailbox.push_back(std::move(m));
    msgs.clear();
  }

  void apply(Node& node, std::vector<Entry>& entries) {
    for (Entry& e : entries) {
      if (e.data.empty()) continue;  // a new leader's empty entry
      if (e.type == EntryType::ConfChange) {
        auto cc = decode_conf_change(e.data);
        REQUIRE(cc.ok());
        const ConfState cs = node.raft_group->apply_conf_change(*cc);
        node.storage->set_conf_state(cs);
      } else {
        // "put <key> <value>"
        const size_t sp1 = e.data.find(' ');
        const size_t sp2 = e.data.find(' ', sp1 + 1);
        REQUIRE((e.data.rfind("put ", 0) == 0 && sp2 != std::string::npos));
        const auto key = static_cast<uint16_t>(std::stoul(e.data.substr(sp1 + 1, sp2 - sp1 - 1)));
        node.kv_pairs[key] = e.data.substr(sp2 + 1);
      }
      if (node.raft_group->raft().state() == StateRole::Leader) {
        // The leader answers the client whose proposal went to this index.
        for (auto& p : proposals_) {
          if (p.proposed == e.index) p.success = true;
        }
      }
    }
  }

  void on_ready(Node& node) {
    RawNode& rn = *node.raft_group;
    if (!rn.has_ready()) return;
    Ready rd = rn.ready();
    send(rd.messages);
    if (!rd.snapshot.empty()) {
      REQUIRE(node.storage->apply_snapshot(rd.snapshot).ok());
      node.kv_pairs.clear();  // the example's snapshots carry no data: the log has it all
    }
    node.storage->append(rd.entries);
    if (rd.hard_state) node.storage->set_hard_state(*rd.hard_state);
    send(rd.persisted_messages);
    apply(node, rd.committed_entries);
    LightReady light = rn.advance(std::move(rd));
    if (light.commit_index) node.storage->set_commit(*light.commit_index);
    send(light.messages);
    apply(node, light.committed_entries);
    rn.advance_apply();
  }

  std::map<NodeId, Node> nodes_;
  std::list<Proposal> proposals_;
  uint64_t iteration_ = 0;
};

}  // namespace

TEST_CASE("five_mem_node: node 1 adds 2..5, then 100 puts are applied on all five", "[sim][five_mem_node]") {
  FiveMemNode cluster;
  // Node 1 campaigns on its own once its election timeout passes.
  for (int i = 0; i < 1000 && cluster.nodes()[1].raft_group->raft().state() != StateRole::Leader; ++i) {
    cluster.iterate();
  }
  REQUIRE(cluster.nodes()[1].raft_group->raft().state() == StateRole::Leader);

  // add_all_followers: one conf change at a time, retried until it is applied.
  for (NodeId id = 2; id <= kNumNodes; ++id) {
    bool added = false;
    for (int attempt = 0; attempt < 50 && !added; ++attempt) {
      Proposal p;
      p.conf_change = ConfChange{ConfChangeType::AddNode, id, ""};
      added = cluster.submit(std::move(p));
      for (int i = 0; i < 10 && !added; ++i) cluster.iterate();  // the example sleeps 100 ms
    }
    REQUIRE(added);
  }
  const auto voters = cluster.nodes()[1].raft_group->status().conf_state.voters;
  CHECK(std::set<NodeId>(voters.begin(), voters.end()) == std::set<NodeId>{1, 2, 3, 4, 5});

  // 100 puts, each acknowledged before the next is sent (the example's rx.recv()).
  int acknowledged = 0;
  for (uint16_t key = 0; key < 100; ++key) {
    Proposal p;
    p.normal = std::make_pair(key, std::string("hello, world"));
    acknowledged += cluster.submit(std::move(p)) ? 1 : 0;
  }
  CHECK(acknowledged == 100);

  // Every node applies all of them; the five maps are identical.
  auto all_applied = [&] {
    for (auto& [id, n] : cluster.nodes()) {
      if (!n.raft_group || n.kv_pairs.size() != 100) return false;
    }
    return true;
  };
  for (int i = 0; i < 10000 && !all_applied(); ++i) cluster.iterate();
  REQUIRE(all_applied());
  const auto& expected = cluster.nodes()[1].kv_pairs;
  for (uint16_t key = 0; key < 100; ++key) CHECK(expected.at(key) == "hello, world");
  for (auto& [id, n] : cluster.nodes()) {
    CAPTURE(id);
    CHECK(n.kv_pairs == expected);
    CHECK(n.raft_group->raft().raft_log().applied() == cluster.nodes()[1].raft_group->raft().raft_log().applied());
  }
}
