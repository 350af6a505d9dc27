#include "tests/unit/raft/test_util.h"

#include <catch2/catch.hpp>

#include <deque>

#include "raft/conf_change.h"

namespace raft::test {

void use_throwing_panics() {
  static const bool installed = [] {
    set_panic_handler(&throwing_panic_handler);
    return true;
  }();
  (void)installed;
}

Entry ent(Index index, Term term, std::string data) {
  Entry e;
  e.index = index;
  e.term = term;
  e.data = std::move(data);
  return e;
}

std::vector<Entry> ents(Index first, std::vector<Term> terms) {
  std::vector<Entry> out;
  for (Term t : terms) out.push_back(ent(first++, t));
  return out;
}

Message msg(MessageType type, NodeId from, NodeId to, Term term) {
  Message m;
  m.msg_type = type;
  m.from = from;
  m.to = to;
  m.term = term;
  return m;
}

Snapshot snap(Index index, Term term, std::vector<NodeId> voters, std::vector<NodeId> learners) {
  Snapshot s;
  s.metadata.index = index;
  s.metadata.term = term;
  s.metadata.conf_state.voters = std::move(voters);
  s.metadata.conf_state.learners = std::move(learners);
  return s;
}

std::unique_ptr<MemStorage> storage_with(Index snap_index, Term snap_term, std::vector<NodeId> voters,
                                         const std::vector<Entry>& tail) {
  auto s = std::make_unique<MemStorage>();
  if (snap_index > 0) {
    REQUIRE(s->apply_snapshot(snap(snap_index, snap_term, voters)).ok());
  } else {
    ConfState cs;
    cs.voters = std::move(voters);
    s->set_conf_state(cs);
  }
  s->append(tail);
  return s;
}

Config cfg(NodeId id, int election, int heartbeat) {
  Config c;
  c.id = id;
  c.election_tick = election;
  c.heartbeat_tick = heartbeat;
  c.pre_vote = false;
  c.check_quorum = false;
  c.seed = id;
  return c;
}

// --- Node. ---

void Node::persist() {
  if (const auto& s = raft->raft_log().pending_snapshot()) {
    const Snapshot copy = *s;
    REQUIRE(store->apply_snapshot(copy).ok());
    raft->on_persist_snap(copy.metadata.index);
  }
  const auto& unstable = raft->raft_log().unstable_entries();
  if (!unstable.empty()) {
    const std::vector<Entry> copy = unstable;
    store->append(copy);
    raft->on_persist_entries(copy.back().index, copy.back().term);
  }
  store->set_hard_state(raft->hard_state());
}

std::vector<Message> Node::read_messages() {
  persist();
  std::vector<Message> out = raft->take_msgs();
  for (auto& m : raft->take_msgs_after_append()) out.push_back(std::move(m));
  return out;
}

std::vector<Entry> Node::apply_committed() {
  auto& log = raft->raft_log();
  std::vector<Entry> out = log.next_committed_entries();
  if (!out.empty()) {
    log.applying_to(out.back().index);
    raft->reduce_uncommitted_size(out);
    raft->applied_to(out.back().index);
  }
  return out;
}

std::unique_ptr<Node> new_node_on(std::unique_ptr<MemStorage> store, Config c) {
  use_throwing_panics();
  auto n = std::make_unique<Node>();
  n->store = std::move(store);
  auto r = Raft::create(c, *n->store);
  if (!r.ok()) FAIL("Raft::create: " << r.error().to_string());
  n->raft = std::move(*r);
  return n;
}

std::unique_ptr<Node> new_node(NodeId id, std::vector<NodeId> voters, int election, int heartbeat,
                               std::function<void(Config&)> tweak, std::vector<NodeId> learners) {
  ConfState cs;
  cs.voters = std::move(voters);
  cs.learners = std::move(learners);
  auto store = std::make_unique<MemStorage>(MemStorage::new_with_conf_state(cs));
  Config c = cfg(id, election, heartbeat);
  if (tweak) tweak(c);
  return new_node_on(std::move(store), c);
}

std::unique_ptr<Node> node_with_log(NodeId id, std::vector<NodeId> voters, const std::vector<Term>& terms,
                                    std::function<void(Config&)> tweak) {
  auto store = storage_with(0, 0, voters, ents(1, terms));
  if (!terms.empty()) store->set_hard_state(HardState{terms.back(), kNone, 0});
  Config c = cfg(id);
  if (tweak) tweak(c);
  return new_node_on(std::move(store), c);
}

// --- Network. ---

Network::Network(std::vector<std::unique_ptr<Node>> nodes) {
  NodeId id = 1;
  for (auto& n : nodes) nodes_[id++] = std::move(n);
}

Network Network::of(size_t n, std::function<void(Config&)> tweak) {
  std::vector<NodeId> ids;
  for (NodeId i = 1; i <= n; ++i) ids.push_back(i);
  std::vector<std::unique_ptr<Node>> nodes;
  for (NodeId i : ids) nodes.push_back(new_node(i, ids, 10, 1, tweak));
  return Network(std::move(nodes));
}

std::vector<NodeId> Network::ids() const {
  std::vector<NodeId> out;
  for (const auto& [id, n] : nodes_) out.push_back(id);
  return out;
}

bool Network::dropped(const Message& m) const {
  return cut_.count({m.from, m.to}) || isolated_.count(m.from) || isolated_.count(m.to) ||
         ignored_.count(m.msg_type);
}

void Network::send(std::vector<Message> msgs) {
  std::deque<Message> queue(std::make_move_iterator(msgs.begin()), std::make_move_iterator(msgs.end()));
  size_t steps = 0;
  while (!queue.empty()) {
    REQUIRE(++steps < 200000);  // a livelock fails instead of hanging
    Message m = std::move(queue.front());
    queue.pop_front();
    if (dropped(m)) continue;
    auto it = nodes_.find(m.to);
    if (it == nodes_.end() || !it->second) continue;
    delivered.push_back(m);
    (void)it->second->raft->step(m);
    for (auto& out : it->second->read_messages()) queue.push_back(std::move(out));
  }
}

void Network::step(NodeId id, Message m) {
  (void)node(id).raft->step(std::move(m));
  flush();
}

void Network::propose(NodeId id, std::string data) {
  Message m = msg(MessageType::MsgPropose, id, id);
  m.entries.push_back(ent(0, 0, std::move(data)));
  step(id, std::move(m));
}

void Network::flush() {
  std::vector<Message> all;
  for (auto& [id, n] : nodes_) {
    if (!n) continue;
    for (auto& m : n->read_messages()) all.push_back(std::move(m));
  }
  send(std::move(all));
}

void Network::cut(NodeId a, NodeId b) {
  cut_.insert({a, b});
  cut_.insert({b, a});
}
void Network::isolate(NodeId id) { isolated_.insert(id); }
void Network::ignore(MessageType t) { ignored_.insert(t); }
void Network::recover() {
  cut_.clear();
  isolated_.clear();
  ignored_.clear();
}

// --- Cluster. ---

Cluster::Cluster(std::vector<NodeId> voters, std::vector<NodeId> learners,
                 std::function<void(Config&)> tweak)
    : tweak_(std::move(tweak)) {
  use_throwing_panics();
  ConfState cs;
  cs.voters = voters;
  cs.learners = learners;
  initial_ = cs;
  std::vector<NodeId> all = voters;
  all.insert(all.end(), learners.begin(), learners.end());
  for (NodeId id : all) {
    stores_[id] = std::make_unique<MemStorage>(MemStorage::new_with_conf_state(cs));
    nodes_[id] = make(id);
  }
}

std::unique_ptr<RawNode> Cluster::make(NodeId id) {
  Config c;
  c.id = id;
  c.seed = id;
  if (tweak_) tweak_(c);
  auto n = RawNode::create(c, *stores_.at(id));
  if (!n.ok()) FAIL("RawNode::create: " << n.error().to_string());
  return std::move(*n);
}

void Cluster::add_node(NodeId id) {
  stores_[id] = std::make_unique<MemStorage>(MemStorage::new_with_conf_state(initial_));
  nodes_[id] = make(id);
}

// The harness's side of the driver: MemStorage is the disk (writes complete at once), the
// cluster's wire the outbox, and the cluster's records (applied, conf_states, read_states)
// the state machine.
class Cluster::Hooks final : public DurableLog, public Outbox, public Applier {
 public:
  Hooks(Cluster& c, NodeId id) : c_(c), id_(id) {}
  WriteOutcome write(const WriteRequest& w) override {
    MemStorage& s = c_.store(id_);
    if (w.snapshot) REQUIRE(s.apply_snapshot(*w.snapshot).ok());
    s.append(*w.entries);
    if (w.hard_state) s.set_hard_state(*w.hard_state);
    return WriteOutcome::Done;
  }
  void send(std::vector<Message>& msgs) override {
    for (auto& m : msgs) c_.wire_.push_back(std::move(m));
    msgs.clear();
  }
  void restore(const Snapshot&) override {}
  void apply(std::vector<Entry>& es) override {
    for (const Entry& e : es) {
      if (e.type == EntryType::ConfChange) {
        auto cc = decode_conf_change(e.data);
        REQUIRE(cc.ok());
        ConfState cs = c_.node(id_).apply_conf_change(*cc);
        c_.store(id_).set_conf_state(cs);
        c_.conf_states[id_].push_back(cs);
      } else if (!e.data.empty()) {
        c_.applied[id_].push_back(e.data);
      }
    }
  }
  void read_states(std::vector<ReadState>& rs) override {
    for (auto& r : rs) c_.read_states[id_].push_back(r);
  }

