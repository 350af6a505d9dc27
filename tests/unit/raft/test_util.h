// Test helpers for the raft/ unit tier: builders for entries, messages and snapshots (in the
// spirit of raft-rs test_util and etcd's index(1).terms(1,2,3)), a Raft wrapper that plays the
// application's part (persisting unstable entries and hard state into MemStorage), a
// message-level Network over such wrappers, and a RawNode Cluster running the full Ready loop.
//
// Every helper is deterministic: no clocks, no threads, no randomness beyond explicit seeds.
// Loops that deliver messages are bounded; running past the bound fails the test instead of
// hanging it.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "raft/check.h"
#include "raft/config.h"
#include "raft/ready_driver.h"
#include "raft/mem_storage.h"
#include "raft/raft.h"
#include "raft/raw_node.h"
#include "raft/types.h"

namespace raft::test {

// Installs the throwing panic handler once (a panic then throws raft::PanicError).
void use_throwing_panics();

// --- Builders. ---
Entry ent(Index index, Term term, std::string data = {});
// Entries first, first+1, ... with the given terms.
std::vector<Entry> ents(Index first, std::vector<Term> terms);
Message msg(MessageType type, NodeId from, NodeId to, Term term = 0);
Snapshot snap(Index index, Term term, std::vector<NodeId> voters, std::vector<NodeId> learners = {});
// A MemStorage holding a snapshot at (index, term) with membership `voters`, then `tail`.
std::unique_ptr<MemStorage> storage_with(Index snap_index, Term snap_term, std::vector<NodeId> voters,
                                         const std::vector<Entry>& tail = {});
// Config for protocol tests: pre_vote and check_quorum off unless the test turns them on.
Config cfg(NodeId id, int election = 10, int heartbeat = 1);

// --- A Raft driven directly, with the application's persistence played by the test. ---
struct Node {
  std::unique_ptr<MemStorage> store;
  std::unique_ptr<Raft> raft;

  Raft* operator->() { return raft.get(); }
  // Writes the pending snapshot, unstable entries and hard state to the storage and tells
  // the Raft (on_persist_snap / on_persist_entries), like RawNode::advance does.
  void persist();
  // Persists, then takes both outboxes (messages and after-append messages).
  std::vector<Message> read_messages();
  // Hands out committed entries as a RawNode Ready would, and reports them applied.
  std::vector<Entry> apply_committed();
};

// A node with a fresh storage holding membership `voters` (and `learners`).
std::unique_ptr<Node> new_node(NodeId id, std::vector<NodeId> voters, int election = 10, int heartbeat = 1,
                               std::function<void(Config&)> tweak = {},
                               std::vector<NodeId> learners = {});
// A node over a prepared storage.
std::unique_ptr<Node> new_node_on(std::unique_ptr<MemStorage> store, Config c);

// A node whose log holds `terms` (entries 1..n) and whose term is terms.back(): a follower
// as drawn in the paper's figures.
std::unique_ptr<Node> node_with_log(NodeId id, std::vector<NodeId> voters, const std::vector<Term>& terms,
                                    std::function<void(Config&)> tweak = {});

// --- A message-level network of Nodes (raft-rs harness Network, simplified). ---
class Network {
 public:
  // Null entries are black holes: messages to them vanish.
  explicit Network(std::vector<std::unique_ptr<Node>> nodes);
  // A cluster of n fresh voters 1..n.
  static Network of(size_t n, std::function<void(Config&)> tweak = {});

  // Delivers `msgs` and everything they cause until no message is left.
  void send(std::vector<Message> msgs);
  // Steps a local message into `id` (e.g. MsgHup, MsgPropose) and delivers the fallout.
  void step(NodeId id, Message m);
  void campaign(NodeId id) { step(id, msg(MessageType::MsgHup, id, id)); }
  void propose(NodeId id, std::string data);
  // Delivers the messages already waiting in every node's outboxes.
  void flush();

