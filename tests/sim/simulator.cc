#include "tests/sim/simulator.h"

#include <unistd.h>

#include <deque>
#include <iostream>
#include <memory>
#include <random>
#include <sstream>

#include "raft/check.h"
#include "raft/conf_change.h"
#include "raft/raft.h"
#include "tests/sim/invariants.h"
#include "tests/sim/network.h"
#include "tests/sim/workload.h"

namespace sim {
namespace {

using raft::ConfChangeSingle;
using raft::ConfChangeTransition;
using raft::ConfChangeType;
using raft::ConfChangeV2;

constexpr size_t kWireCap = 400;
constexpr size_t kRecentLines = 60;
constexpr NodeId kMaxNodeId = 12;
constexpr size_t kMaxMembers = 7;

std::string self_exe() {
  char buf[4096];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "<test binary>";
  return std::string(buf, static_cast<size_t>(n));
}

class Simulator {
 public:
  explicit Simulator(const SimOptions& o) : o_(o), rng_(o.seed * 0x9e3779b97f4a7c15ULL + 17) {}

  SimReport run() {
    try {
      setup();
      for (step_ = 1; step_ <= static_cast<uint64_t>(o_.steps); ++step_) {
        inv_->step_label = label();
        step_once();
        wl_->expire(step_);
      }
      liveness();
      check_history();
    } catch (const SimFailure& f) {
      fail(f.what());
    } catch (const raft::PanicError& p) {
      fail("raft panicked: " + p.message);
    }
    if (inv_) {
      report_.leaders = inv_->terms_with_leader();
      report_.committed = inv_->max_committed();
    }
    if (wl_) {
      report_.ops = wl_->history().size();
      report_.acknowledged = wl_->acknowledged();
    }
    return report_;
  }

 private:
  using Action = void (Simulator::*)();

  uint64_t rand(uint64_t n) { return n == 0 ? 0 : rng_() % n; }
  bool chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }
  template <class T>
  T pick(const std::vector<T>& v) { return v[rand(v.size())]; }

  std::string label() const {
    return "seed " + std::to_string(o_.seed) + " step " + std::to_string(step_);
  }

  void note(const std::string& line) {
    std::string l = "[" + std::to_string(step_) + "] " + line;
    if (o_.trace) std::cerr << l << "\n";
    recent_.push_back(std::move(l));
    if (recent_.size() > kRecentLines) recent_.pop_front();
  }

  void fail(const std::string& what) {
    std::ostringstream s;
    s << "SIM FAILURE: seed " << o_.seed << ", step " << step_ << " of " << o_.steps << " ("
      << setup_summary_ << ")\n"
      << what << "\n";
    s << "last steps:\n";
    for (const auto& l : recent_) s << "  " << l << "\n";
    s << "replay: SIM_SEED=" << o_.seed << " SIM_STEPS=" << o_.steps << " SIM_TRACE=1 "
      << self_exe() << " \"[soak]\"\n";
    report_.ok = false;
    report_.failure = s.str();
  }

