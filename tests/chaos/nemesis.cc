#include "tests/chaos/nemesis.h"

#include <algorithm>
#include <iostream>
#include <sstream>

#include "client/push_config.h"
#include "config/cluster_config.h"

namespace chaos {
namespace {

std::string list(const std::vector<uint64_t>& ids) {
  std::ostringstream s;
  s << "{";
  for (size_t i = 0; i < ids.size(); ++i) s << (i ? "," : "") << ids[i];
  s << "}";
  return s.str();
}

}  // namespace

Nemesis::Nemesis(ChaosCluster& cluster, Firewall& firewall, Clock::time_point origin, uint64_t seed)
    : cluster_(cluster), firewall_(firewall), origin_(origin), rng_(seed), base_network_(cluster.network(1)) {}


std::vector<FaultEvent> Nemesis::events() const {
  std::lock_guard<std::mutex> lock(mu_);
  return events_;
}

std::map<std::string, int> Nemesis::counts() const {
  std::map<std::string, int> out;
  for (auto& e : events()) ++out[e.kind];
  return out;
}

std::vector<std::string> Nemesis::problems() const {
  std::lock_guard<std::mutex> lock(mu_);
  return problems_;
}

uint64_t Nemesis::now_ns() const {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - origin_).count());
}

void Nemesis::sleep_ms(int ms) {
  const auto until = Clock::now() + std::chrono::milliseconds(ms);
  while (Clock::now() < until_ && Clock::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

uint64_t Nemesis::pick(const std::vector<uint64_t>& from) { return from[rng_() % from.size()]; }

std::vector<uint64_t> Nemesis::shuffled_ids() {
  auto ids = cluster_.ids();
  std::shuffle(ids.begin(), ids.end(), rng_);
  return ids;
}

void Nemesis::record(FaultEvent e) {
  // One progress line per fault: a long run shows what it is doing.
  std::cout << "chaos: t=" << e.start_ns / 1000000 << " ms " << e.kind << " (" << e.detail << "), held "
            << (e.end_ns - e.start_ns) / 1000000 << " ms" << std::endl;
  std::lock_guard<std::mutex> lock(mu_);
  events_.push_back(std::move(e));
}

void Nemesis::heal_all() {
  if (firewall_.available() && !firewall_.heal()) {
    std::lock_guard<std::mutex> lock(mu_);
    problems_.push_back("heal: " + firewall_.last_error());
  }
  for (auto id : cluster_.ids()) {
    if (cluster_.paused(id)) cluster_.resume(id);
    if (cluster_.network(id) != base_network_) {
      // The lossy or slow node goes back to the network everyone else has.
      cluster_.set_network(id, base_network_);
      cluster_.kill(id);
    }
    // A removed member's data would make it exit at once: it comes back through
    // restore_membership, empty.
    if (!cluster_.running(id) && !outside_.count(id)) cluster_.start(id);
  }
  if (!outside_.empty()) {
    // Generous: the cluster has just healed from whatever was combined with the change.
    const std::string why = restore_membership(std::chrono::seconds(90));
    if (!why.empty()) {
      std::lock_guard<std::mutex> lock(mu_);
      problems_.push_back("membership not restored after healing: " + why);
    }
  }
}

int Nemesis::push(const std::string& file, std::chrono::milliseconds timeout, std::string* last_line) {
  auto loaded = config::load(cluster_.config_path());
  if (auto* err = std::get_if<config::ConfigError>(&loaded)) {
    *last_line = "cannot load the cluster file: " + err->message;
    return 2;
  }
  client::PushOptions opts;
  opts.file = file;
  opts.timeout = timeout;
  opts.catchup_timeout = timeout;
  std::ostringstream out, err;
  const int rc = client::push_config(ctx_, std::get<config::ClusterConfig>(loaded), opts, out, err);
  std::string last;
  std::istringstream lines(err.str().empty() ? out.str() : err.str());
  for (std::string l; std::getline(lines, l);)
    if (!l.empty()) last = l;
  *last_line = last;
  return rc;
}

std::string Nemesis::remove_member(uint64_t id) {
  outside_.insert(id);
  cluster_.expect_exit(id);
  std::string last;
  const int rc = push(cluster_.config_without(id), std::chrono::seconds(20), &last);
  return rc == 0 ? "removed " + std::to_string(id)
                 : "removal of " + std::to_string(id) + " ended with exit " + std::to_string(rc) + ": " + last;
}

std::string Nemesis::restore_membership(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  std::string why = "no leader";
  while (Clock::now() < deadline) {
    // The leader's view of the membership says who is still (or already) a member.
    std::optional<transport::NodeStatus> view;
    for (auto& [id, st] : cluster_.statuses(std::chrono::milliseconds(500)))
      if (st.role == "leader" && (!view || st.term > view->term)) view = st;
    if (!view) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      continue;
    }
    auto listed = [&](uint64_t id) {
      for (const auto* v : {&view->voters, &view->learners, &view->voters_outgoing})
        if (std::find(v->begin(), v->end(), id) != v->end()) return true;
      return false;
    };
    for (auto id : std::set<uint64_t>(outside_)) {
      if (listed(id)) continue;  // the removal did not happen (or is being undone): keep its data
      if (!wiped_.count(id)) {
        cluster_.kill(id);
        cluster_.wipe(id);
        wiped_.insert(id);
      }
      cluster_.start(id);
    }
    std::string last;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    const int rc = push(cluster_.config_path(), std::min<std::chrono::milliseconds>(left, std::chrono::seconds(30)), &last);
    if (rc == 0) {
      for (auto id : outside_) cluster_.start(id);  // a member whose removal never happened, if it stopped
      outside_.clear();
      wiped_.clear();
      return "";
    }
    why = "push-config exit " + std::to_string(rc) + ": " + last;
  }
  return why;
}

bool Nemesis::partition(const std::vector<uint64_t>& a, const std::vector<uint64_t>& b,
                        const std::vector<uint64_t>& bridge) {
  std::set<std::pair<uint64_t, uint64_t>> cut;
  for (auto x : a)
    for (auto y : b) cut.insert({x, y});
  (void)bridge;  // the bridge keeps its links to both sides: nothing to cut
  if (firewall_.cut(cut)) return true;
  std::lock_guard<std::mutex> lock(mu_);
  problems_.push_back("partition: " + firewall_.last_error());
  return false;
}

void Nemesis::run_for(std::chrono::seconds duration) {
  until_ = Clock::now() + duration;
  // Let the cluster settle and the clients get going before the first fault.
  sleep_ms(1500);
  const std::vector<std::string> kinds_all{"kill_random", "kill_leader",       "pause_random", "pause_leader",
                                           "kill_all",    "partition_minority", "isolate_leader", "bridge",
                                           "partition_and_kill", "partition_and_pause", "kill_two",
                                           "lossy_node",  "slow_node",         "replace_member",    "replace_leader",
                                           "replace_member_and_kill", "replace_member_and_pause", "disk_lost"};
  std::vector<std::string> kinds;
  for (auto& k : kinds_all) {
    const bool needs_firewall = k.find("partition") != std::string::npos || k == "isolate_leader" || k == "bridge";
    if (!needs_firewall || firewall_.available()) kinds.push_back(k);
  }
  while (Clock::now() < until_) {
    const std::string kind = kinds[rng_() % kinds.size()];
    const int hold_ms = 800 + static_cast<int>(rng_() % 2700);
    const int quiet_ms = 500 + static_cast<int>(rng_() % 2000);
    FaultEvent e;
    e.kind = kind;
    e.start_ns = now_ns();
    auto ids = shuffled_ids();
    auto leader = cluster_.claimed_leader();
    const uint64_t target_leader = leader.value_or(ids[0]);
    if (kind == "kill_random") {
      cluster_.kill(ids[0]);
      e.detail = "killed " + std::to_string(ids[0]);
    } else if (kind == "kill_leader") {
      cluster_.kill(target_leader);
      e.detail = "killed leader " + std::to_string(target_leader) + (leader ? "" : " (no leader known)");
    } else if (kind == "kill_two") {
      cluster_.kill(ids[0]);
      cluster_.kill(ids[1]);
      e.detail = "killed " + std::to_string(ids[0]) + " and " + std::to_string(ids[1]);
    } else if (kind == "pause_random") {
      cluster_.pause(ids[0]);
      e.detail = "paused " + std::to_string(ids[0]);
    } else if (kind == "pause_leader") {
      cluster_.pause(target_leader);
      e.detail = "paused leader " + std::to_string(target_leader);
    } else if (kind == "kill_all") {
      for (auto id : ids) cluster_.kill(id);
      e.detail = "killed all";
    } else if (kind == "lossy_node") {
      cluster_.set_network(ids[0], {kLossyNodeDropRate, base_network_.delay_ms});
      cluster_.kill(ids[0]);
      cluster_.start(ids[0]);
      e.detail = "node " + std::to_string(ids[0]) + " restarted dropping " +
                 std::to_string(static_cast<int>(kLossyNodeDropRate * 100)) + "% of its messages";
    } else if (kind == "slow_node") {
      cluster_.set_network(ids[0], {base_network_.drop_rate, kSlowNodeDelayMs});
      cluster_.kill(ids[0]);
      cluster_.start(ids[0]);
      e.detail = "node " + std::to_string(ids[0]) + " restarted holding its messages 0.." +
                 std::to_string(kSlowNodeDelayMs) + " ms";
    } else if (kind.rfind("replace_", 0) == 0) {
      // A membership change under faults: remove a member (the leader, for replace_leader),
      // then wipe it and add it back as a new empty member, while another node is down.
      const uint64_t member = kind == "replace_leader" ? target_leader : ids[0];
      const uint64_t other = member == ids[1] ? ids[2] : ids[1];
      if (kind == "replace_member_and_kill") {
        cluster_.kill(other);
        e.detail = "killed " + std::to_string(other) + ", ";
      } else if (kind == "replace_member_and_pause") {
        cluster_.pause(other);
        e.detail = "paused " + std::to_string(other) + ", ";
      }
      e.detail += remove_member(member);
      sleep_ms(hold_ms / 2);
      const std::string why = restore_membership(std::chrono::seconds(30));
      e.detail += why.empty() ? ", added back empty" : ", not yet added back (" + why + ")";
    } else if (kind == "disk_lost") {
      // A member loses its disk and is started again, empty, while still a member: its peers
      // refuse its new incarnation and it neither votes nor campaigns. The operator's remedy
      // (docs/membership.md "Amnesia"): push the file without it, then with it.
      const uint64_t member = ids[0];
      cluster_.kill(member);
      cluster_.wipe(member);
      cluster_.start(member);
      e.detail = "node " + std::to_string(member) + " lost its disk and was started empty, ";
      sleep_ms(hold_ms / 2);
      e.detail += remove_member(member);
      const std::string why = restore_membership(std::chrono::seconds(30));
      e.detail += why.empty() ? ", added back empty" : ", not yet added back (" + why + ")";
    } else if (kind == "partition_minority" || kind == "partition_and_kill" || kind == "partition_and_pause") {
      std::vector<uint64_t> majority(ids.begin(), ids.begin() + 3), minority(ids.begin() + 3, ids.end());
      partition(majority, minority, {});
      e.detail = "split " + list(majority) + " | " + list(minority);
      if (kind == "partition_and_kill") {
        const uint64_t victim = pick(majority);
        cluster_.kill(victim);
        e.detail += ", killed " + std::to_string(victim);
      } else if (kind == "partition_and_pause") {
        const uint64_t victim = pick(ids);
        cluster_.pause(victim);
        e.detail += ", paused " + std::to_string(victim);
      }
    } else if (kind == "isolate_leader") {
      std::vector<uint64_t> rest;
      for (auto id : ids)
        if (id != target_leader) rest.push_back(id);
      partition({target_leader}, rest, {});
      e.detail = "isolated leader " + std::to_string(target_leader);
    } else if (kind == "bridge") {
      std::vector<uint64_t> a{ids[0], ids[1]}, b{ids[2], ids[3]};
      partition(a, b, {ids[4]});
      e.detail = list(a) + " | " + list(b) + " bridged by " + std::to_string(ids[4]);
    }
    if (kind == "kill_all") {
      sleep_ms(std::min(hold_ms, 1200));
      for (auto id : ids)
        if (!outside_.count(id)) cluster_.start(id);
    } else {
      sleep_ms(hold_ms);
    }
    heal_all();
    e.end_ns = now_ns();
    record(std::move(e));
    sleep_ms(quiet_ms);
  }
  heal_all();
}

}  // namespace chaos