  void cut(NodeId a, NodeId b);          // drop traffic between a and b, both ways
  void isolate(NodeId id);               // drop all traffic to and from id
  void ignore(MessageType t);            // drop every message of type t
  void recover();                        // undo cut, isolate and ignore

  Node& node(NodeId id) { return *nodes_.at(id); }
  Raft& raft(NodeId id) { return *nodes_.at(id)->raft; }
  bool has(NodeId id) const { auto it = nodes_.find(id); return it != nodes_.end() && it->second; }
  std::vector<NodeId> ids() const;
  // Every message delivered (after filters), for tests that look at the traffic.
  std::vector<Message> delivered;

 private:
  bool dropped(const Message& m) const;

  std::map<NodeId, std::unique_ptr<Node>> nodes_;
  std::set<std::pair<NodeId, NodeId>> cut_;
  std::set<NodeId> isolated_;
  std::set<MessageType> ignored_;
};

// --- A cluster of RawNodes over MemStorage with the full Ready loop. ---
class Cluster {
 public:
  // Voters and learners of the initial membership; every node gets storage bootstrapped with
  // it. tweak adjusts each node's Config (check_quorum and pre_vote default to Config's).
  explicit Cluster(std::vector<NodeId> voters, std::vector<NodeId> learners = {},
                   std::function<void(Config&)> tweak = {});

  // Adds a node whose storage holds the cluster's initial membership (the state "before
  // index 1"), so that replaying the leader's log reproduces every later membership.
  void add_node(NodeId id);
  RawNode& node(NodeId id) { return *nodes_.at(id); }
  Raft& raft(NodeId id) { return nodes_.at(id)->raft(); }
  MemStorage& store(NodeId id) { return *stores_.at(id); }
  bool has(NodeId id) const { return nodes_.count(id) != 0; }

  // One Ready cycle for `id` through raft::ReadyDriver (the loop raft-node runs): send,
  // apply, persist, send, apply (conf changes included), advance.
  void handle_ready(NodeId id);
  // Runs Ready cycles and delivers messages until nothing moves.
  void stabilize();
  void tick(NodeId id) { nodes_.at(id)->tick(); }
  void tick_all();
  // Ticks every node `n` times, stabilizing after each tick.
  void tick_and_stabilize(int n);
  void elect(NodeId id);

  void isolate(NodeId id) { isolated_.insert(id); }
  void cut(NodeId a, NodeId b) { cut_.insert({a, b}); cut_.insert({b, a}); }
  void recover() { isolated_.clear(); cut_.clear(); }
  // Report the outcome of every MsgSnapshot to its sender (Finish when delivered, Failure when
  // dropped), as a transport would.
  bool auto_report_snapshot = true;
  // Called with every Ready before the cluster handles it (tests record what they see).
  std::function<void(NodeId, const Ready&)> on_ready;

  std::map<NodeId, std::vector<std::string>> applied;  // data of applied normal entries
  std::map<NodeId, std::vector<ReadState>> read_states;
  std::map<NodeId, std::vector<ConfState>> conf_states;  // results of apply_conf_change
  std::vector<Message> delivered;                         // every message delivered

  NodeId leader() const;  // the unique leader of the highest term, or kNone

 private:
  class Hooks;  // one node's DurableLog, Outbox and Applier for the driver
  void deliver(std::vector<Message> msgs);
  bool dropped(const Message& m) const;
  std::unique_ptr<RawNode> make(NodeId id);

  std::function<void(Config&)> tweak_;
  ConfState initial_;
  std::map<NodeId, std::unique_ptr<MemStorage>> stores_;
  std::map<NodeId, std::unique_ptr<RawNode>> nodes_;
  std::map<NodeId, std::shared_ptr<Hooks>> hooks_;
  std::map<NodeId, std::shared_ptr<ReadyDriver>> drivers_;
  std::vector<Message> wire_;
  std::set<NodeId> isolated_;
  std::set<std::pair<NodeId, NodeId>> cut_;
};

}  // namespace raft::test