  void setup() {
    raft::Config c;
    // Short election timeouts make leadership change often within a few hundred steps.
    c.election_tick = 3 + static_cast<int>(rand(8));
    c.heartbeat_tick = 1 + static_cast<int>(rand(std::min<uint64_t>(3, static_cast<uint64_t>(c.election_tick - 1))));
    c.pre_vote = chance(0.85);
    c.check_quorum = chance(0.85);
    c.max_size_per_msg = chance(0.5) ? (1u << 20) : 40 + rand(400);
    c.max_inflight_msgs = chance(0.5) ? 256 : 1 + rand(8);
    if (chance(0.15)) c.max_uncommitted_size = 200 + rand(1000);
    // From the seed, not the generator, so that adding the option kept every seed's run.
    c.lazy_commit_broadcast = o_.seed % 2 == 1;
    const size_t n = chance(0.6) ? 3 : (chance(0.5) ? 5 : 1 + rand(2) * 3);  // 3, 5, 1 or 4
    NetworkOptions no;
    no.voters.clear();
    for (NodeId id = 1; id <= n; ++id) no.voters.push_back(id);
    no.config = c;
    no.seed = rng_();
    no.raft_logs = o_.trace;
    // One seed in three completes every write at a later step, as a writer thread would.
    no.late_persistence = o_.seed % 3 == 2;
    next_id_ = n + 1;
    fault_ = 0.3 + std::uniform_real_distribution<double>(0, 1.7)(rng_);
    p_drop_ = pick(std::vector<double>{0.0, 0.02, 0.1});
    p_dup_ = pick(std::vector<double>{0.0, 0.02});
    std::ostringstream s;
    s << n << " voters, election " << c.election_tick << ", pre_vote " << c.pre_vote << ", check_quorum " << c.check_quorum
      << ", heartbeat " << c.heartbeat_tick << ", max_msg " << c.max_size_per_msg << ", inflight "
      << c.max_inflight_msgs << ", max_uncommitted " << c.max_uncommitted_size << ", lazy_commit "
      << c.lazy_commit_broadcast << ", late_persistence " << no.late_persistence << ", faults x"
      << fault_ << ", drop " << p_drop_ << ", dup " << p_dup_;
    setup_summary_ = s.str();
    net_ = std::make_unique<Network>(no);
    inv_ = std::make_unique<Invariants>(*net_);
    wl_ = std::make_unique<Workload>(*net_, 10, 3, 300);
    net_->trace = [this](const std::string& line) { note(line); };
    // A node that lost its disk speaks under a new incarnation, which its peers refuse
    // (Node::sender_refusal): none of its messages is delivered, ever. It is removed from the
    // membership as an operator would (act_conf_change, liveness), never re-added under its
    // id (that would be a new server: new ids model it).
    // And, as Node::step_peer_messages does for a node without standing, a wiped node drops
    // a leader's heartbeat that counts on entries it no longer has (the core would panic).
    net_->refuse = [this](const Message& m) {
      if (amnesiac_.count(m.from)) return true;
      if (!amnesiac_.count(m.to) || m.msg_type != raft::MessageType::MsgHeartbeat) return false;
      const SimNode& n = net_->node(m.to);
      return n.alive() && m.commit > n.raw->raft().raft_log().last_index();
    };

    note("setup: " + setup_summary_);
    // Storms (faults at the seed's intensity) alternate with calm spells (no new faults,
    // fewer membership changes), so that the cluster also makes progress under load and the
    // client history holds many concurrent operations.
    storm_ = {
        {40, &Simulator::act_deliver},      {18, &Simulator::act_tick},
        {22, &Simulator::act_ready},        {8, &Simulator::act_client},
        {1.5, &Simulator::act_snapshot},    {0.3 * fault_, &Simulator::act_campaign},
        {0.4 * fault_, &Simulator::act_partition}, {0.3, &Simulator::act_heal},
        {0.4 * fault_, &Simulator::act_crash},     {1.5, &Simulator::act_restart},
        {1.0, &Simulator::act_conf_change}, {0.4 * fault_, &Simulator::act_transfer},
        {0.5 * fault_, &Simulator::act_lose_disk},
    };
    calm_ = {
        {40, &Simulator::act_deliver},     {15, &Simulator::act_tick},
        {22, &Simulator::act_ready},       {12, &Simulator::act_client},
        {1.5, &Simulator::act_snapshot},   {0.8, &Simulator::act_restart},
        {0.3, &Simulator::act_conf_change}, {0.1, &Simulator::act_transfer},
    };
    next_spell_ = 1;
  }

  void maybe_change_spell() {
    if (step_ < next_spell_) return;
    storming_ = !storming_;
    next_spell_ = step_ + 100 + rand(300);
    rates_.clear();
    if (!storming_) {
      note("calm spell until step " + std::to_string(next_spell_));
      if (chance(0.8)) net_->recover();
    } else {
      note("storm until step " + std::to_string(next_spell_));
    }
  }

  void step_once() {
    maybe_change_spell();
    const auto& actions = storming_ ? storm_ : calm_;
    double total = 0;
    for (const auto& [w, a] : actions) total += w;
    double x = std::uniform_real_distribution<double>(0, total)(rng_);
    for (const auto& [w, a] : actions) {
      if (x < w) {
        (this->*a)();
        return;
      }
      x -= w;
    }
    act_tick();
  }

  std::vector<NodeId> alive() const { return net_->alive_ids(); }

  NodeId random_alive() {
    auto ids = alive();
    if (ids.empty()) {
      // Everyone is down: bring one back.
      auto all = net_->ids();
      const NodeId id = pick(all);
      net_->restart(id);
      return id;
    }
    return pick(ids);
  }