 private:
  Cluster& c_;
  NodeId id_;
};

void Cluster::handle_ready(NodeId id) {
  RawNode& n = *nodes_.at(id);
  if (!n.has_ready()) return;
  auto& driver = drivers_[id];
  if (!driver) {
    auto hooks = std::make_shared<Hooks>(*this, id);
    hooks_[id] = hooks;
    driver = std::make_shared<ReadyDriver>(*hooks, *hooks, *hooks, stores_.at(id)->hard_state());
    driver->on_ready = [this, id](const Ready& rd) {
      if (on_ready) on_ready(id, rd);
    };
  }
  REQUIRE(driver->handle_ready(n));
}

bool Cluster::dropped(const Message& m) const {
  return isolated_.count(m.from) || isolated_.count(m.to) || cut_.count({m.from, m.to});
}

void Cluster::deliver(std::vector<Message> msgs) {
  for (auto& m : msgs) {
    auto it = nodes_.find(m.to);
    const bool lost = dropped(m) || it == nodes_.end();
    if (m.msg_type == MessageType::MsgSnapshot && auto_report_snapshot && nodes_.count(m.from)) {
      // The transport reports after the attempt; deliver first so the follower answers.
      if (!lost) {
        delivered.push_back(m);
        (void)it->second->step(m);
      }
      nodes_.at(m.from)->report_snapshot(m.to, lost ? SnapshotStatus::Failure : SnapshotStatus::Finish);
      continue;
    }
    if (lost) continue;
    delivered.push_back(m);
    (void)it->second->step(m);
  }
}

void Cluster::stabilize() {
  for (int round = 0; round < 2000; ++round) {
    bool any = false;
    for (auto& [id, n] : nodes_) {
      if (n->has_ready()) {
        any = true;
        handle_ready(id);
      }
    }
    if (!any && wire_.empty()) return;
    deliver(std::exchange(wire_, {}));
  }
  FAIL("cluster did not stabilize");
}

void Cluster::tick_all() {
  for (auto& [id, n] : nodes_) n->tick();
}

void Cluster::tick_and_stabilize(int n) {
  for (int i = 0; i < n; ++i) {
    tick_all();
    stabilize();
  }
}

void Cluster::elect(NodeId id) {
  REQUIRE(node(id).campaign().ok());
  stabilize();
  REQUIRE(raft(id).state() == StateRole::Leader);
}

NodeId Cluster::leader() const {
  NodeId best = kNone;
  Term term = 0;
  for (const auto& [id, n] : nodes_) {
    const Raft& r = n->raft();
    if (r.state() == StateRole::Leader && r.term() >= term) {
      best = id;
      term = r.term();
    }
  }
  return best;
}

}  // namespace raft::test
