#include "tests/sim/network.h"

#include <algorithm>
#include <sstream>

#include "raft/check.h"
#include "raft/conf_change.h"
#include "raft/raft.h"

namespace sim {

using raft::MessageType;
using MT = raft::MessageType;

namespace {
class TraceLogger final : public raft::Logger {
 public:
  explicit TraceLogger(const Network& net) : net_(net) {}
  void log(raft::LogLevel, const std::string& message) override {
    if (net_.trace) net_.trace("  raft: " + message);
  }

 private:
  const Network& net_;
};
}  // namespace

Network::Network(NetworkOptions options)
    : config_(options.config),
      late_persistence_(options.late_persistence),
      rng_(options.seed),
      raft_logs_(options.raft_logs) {
  prev_panic_handler_ = raft::set_panic_handler(&raft::throwing_panic_handler);
  raft::ConfState cs;
  cs.voters = options.voters;
  cs.learners = options.learners;
  raft::Snapshot boot;
  boot.metadata.index = 1;
  boot.metadata.term = 1;
  boot.metadata.conf_state = cs;
  boot.data = KvApp().snapshot();
  std::vector<NodeId> all = options.voters;
  all.insert(all.end(), options.learners.begin(), options.learners.end());
  for (NodeId id : all) {
    SimNode& n = nodes_[id];
    n.id = id;
    n.storage = std::make_unique<raft::MemStorage>();
    if (auto r = n.storage->apply_snapshot(boot); !r) throw SimFailure("bootstrap snapshot refused");
    create_raw(n);
  }
}

Network::~Network() { raft::set_panic_handler(prev_panic_handler_); }

void Network::add_empty_node(NodeId id) {
  if (has_node(id)) throw SimFailure("node " + std::to_string(id) + " already exists");
  SimNode& n = nodes_[id];
  n.id = id;
  n.storage = std::make_unique<raft::MemStorage>();
  create_raw(n);
}

SimNode& Network::node(NodeId id) {
  auto it = nodes_.find(id);
  if (it == nodes_.end()) throw SimFailure("no node " + std::to_string(id));
  return it->second;
}

const SimNode& Network::node(NodeId id) const {
  auto it = nodes_.find(id);
  if (it == nodes_.end()) throw SimFailure("no node " + std::to_string(id));
  return it->second;
}

raft::RawNode& Network::raw(NodeId id) {
  SimNode& n = node(id);
  if (!n.alive()) throw SimFailure("node " + std::to_string(id) + " is crashed");
  return *n.raw;
}

std::vector<NodeId> Network::ids() const {
  std::vector<NodeId> out;
  for (const auto& [id, n] : nodes_) out.push_back(id);
  return out;
}

std::vector<NodeId> Network::alive_ids() const {
  std::vector<NodeId> out;
  for (const auto& [id, n] : nodes_) {
    if (n.alive()) out.push_back(id);
  }
  return out;
}

void Network::create_raw(SimNode& n) {
  if (!n.driver) {
    n.hooks = std::make_unique<SimReadyHooks>(*this, n);
    n.hooks->late = late_persistence_;
    n.driver = std::make_unique<raft::ReadyDriver>(*n.hooks, *n.hooks, *n.hooks);
    n.driver->on_ready = [this, &n](const raft::Ready& rd) {
      if (!trace) return;
      std::ostringstream s;
      s << "ready " << n.id << ": " << rd.entries.size() << " entries, " << rd.committed_entries.size()
        << " committed, " << rd.messages.size() << "+" << rd.persisted_messages.size() << " msgs";
      if (rd.hard_state) s << ", hs t" << rd.hard_state->term << " v" << rd.hard_state->vote << " c" << rd.hard_state->commit;
      if (!rd.snapshot.empty()) s << ", snapshot " << rd.snapshot.metadata.index;
      if (rd.soft_state) s << ", " << raft::to_string(rd.soft_state->raft_state) << " lead " << rd.soft_state->leader_id;
      if (n.hooks->fail_next_write) s << " -- crashes before persisting";
      if (n.hooks->late) s << " (" << n.hooks->writes_in_flight() << " writes in flight)";
      note(s.str());
    };
  }
  n.hooks->forget_writes();
  n.driver->reset(n.storage->hard_state());
  // The state machine restarts from the durable snapshot; Raft re-delivers the committed
  // entries after it.
  auto snap = n.storage->snapshot(0);
  if (!snap) throw SimFailure("node " + std::to_string(n.id) + ": no snapshot: " + snap.error().to_string());
  if (snap->metadata.index == 0) {
    n.app = KvApp();
  } else {
    auto app = KvApp::restore(snap->data);
    if (!app) throw SimFailure("node " + std::to_string(n.id) + ": undecodable snapshot data");
    n.app = std::move(*app);
  }
  n.applied = snap->metadata.index;
  n.conf_state = snap->metadata.conf_state;
  n.pending_reads.clear();
  raft::Config c = config_;
  c.id = n.id;
  c.applied = snap->metadata.index;
  c.seed = rng_();
  if (raft_logs_) {
    if (!logger_) logger_ = std::make_unique<TraceLogger>(*this);
    c.logger = logger_.get();
  }
  auto raw = raft::RawNode::create(c, *n.storage);
  if (!raw) {
    throw SimFailure("node " + std::to_string(n.id) + ": RawNode::create failed: " +
                     raw.error().to_string());
  }
  n.raw = std::move(*raw);
}

void Network::crash(NodeId id) {
  SimNode& n = node(id);
  if (!n.alive()) return;
  note("crash " + std::to_string(id));
  if (before_crash) before_crash(n);
  n.raw.reset();
  n.hooks->forget_writes();
  n.pending_reads.clear();
  n.app = KvApp();
  // Messages in flight to it are lost; the transport tells a snapshot's sender it failed
  // (otherwise the leader would wait for that snapshot forever, as in etcd and raft-rs).
  std::vector<Message> kept;
  for (auto& m : wire_) {
    if (m.to != id) {
      kept.push_back(std::move(m));
    } else if (m.msg_type == MT::MsgSnapshot) {
      auto from = nodes_.find(m.from);
      if (from != nodes_.end() && from->second.alive()) {
        from->second.raw->report_snapshot(id, raft::SnapshotStatus::Failure);
      }
    }
  }
  wire_ = std::move(kept);
  stepped();
}

void Network::restart(NodeId id) {
  SimNode& n = node(id);
  if (n.alive()) return;
  ++n.incarnation;
  create_raw(n);
  note("restart " + std::to_string(id) + " (applied " + std::to_string(n.applied) + ")");
  stepped();
}

void Network::tick(NodeId id) {
  SimNode& n = node(id);
  if (!n.alive()) return;
  n.raw->tick();
  stepped();
}

void Network::note(const std::string& line) const {
  if (trace) trace(line);
}

void Network::stepped() {
  if (after_step) after_step();
}

bool Network::has_work(NodeId id) const {
  const SimNode& n = node(id);
  return n.alive() && (n.raw->has_ready() || n.hooks->writes_in_flight() > 0);
}

bool Network::handle_ready(NodeId id, bool crash_before_persist) {
  SimNode& n = node(id);
  if (!n.alive()) return false;
  const bool has_ready = n.raw->has_ready();
  if (n.hooks->writes_in_flight() > 0 && (!has_ready || std::bernoulli_distribution(0.5)(rng_))) {
    note("node " + std::to_string(id) + ": a write completes (" +
         std::to_string(n.hooks->writes_in_flight() - 1) + " still in flight)");
    n.hooks->complete_write();
    stepped();
    return true;
  }
  if (!has_ready) return false;
  n.hooks->fail_next_write = crash_before_persist;
  const bool written = n.driver->handle_ready(*n.raw);
  n.hooks->fail_next_write = false;
  if (crash_before_persist) {
    // Nothing of this Ready reached MemStorage (or it asked for no write at all).
    crash(id);
    return true;
  }
  if (!written) throw SimFailure("node " + std::to_string(id) + ": a write failed unasked");
  serve_reads(n);
  stepped();
  return true;
}

raft::WriteOutcome SimReadyHooks::write(const raft::WriteRequest& w) {
  if (fail_next_write) return raft::WriteOutcome::Failed;
  Write copy;
  if (w.snapshot) copy.snapshot = *w.snapshot;
  copy.entries = *w.entries;
  copy.hard_state = w.hard_state;
  if (late) {
    in_flight_.push_back(std::move(copy));
    return raft::WriteOutcome::Pending;
  }
  persist(copy);
  return raft::WriteOutcome::Done;
}

void SimReadyHooks::persist(const Write& w) {
  if (w.snapshot) {
    if (auto r = node_.storage->apply_snapshot(*w.snapshot); !r) {
      throw SimFailure("node " + std::to_string(node_.id) + ": MemStorage refused snapshot " +
                       std::to_string(w.snapshot->metadata.index) + ": " + r.error().to_string());
    }
  }
  node_.storage->append(w.entries);
  if (w.hard_state) node_.storage->set_hard_state(*w.hard_state);
}

bool SimReadyHooks::complete_write() {
  if (in_flight_.empty()) return false;
  Write w = std::move(in_flight_.front());
  in_flight_.pop_front();
  persist(w);
  node_.driver->on_write_done(*node_.raw);
  net_.serve_reads(node_);
  return true;
}

void SimReadyHooks::send(std::vector<Message>& msgs) {
  for (auto& m : msgs) net_.post(std::move(m));
  msgs.clear();
}

void SimReadyHooks::restore(const raft::Snapshot& snap) {
  const auto& meta = snap.metadata;
  if (meta.index <= node_.applied) {
    throw SimFailure("node " + std::to_string(node_.id) + " was handed snapshot " + std::to_string(meta.index) +
                     " but has applied " + std::to_string(node_.applied));
  }
  auto app = KvApp::restore(snap.data);
  if (!app) throw SimFailure("node " + std::to_string(node_.id) + ": undecodable snapshot data");
  node_.app = std::move(*app);
  node_.applied = meta.index;
  node_.conf_state = meta.conf_state;
}

void SimReadyHooks::apply(std::vector<Entry>& entries) { net_.apply_entries(node_, entries); }

void SimReadyHooks::read_states(std::vector<raft::ReadState>& states) {
  for (auto& rs : states) node_.pending_reads.push_back(rs);
}

void Network::apply_entries(SimNode& n, const std::vector<Entry>& entries) {
  for (const Entry& e : entries) {
    if (e.index != n.applied + 1) {
      throw SimFailure("node " + std::to_string(n.id) + " was handed entry " +
                       std::to_string(e.index) + " to apply after applying " +
                       std::to_string(n.applied) + " (a gap or a repeat)");
    }
    n.applied = e.index;
    if (e.type == raft::EntryType::ConfChange) {
      auto cc = raft::decode_conf_change(e.data);
      if (!cc) throw SimFailure("undecodable conf change at index " + std::to_string(e.index));
      n.conf_state = n.raw->apply_conf_change(*cc);
      note("node " + std::to_string(n.id) + " applied " + raft::describe(*cc) + " at " +
           std::to_string(e.index));
      if (on_apply) on_apply(n, e, nullptr);
      continue;
    }
    if (e.data.empty()) {
      if (on_apply) on_apply(n, e, nullptr);
      continue;
    }
    auto cmd = decode_command(e.data);
    if (!cmd) throw SimFailure("undecodable command at index " + std::to_string(e.index));
    const ApplyResult r = n.app.apply(*cmd);
    if (on_apply) on_apply(n, e, &r);
  }
}

void Network::serve_reads(SimNode& n) {
  auto it = n.pending_reads.begin();
  while (it != n.pending_reads.end()) {
    if (it->index <= n.applied) {
      if (on_read) on_read(n, *it);
      it = n.pending_reads.erase(it);
    } else {
      ++it;
    }
  }
}

bool Network::snapshot_and_compact(NodeId id, Index keep) {
  SimNode& n = node(id);
  if (!n.alive()) return false;
  auto current = n.storage->snapshot(0);
  if (!current || n.applied <= current->metadata.index) return false;
  auto snap = n.storage->create_snapshot(n.applied, &n.conf_state, n.app.snapshot());
  if (!snap) return false;
  // The storage's membership must be the one of its snapshot: a restart restores Raft from
  // it and re-applies every conf change after the snapshot index.
  n.storage->set_conf_state(n.conf_state);
  const Index first = *n.storage->first_index();
  const Index compact_to = n.applied + 1 > keep ? n.applied + 1 - keep : 1;
  if (compact_to > first) {
    if (auto r = n.storage->compact(compact_to); !r) {
      throw SimFailure("compact(" + std::to_string(compact_to) + ") failed: " + r.error().to_string());
    }
  }
  note("node " + std::to_string(id) + " snapshot at " + std::to_string(n.applied) +
       ", log from " + std::to_string(*n.storage->first_index()));
  stepped();
  return true;
}

void Network::post(Message m) { wire_.push_back(std::move(m)); }

bool Network::link_up(NodeId from, NodeId to) const {
  return !cut_.count({from, to});
}

bool Network::filtered(const Message& m) {
  if (ignored_.count(m.msg_type) || !link_up(m.from, m.to)) return true;
  if (refuse && refuse(m)) return true;
  auto it = drop_.find({m.from, m.to});
  if (it != drop_.end() && it->second > 0) {
    return std::uniform_real_distribution<double>(0, 1)(rng_) < it->second;
  }
  return false;
}

void Network::deliver(size_t i, Fate fate) {
  if (i >= wire_.size()) throw SimFailure("deliver: no message " + std::to_string(i));
  Message m = std::move(wire_[i]);
  wire_.erase(wire_.begin() + static_cast<std::ptrdiff_t>(i));
  if (fate == Fate::Duplicate) wire_.push_back(m);
  auto it = nodes_.find(m.to);
  const bool dropped = fate == Fate::Drop || filtered(m) || it == nodes_.end() || !it->second.alive();
  note(std::string(dropped ? "drop " : fate == Fate::Duplicate ? "dup+deliver " : "deliver ") +
       describe(m));
  if (m.msg_type == MT::MsgSnapshot) {
    // The transport tells the sender how the snapshot went.
    auto from = nodes_.find(m.from);
    if (from != nodes_.end() && from->second.alive()) {
      from->second.raw->report_snapshot(
          m.to, dropped ? raft::SnapshotStatus::Failure : raft::SnapshotStatus::Finish);
    }
  }
  if (!dropped) (void)it->second.raw->step(std::move(m));
  stepped();
}

void Network::send(std::vector<Message> msgs) {
  for (auto& m : msgs) post(std::move(m));
  stabilize();
}

void Network::stabilize(int max_rounds) {
  for (int round = 0; round < max_rounds; ++round) {
    bool busy = false;
    for (NodeId id : alive_ids()) busy |= handle_ready(id);
    while (!wire_.empty()) {
      busy = true;
      deliver(0);
    }
    if (!busy) return;
  }
  throw SimFailure("the cluster did not stabilize within " + std::to_string(max_rounds) + " rounds");
}

void Network::tick_all() {
  for (NodeId id : alive_ids()) tick(id);
}

bool Network::run_until(const std::function<bool()>& pred, int max_ticks) {
  stabilize();
  for (int t = 0; t < max_ticks; ++t) {
    if (pred()) return true;
    tick_all();
    stabilize();
  }
  return pred();
}

void Network::drop(NodeId from, NodeId to, double p) { drop_[{from, to}] = p; }

void Network::cut(NodeId a, NodeId b) {
  cut_.insert({a, b});
  cut_.insert({b, a});
}

void Network::isolate(NodeId id) {
  // Only nodes that exist now: a node added later can reach it.
  for (const auto& [other, n] : nodes_) {
    if (other != id) cut(id, other);
  }
}

void Network::partition(const std::vector<std::vector<NodeId>>& groups) {
  std::map<NodeId, size_t> group_of;
  for (size_t g = 0; g < groups.size(); ++g) {
    for (NodeId id : groups[g]) group_of[id] = g + 1;
  }
  for (const auto& [a, na] : nodes_) {
    for (const auto& [b, nb] : nodes_) {
      if (a == b) continue;
      const size_t ga = group_of.count(a) ? group_of[a] : 0;
      const size_t gb = group_of.count(b) ? group_of[b] : 0;
      if (ga == 0 || gb == 0 || ga != gb) cut_.insert({a, b});
    }
  }
}

void Network::ignore(raft::MessageType t) { ignored_.insert(t); }

void Network::recover() {
  cut_.clear();
  drop_.clear();
  ignored_.clear();
}

raft::Result<void> Network::propose(NodeId id, const Command& c) {
  auto r = raw(id).propose("", encode(c));
  stepped();
  return r;
}

void Network::act(NodeId id, const std::function<void(raft::RawNode&)>& f) {
  f(raw(id));
  stepped();
}

NodeId Network::leader() const {
  NodeId best = raft::kNone;
  Term best_term = 0;
  for (const auto& [id, n] : nodes_) {
    if (!n.alive()) continue;
    const raft::Raft& r = n.raw->raft();
    if (r.state() == raft::StateRole::Leader && r.term() >= best_term) {
      best = id;
      best_term = r.term();
    }
  }
  return best;
}

raft::ConfState Network::leader_conf_state() const {
  const NodeId l = leader();
  if (l == raft::kNone) return {};
  return node(l).raw->raft().prs().conf_state();
}

std::string describe(const Message& m) {
  std::ostringstream s;
  s << raft::to_string(m.msg_type) << " " << m.from << "->" << m.to << " t" << m.term;
  switch (m.msg_type) {
    case MT::MsgAppend:
      s << " idx" << m.index << "/t" << m.log_term << " n" << m.entries.size() << " c" << m.commit;
      break;
    case MT::MsgAppendResponse:
      s << " idx" << m.index << (m.reject ? " reject hint " + std::to_string(m.reject_hint) : "");
      break;
    case MT::MsgRequestVote:
    case MT::MsgRequestPreVote:
      s << " last " << m.index << "/t" << m.log_term;
      break;
    case MT::MsgRequestVoteResponse:
    case MT::MsgRequestPreVoteResponse:
      s << (m.reject ? " reject" : " grant");
      break;
    case MT::MsgSnapshot:
      s << " snap " << m.snapshot.metadata.index << "/t" << m.snapshot.metadata.term;
      break;
    case MT::MsgHeartbeat:
      s << " c" << m.commit;
      break;
    default:
      break;
  }
  return s.str();
}

std::string describe_node(const SimNode& n, size_t max_entries) {
  std::ostringstream s;
  s << "node " << n.id << " (incarnation " << n.incarnation << "): ";
  if (!n.alive()) {
    const Index first = *n.storage->first_index();
    const Index last = *n.storage->last_index();
    s << "crashed; stored hs t" << n.storage->hard_state().term << " v" << n.storage->hard_state().vote
      << " c" << n.storage->hard_state().commit << ", log [" << first << ", " << last << "]";
    return s.str();
  }
  const raft::Raft& r = n.raw->raft();
  const raft::RaftLog& log = r.raft_log();
  s << raft::to_string(r.state()) << " term " << r.term() << " vote " << r.vote() << " lead "
    << r.leader_id() << ", commit " << log.committed() << " applied " << n.applied << " persisted "
    << log.persisted() << ", conf " << r.prs().config().describe() << "\n    log (index:term)";
  const Index first = log.first_index();
  const Index last = log.last_index();
  Index from = first;
  if (last + 1 > first + max_entries) {
    from = last + 1 - max_entries;
    s << " ...";
  } else {
    auto t = log.term(first - 1);
    s << " [" << first - 1 << ":t" << (t.ok() ? *t : 0) << " base]";
  }
  for (Index i = from; i <= last; ++i) {
    auto t = log.term(i);
    s << " " << i << ":" << (t.ok() ? *t : 0);
  }
  return s.str();
}

}  // namespace sim