  // --- Actions. ---

  void act_deliver() {
    auto& wire = net_->wire();
    if (wire.empty()) {
      act_tick();
      return;
    }
    if (wire.size() > kWireCap) {
      net_->deliver(0, Fate::Drop);  // the oldest message is lost in a congested network
      return;
    }
    const size_t i = rand(wire.size());
    const NodeId from = wire[i].from, to = wire[i].to;
    if (chance(p_drop_)) {
      net_->deliver(i, Fate::Drop);
      if (chance(0.3) && net_->has_node(from) && net_->node(from).alive()) {
        net_->act(from, [to](raft::RawNode& r) { r.report_unreachable(to); });
      }
    } else if (chance(p_dup_)) {
      net_->deliver(i, Fate::Duplicate);
    } else {
      if (wire[i].msg_type == raft::MessageType::MsgSnapshot) ++report_.snapshots_sent;
      net_->deliver(i, Fate::Deliver);
    }
  }

  // Nodes' clocks run at different rates (drawn per node, and again at every spell), so an
  // isolated leader may keep its lease long after the others elected a new leader.
  double rate(NodeId id) {
    auto it = rates_.find(id);
    if (it == rates_.end()) {
      it = rates_.emplace(id, 0.2 + std::uniform_real_distribution<double>(0, 2.8)(rng_)).first;
    }
    return it->second;
  }

  void act_tick() {
    auto ids = alive();
    if (ids.empty()) {
      random_alive();
      return;
    }
    double total = 0;
    for (NodeId id : ids) total += rate(id);
    double x = std::uniform_real_distribution<double>(0, total)(rng_);
    for (NodeId id : ids) {
      if (x < rate(id)) {
        net_->tick(id);
        return;
      }
      x -= rate(id);
    }
    net_->tick(ids.back());
  }

  void act_ready() {
    std::vector<NodeId> ready;
    for (NodeId id : alive()) {
      if (net_->has_work(id)) ready.push_back(id);
    }
    if (ready.empty()) {
      act_tick();
      return;
    }
    const NodeId id = pick(ready);
    const bool crash = storming_ && chance(0.004 * fault_);
    if (crash) ++report_.crashes;
    net_->handle_ready(id, crash);
  }

  void act_client() {
    // Clients mostly go to the node they last knew as leader, a hint that lags behind.
    if (cached_leader_ == raft::kNone || chance(0.05)) cached_leader_ = net_->leader();
    NodeId via = random_alive();
    if (cached_leader_ != raft::kNone && net_->node(cached_leader_).alive() && chance(0.6)) {
      via = cached_leader_;
    }
    const std::string line = wl_->start_op(via, step_);
    if (!line.empty()) note(line);
  }

  void act_snapshot() { net_->snapshot_and_compact(random_alive(), rand(6)); }

  void act_campaign() {
    const NodeId id = random_alive();
    note("campaign " + std::to_string(id));
    net_->act(id, [](raft::RawNode& r) { (void)r.campaign(); });
  }

  void act_partition() {
    auto ids = net_->ids();
    net_->recover();
    const uint64_t kind = rand(4);  // isolating the leader is the likeliest
    std::vector<std::vector<NodeId>> groups(2);
    std::string what;
    if (kind == 0 || net_->leader() == raft::kNone) {
      for (NodeId id : ids) groups[rand(2)].push_back(id);
      net_->partition(groups);
      what = "split";
    } else if (kind <= 2) {
      const NodeId l = net_->leader();
      net_->isolate(l);
      what = "isolate leader " + std::to_string(l);
      groups.clear();
    } else {
      // A bridge node talks to both halves, which cannot talk to each other.
      const NodeId bridge = pick(ids);
      for (NodeId id : ids) {
        if (id != bridge) groups[rand(2)].push_back(id);
      }
      groups[0].push_back(bridge);
      groups[1].push_back(bridge);
      net_->partition(groups);
      for (NodeId a : groups[0]) {
        for (NodeId b : groups[1]) {
          if (a != bridge && b != bridge) net_->cut(a, b);
        }
      }
      what = "bridge " + std::to_string(bridge);
    }
    std::ostringstream s;
    s << "partition (" << what << ")";
    for (const auto& g : groups) {
      s << " {";
      for (NodeId id : g) s << " " << id;
      s << " }";
    }
    note(s.str());
  }

