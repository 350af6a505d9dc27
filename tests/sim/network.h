// Network: a deterministic in-process Raft cluster for scenario tests and the randomized
// simulation (in the spirit of raft-rs harness/src/network.rs and etcd rafttest).
//
// Each node is a raft::RawNode over its own raft::MemStorage — the node's durable state —
// plus a KvApp state machine, which is volatile. Messages travel through one in-flight pool
// (`wire()`); nothing moves unless a test or the scheduler says so: deliver one message, tick
// one node, handle one node's Ready. Readies go through raft::ReadyDriver
// (raft/ready_driver.h), the driver raft-node runs, so the order checked here is production's
// (committed entries applied before the Ready's own write, a commit-only hard state riding on
// the next write, ...). SimReadyHooks plugs MemStorage, the wire and KvApp into it.
//
// Late persistence (NetworkOptions::late_persistence): every write completes at a later step
// (handle_ready picks, at random, between completing the oldest write and handling the next
// Ready), as with a writer thread; later Readies' messages go out meanwhile.
//
// Crashes: crash() drops the RawNode, the application state, every write still in flight
// and every message in flight to the node; whatever reached MemStorage survives.
// handle_ready(id, /*crash_before_persist=*/true) crashes right after rd.messages went out
// (and the committed entries were applied), before anything of that Ready is persisted. restart() builds a new RawNode on the same MemStorage with Config::applied set
// to the storage snapshot's index, rebuilds the state machine from the snapshot data, and
// lets Raft hand out the committed entries after it again.
//
// Membership bootstrap: the initial members start from a snapshot at index 1 (term 1) that
// holds the initial ConfState, like raft-rs examples/five_mem_node; nodes added later start
// empty (no ConfState) and receive that snapshot, or a newer one, from the leader.
//
// Invariant: a message is delivered only to a live node, and only if no filter (cut link,
// isolated node, ignored type, random drop) stops it; a MsgSnapshot's fate is reported to
// its sender with report_snapshot.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "raft/check.h"
#include "raft/mem_storage.h"
#include "raft/raw_node.h"
#include "raft/ready_driver.h"
#include "tests/sim/kv_app.h"

namespace sim {

using raft::Entry;
using raft::Index;
using raft::Message;
using raft::NodeId;
using raft::Term;

// A broken safety property or an impossible situation found by the harness.
struct SimFailure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Network;
struct SimNode;

// One node's side of the shared Ready driver: MemStorage is its disk, the network's wire its
// outbox, its KvApp the state machine.
class SimReadyHooks final : public raft::DurableLog, public raft::Outbox, public raft::Applier {
 public:
  SimReadyHooks(Network& net, SimNode& node) : net_(net), node_(node) {}
  raft::WriteOutcome write(const raft::WriteRequest& w) override;
  void send(std::vector<Message>& msgs) override;
  void restore(const raft::Snapshot& snap) override;
  void apply(std::vector<Entry>& entries) override;
  void read_states(std::vector<raft::ReadState>& states) override;

  // Makes the oldest write in flight durable and tells the driver. False if there is none.
  bool complete_write();
  size_t writes_in_flight() const { return in_flight_.size(); }
  void forget_writes() { in_flight_.clear(); }  // a crash: they never reached the disk

  bool late = false;             // writes complete at a later step (complete_write)
  bool fail_next_write = false;  // the next write fails: the node crashes before persisting

 private:
  struct Write {
    std::optional<raft::Snapshot> snapshot;
    std::vector<Entry> entries;
    std::optional<raft::HardState> hard_state;
  };
  void persist(const Write& w);

  Network& net_;
  SimNode& node_;
  std::deque<Write> in_flight_;
};

struct SimNode {
  NodeId id = raft::kNone;
  // Durable: survives crashes.
  std::unique_ptr<raft::MemStorage> storage;
  // Volatile: null while crashed.
  std::unique_ptr<raft::RawNode> raw;
  KvApp app;
  Index applied = 0;
  raft::ConfState conf_state;  // membership as of `applied` (stored with snapshots)
  // Read states received and not yet served (served once applied >= index).
  std::vector<raft::ReadState> pending_reads;
  uint64_t incarnation = 0;  // bumped by every restart
  // The production Ready loop and this node's side of it (built once, reset on restart).
  std::unique_ptr<SimReadyHooks> hooks;
  std::unique_ptr<raft::ReadyDriver> driver;

  bool alive() const { return raw != nullptr; }
};

struct NetworkOptions {
  std::vector<NodeId> voters = {1, 2, 3};
  std::vector<NodeId> learners;
  // Template for every node's config; id, seed and applied are filled in per node.
  raft::Config config;
  uint64_t seed = 1;
  // Route the core's log lines (raft::Logger) to the `trace` hook.
  bool raft_logs = false;
  // Writes complete at a later step than the Ready that asked for them (a writer thread).
  bool late_persistence = false;
};

enum class Fate { Deliver, Drop, Duplicate };

class Network {
 public:
  explicit Network(NetworkOptions options);
  ~Network();
  Network(const Network&) = delete;
  Network& operator=(const Network&) = delete;