  void act_heal() {
    note("heal");
    net_->recover();
  }

  void act_crash() {
    auto ids = alive();
    if (ids.empty()) return;
    ++report_.crashes;
    net_->crash(pick(ids));
  }

  void act_restart() {
    std::vector<NodeId> down;
    for (NodeId id : net_->ids()) {
      if (!net_->node(id).alive()) down.push_back(id);
    }
    if (down.empty()) {
      act_tick();
      return;
    }
    net_->restart(pick(down));
  }

  // Disk loss: a node crashes and loses everything (log, hard state, snapshot), then restarts
  // empty, without a configuration, as a wiped raft-node would. At most one member at a time,
  // and only while the configuration has at least three voters and is not joint, so that a
  // quorum of intact voters can remove it (a majority of wiped voters is a disaster no
  // protocol recovers from without losing data).
  void act_lose_disk() {
    const NodeId l = net_->leader();
    if (l == raft::kNone) return;
    const raft::TrackerConfig cfg = net_->raw(l).raft().prs().config();
    if (cfg.voters.is_joint() || cfg.voters.incoming().size() < 3 || amnesiac_member(cfg) != raft::kNone) return;
    // No membership change may be on its way (it could make the wiped voter necessary to
    // every quorum of a joint configuration): the leader's whole log is committed and applied.
    const raft::RaftLog& log = net_->raw(l).raft().raft_log();
    if (log.committed() != log.last_index() || log.applied() != log.last_index()) return;
    std::vector<NodeId> members = cfg.voters.incoming().sorted();
    members.insert(members.end(), cfg.learners.begin(), cfg.learners.end());
    const NodeId id = pick(members);
    note("lose the disk of " + std::to_string(id));
    net_->crash(id);
    net_->node(id).storage = std::make_unique<raft::MemStorage>();
    amnesiac_.insert(id);
    ++report_.crashes;
    ++report_.disk_losses;
    net_->restart(id);
  }

  // A member of `cfg` that lost its disk (kNone if none).
  NodeId amnesiac_member(const raft::TrackerConfig& cfg) const {
    for (NodeId id : amnesiac_)
      if (cfg.voters.contains(id) || cfg.learners.count(id) || cfg.learners_next.count(id)) return id;
    return raft::kNone;
  }

  // The operator's first step after a disk loss: remove the wiped member. Returns true if a
  // removal was proposed.
  bool remove_amnesiac(NodeId leader) {
    const raft::TrackerConfig cfg = net_->raw(leader).raft().prs().config();
    const NodeId id = amnesiac_member(cfg);
    if (id == raft::kNone || cfg.voters.is_joint()) return false;
    ConfChangeV2 cc;
    cc.changes.push_back(ConfChangeSingle{ConfChangeType::RemoveNode, id});
    note("propose " + raft::describe(cc) + " (it lost its disk) via " + std::to_string(leader));
    net_->act(leader, [&](raft::RawNode& r) { (void)r.propose_conf_change("", cc); });
    return true;
  }

  NodeId new_node() {
    if (next_id_ > kMaxNodeId) return raft::kNone;
    const NodeId id = next_id_++;
    net_->add_empty_node(id);
    return id;
  }

  void act_conf_change() {
    const NodeId l = net_->leader();
    if (l == raft::kNone) return;
    const raft::TrackerConfig cfg = net_->raw(l).raft().prs().config();
    // While a wiped member is in the configuration, removing it is the only change (other
    // changes could leave a configuration whose quorum needs it).
    if (amnesiac_member(cfg) != raft::kNone) {
      if (remove_amnesiac(l)) ++report_.conf_changes;
      return;
    }
    std::vector<NodeId> voters = cfg.voters.incoming().sorted();
    std::vector<NodeId> learners(cfg.learners.begin(), cfg.learners.end());
    const size_t members = voters.size() + learners.size();
    // A new node joins as a learner and is promoted once it knows a configuration, as
    // push-config does: a node without one grants no vote (Raft::handle_vote_request), so an
    // empty node made a voter at once could leave a configuration without a quorum forever.
    std::vector<NodeId> promotable;
    for (NodeId id : learners)
      if (net_->has_node(id) && !net_->node(id).storage->initial_state()->conf_state.voters.empty())
        promotable.push_back(id);
    ConfChangeV2 cc;
    auto transition = [&] {
      return pick(std::vector<ConfChangeTransition>{ConfChangeTransition::Auto,
                                                    ConfChangeTransition::Implicit,
                                                    ConfChangeTransition::Explicit});
    };
    if (cfg.voters.is_joint()) {
      if (cfg.auto_leave) return;  // the leader leaves by itself
      // Explicit transition: the application leaves the joint configuration.
    } else {
      const uint64_t kind = rand(9);
      const bool can_grow = members < kMaxMembers && next_id_ <= kMaxNodeId;
      const bool can_shrink = voters.size() > 3 || (voters.size() > 1 && rand(4) == 0);
      auto add = [&](ConfChangeType t, NodeId id) { cc.changes.push_back(ConfChangeSingle{t, id}); };
      switch (kind) {
        case 0:  // add a learner and, in the same change, promote one that knows the configuration
          if (!can_grow || promotable.empty()) return;
          add(ConfChangeType::AddLearnerNode, new_node());
          add(ConfChangeType::AddNode, pick(promotable));
          cc.transition = transition();
          break;
        case 1:  // add a learner
          if (!can_grow) return;
          add(ConfChangeType::AddLearnerNode, new_node());
          break;
        case 2:  // promote a learner
          if (promotable.empty()) return;
          add(ConfChangeType::AddNode, pick(promotable));
          cc.transition = transition();
          break;
        case 3:  // remove a voter (maybe the leader)
          if (!can_shrink) return;
          add(ConfChangeType::RemoveNode, pick(voters));
          break;
        case 4:  // remove a learner
          if (learners.empty()) return;
          add(ConfChangeType::RemoveNode, pick(learners));
          break;
        case 5:  // replace a voter by a learner in one joint change
          if (promotable.empty()) return;
          add(ConfChangeType::AddNode, pick(promotable));
          add(ConfChangeType::RemoveNode, pick(voters));
          cc.transition = transition();
          break;
        case 6:  // demote a voter to learner
          if (!can_shrink) return;
          add(ConfChangeType::AddLearnerNode, pick(voters));
          cc.transition = transition();
          break;
        case 7:  // promote a learner and remove a voter at once
          if (promotable.empty() || voters.size() < 2) return;
          add(ConfChangeType::AddNode, pick(promotable));
          add(ConfChangeType::RemoveNode, pick(voters));
          cc.transition = transition();
          break;
        default:  // add two learners at once
          if (members + 2 > kMaxMembers || next_id_ + 1 > kMaxNodeId) return;
          add(ConfChangeType::AddLearnerNode, new_node());
          add(ConfChangeType::AddLearnerNode, new_node());
          cc.transition = transition();
          break;
      }
    }
    // Usually to the leader; sometimes through another node, which forwards it.
    NodeId via = l;
    if (chance(0.25)) via = random_alive();
    ++report_.conf_changes;
    note("propose " + raft::describe(cc) + " via " + std::to_string(via));
    net_->act(via, [&](raft::RawNode& r) {
      auto res = r.propose_conf_change("", cc);
      if (!res) note("  refused: " + res.error().to_string());
    });
  }

  void act_transfer() {
    const NodeId l = net_->leader();
    if (l == raft::kNone) return;
    auto voters = net_->raw(l).raft().prs().config().voters.incoming().sorted();
    const NodeId to = pick(voters);
    note("transfer leadership " + std::to_string(l) + " -> " + std::to_string(to));
    net_->act(l, [to](raft::RawNode& r) { r.transfer_leader(to); });
  }

  // --- Liveness. ---

  bool members_caught_up(std::string* why) {
    const NodeId l = net_->leader();
    if (l == raft::kNone) {
      *why = "no leader";
      return false;
    }
    const raft::TrackerConfig cfg = net_->raw(l).raft().prs().config();
    std::set<NodeId> members = cfg.voters.ids();
    members.insert(cfg.learners.begin(), cfg.learners.end());
    members.insert(cfg.learners_next.begin(), cfg.learners_next.end());
    const Index target = wl_->max_acked_index();
    for (NodeId id : members) {
      if (!net_->has_node(id) || !net_->node(id).alive()) {
        *why = "member " + std::to_string(id) + " is not running";
        return false;
      }
      if (net_->node(id).applied < target) {
        *why = "member " + std::to_string(id) + " applied only " +
               std::to_string(net_->node(id).applied) + " of " + std::to_string(target);
        return false;
      }
    }
    return true;
  }