  // --- Nodes. ---
  // A node that is not a member yet: empty storage, no membership; it waits for the leader.
  void add_empty_node(NodeId id);
  bool has_node(NodeId id) const { return nodes_.count(id) != 0; }
  SimNode& node(NodeId id);
  const SimNode& node(NodeId id) const;
  // The RawNode of a live node. Throws SimFailure if it is crashed or unknown.
  raft::RawNode& raw(NodeId id);
  std::vector<NodeId> ids() const;
  std::vector<NodeId> alive_ids() const;
  void crash(NodeId id);
  void restart(NodeId id);

  // --- Driving one node. ---
  // Handles one Ready of `id`, if it has one, or (late persistence) completes its oldest
  // write in flight. Returns whether it did anything.
  bool handle_ready(NodeId id, bool crash_before_persist = false);
  // Whether handle_ready(id) would do something.
  bool has_work(NodeId id) const;
  void tick(NodeId id);
  // Snapshot the state machine at its applied index (with its ConfState) and compact the
  // log, keeping `keep` entries before it. Returns false when there was nothing new.
  bool snapshot_and_compact(NodeId id, Index keep);

  // --- The wire. ---
  std::vector<Message>& wire() { return wire_; }
  const std::vector<Message>& wire() const { return wire_; }
  // Puts a message on the wire (it is delivered later).
  void post(Message m);
  // Takes wire()[i] off the wire and delivers, drops or delivers-and-keeps it.
  void deliver(size_t i, Fate fate = Fate::Deliver);

  // --- Verbs of the raft-rs harness. ---
  // Steps `msgs` into their receivers, then stabilizes.
  void send(std::vector<Message> msgs);
  // Handles every Ready and delivers every message, in rounds, until the cluster is quiet.
  // Throws SimFailure if it is still busy after max_rounds rounds.
  void stabilize(int max_rounds = 10000);
  void tick_all();
  // Rounds of (tick every live node, stabilize) until pred() holds; false if it never did.
  bool run_until(const std::function<bool()>& pred, int max_ticks);

  // Filters (applied at delivery). drop: lose messages from -> to with probability p.
  void drop(NodeId from, NodeId to, double p);
  // cut: no messages between a and b, either way.
  void cut(NodeId a, NodeId b);
  // isolate: cut id from every other node.
  void isolate(NodeId id);
  // partition: nodes talk only within their group (nodes in no group are isolated).
  void partition(const std::vector<std::vector<NodeId>>& groups);
  // ignore: drop every message of this type.
  void ignore(raft::MessageType t);
  // recover: remove every filter (but not refuse below).
  void recover();
  // Messages this says true for are dropped at delivery, whatever recover() does: the node
  // layer's gateway rules (docs/membership.md "Amnesia"), which the simulator installs for
  // nodes that lost their disk.
  std::function<bool(const Message&)> refuse;
  bool link_up(NodeId from, NodeId to) const;

  // --- Application helpers. ---
  // Proposes a put/cas/del command on `id` (one step).
  raft::Result<void> propose(NodeId id, const Command& c);
  // Runs f on the live node `id` as one step (campaign, read_index, transfer_leader, ...).
  void act(NodeId id, const std::function<void(raft::RawNode&)>& f);
  // The live leader with the highest term (kNone if there is none).
  NodeId leader() const;
  // Membership as the live leader sees it (empty if there is no leader).
  raft::ConfState leader_conf_state() const;

  // --- Observation hooks (set by the invariant checker and the workload). ---
  // Called for every entry a node applies; `result` is null for entries that are not
  // commands (empty entries, conf changes).
  std::function<void(const SimNode&, const Entry&, const ApplyResult*)> on_apply;
  // Called when a node serves a read: the value at a point at or after the read index.
  std::function<void(const SimNode&, const raft::ReadState&)> on_read;
  // Called after every step (one delivery, tick, Ready, crash, restart...).
  std::function<void()> after_step;
  // Called just before a node crashes, while its RawNode still exists.
  std::function<void(const SimNode&)> before_crash;
  // One line per step, for traces (empty: no tracing).
  std::function<void(const std::string&)> trace;

  std::mt19937_64& rng() { return rng_; }
  const raft::Config& config_template() const { return config_; }

 private:
  friend class SimReadyHooks;
  void create_raw(SimNode& n);
  void apply_entries(SimNode& n, const std::vector<Entry>& entries);
  void serve_reads(SimNode& n);
  void stepped();
  void note(const std::string& line) const;
  bool filtered(const Message& m);

  raft::Config config_;
  bool late_persistence_ = false;
  std::mt19937_64 rng_;
  std::map<NodeId, SimNode> nodes_;
  std::vector<Message> wire_;
  std::set<std::pair<NodeId, NodeId>> cut_;
  std::map<std::pair<NodeId, NodeId>, double> drop_;
  std::set<raft::MessageType> ignored_;
  raft::PanicHandler prev_panic_handler_;
  bool raft_logs_ = false;
  std::unique_ptr<raft::Logger> logger_;
};

// One line describing a message, e.g. "MsgAppend 1->2 t3 idx5/t2 n3 c4".
std::string describe(const Message& m);
// A node's log and cursors, for failure reports (at most the last `max_entries` entries).
std::string describe_node(const SimNode& n, size_t max_entries = 40);

}  // namespace sim