  void liveness() {
    inv_->step_label = "seed " + std::to_string(o_.seed) + " liveness phase";
    note("liveness phase: heal, restart every node");
    net_->recover();
    for (NodeId id : net_->ids()) {
      if (!net_->node(id).alive()) net_->restart(id);
    }
    const bool quiet_removed = !(net_->config_template().pre_vote && net_->config_template().check_quorum);
    std::string why;
    for (int t = 0; t <= o_.liveness_ticks; ++t) {
      net_->stabilize();
      if (members_caught_up(&why)) {
        report_.liveness_ticks = t;
        check_convergence();
        return;
      }
      const NodeId l = net_->leader();
      if (l != raft::kNone) {
        const raft::TrackerConfig cfg = net_->raw(l).raft().prs().config();
        if (t % 10 == 0 && net_->raw(l).raft().pending_conf_index() <= net_->raw(l).raft().raft_log().applied())
          (void)remove_amnesiac(l);
        if (cfg.voters.is_joint() && !cfg.auto_leave) {
          net_->act(l, [](raft::RawNode& r) { (void)r.propose_conf_change("", ConfChangeV2{}); });
        }
        const raft::RaftLog& log = net_->raw(l).raft().raft_log();
        const bool settled = log.applied() == log.last_index() &&
                             net_->raw(l).raft().pending_conf_index() <= log.applied();
        if (quiet_removed && settled) {
          // Without pre-vote and check-quorum a removed node that never learned of its
          // removal keeps starting elections; operators shut removed nodes down. Only once
          // the leader applied its whole log: its membership is then final.
          for (NodeId id : net_->alive_ids()) {
            if (!cfg.voters.contains(id) && !cfg.learners.count(id) && !cfg.learners_next.count(id)) {
              net_->crash(id);
            }
          }
        }
      }
      net_->tick_all();
    }
    std::ostringstream s;
    s << "LIVENESS VIOLATION: after healing and " << o_.liveness_ticks
      << " ticks the cluster has not converged: " << why << "\n  nodes:\n";
    for (NodeId id : net_->ids()) s << "    " << describe_node(net_->node(id), 16) << "\n";
    throw SimFailure(s.str());
  }

  // Members that applied the same index hold the same state.
  void check_convergence() {
    std::map<Index, std::pair<NodeId, const KvApp*>> by_index;
    for (NodeId id : net_->alive_ids()) {
      const SimNode& n = net_->node(id);
      auto [it, inserted] = by_index.try_emplace(n.applied, id, &n.app);
      if (!inserted && !(*it->second.second == n.app)) {
        throw SimFailure("STATE MACHINE DIVERGENCE: nodes " + std::to_string(it->second.first) +
                         " and " + std::to_string(id) + " applied up to " +
                         std::to_string(n.applied) + " but hold different states");
      }
    }
  }

  void check_history() {
    auto r = lincheck::check(wl_->history());
    if (r.ok()) return;
    throw SimFailure(std::string(r.verdict == lincheck::Verdict::Inconclusive
                                     ? "LINEARIZABILITY CHECK INCONCLUSIVE: "
                                     : "LINEARIZABILITY VIOLATION: ") +
                     r.explanation);
  }

  SimOptions o_;
  std::mt19937_64 rng_;
  std::unique_ptr<Network> net_;
  std::unique_ptr<Invariants> inv_;
  std::unique_ptr<Workload> wl_;
  std::vector<std::pair<double, Action>> storm_;
  std::vector<std::pair<double, Action>> calm_;
  bool storming_ = false;
  std::map<NodeId, double> rates_;
  NodeId cached_leader_ = raft::kNone;
  uint64_t next_spell_ = 1;
  std::deque<std::string> recent_;
  std::string setup_summary_;
  uint64_t step_ = 0;
  NodeId next_id_ = 1;
  std::set<NodeId> amnesiac_;  // nodes that lost their disk (refused by every peer)
  double fault_ = 1;
  double p_drop_ = 0;
  double p_dup_ = 0;
  SimReport report_;
};

}  // namespace

SimReport run_simulation(const SimOptions& options) { return Simulator(options).run(); }

}  // namespace sim
