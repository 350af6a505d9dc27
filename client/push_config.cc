#include "client/push_config.h"

#include <algorithm>
#include <map>
#include <optional>
#include <ostream>
#include <set>
#include <sstream>
#include <thread>
#include <variant>
#include <vector>

#include "client/client.h"
#include "client/connection.h"
#include "node/member_addresses.h"
#include "transport/client_protocol.h"

namespace client {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using Ids = std::set<raft::NodeId>;

constexpr int kExitOk = 0, kExitBadFile = 2, kExitUnavailable = 3, kExitRefused = 4;

std::string join(const Ids& ids) {
  std::string s;
  for (auto id : ids) {
    if (!s.empty()) s += ' ';
    s += std::to_string(id);
  }
  return "(" + s + ")";
}

Ids to_set(const std::vector<raft::NodeId>& v) { return Ids(v.begin(), v.end()); }

Ids minus(const Ids& a, const Ids& b) {
  Ids out;
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::inserter(out, out.end()));
  return out;
}

Ids intersect(const Ids& a, const Ids& b) {
  Ids out;
  std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::inserter(out, out.end()));
  return out;
}

// "raft_addr client_addr" (NodeStatus::members) -> (raft, client)
std::pair<std::string, std::string> split_member(const std::string& s) {
  const auto sp = s.find(' ');
  if (sp == std::string::npos) return {s, ""};
  return {s.substr(0, sp), s.substr(sp + 1)};
}

// What the leader says about the membership, and what every asked node said.
struct Observation {
  transport::NodeStatus leader;
  std::string leader_client;
  std::map<raft::NodeId, Client::MemberStatus> answers;
};

class Pusher {
 public:
  Pusher(zmq::context_t& ctx, const config::ClusterConfig& current, const config::ClusterConfig& desired,
         const PushOptions& options, std::ostream& out, std::ostream& err)
      : ctx_(ctx), desired_(desired), options_(options), out_(out), err_(err) {
    for (const auto& n : current.nodes) endpoints_[n.id] = n.client;
    for (const auto& n : desired.nodes) endpoints_[n.id] = n.client;
    for (const auto& n : desired.nodes) wanted_.insert(n.id);
  }

  int run();

 private:
  std::optional<Observation> observe();
  // Sends one request to `endpoint` and waits for its reply until `until` (no retry: a
  // membership change must not be proposed twice blindly; the next observation decides).
  std::optional<transport::ClientReply> request_once(raft::NodeId id, const std::string& endpoint,
                                                     transport::ClientRequest req, Clock::time_point until);
  // Proposes `cc` through the leader. Returns an exit code to stop with, or nullopt to go on
  // observing (applied, busy, lost leader: the next observation tells).
  std::optional<int> change(const Observation& obs, raft::ConfChangeV2 cc, const std::string& what);
  std::optional<int> preflight(const Observation& obs, const Ids& to_add);
  void print_plan(const Observation& obs, const Ids& to_add, const Ids& to_promote, const Ids& to_remove);
  void report_removed(const Ids& removed);
  void pause(milliseconds d) { std::this_thread::sleep_until(std::min(deadline_, Clock::now() + d)); }

  zmq::context_t& ctx_;
  const config::ClusterConfig& desired_;
  const PushOptions& options_;
  std::ostream& out_;
  std::ostream& err_;
  std::map<raft::NodeId, std::string> endpoints_;  // client endpoints to ask for status
  Ids wanted_;
  Clock::time_point deadline_;
  std::string last_problem_ = "no leader found";
};

std::string describe_membership(const transport::NodeStatus& s) {
  std::string out = "voters " + join(to_set(s.voters));
  if (!s.voters_outgoing.empty()) out += " && " + join(to_set(s.voters_outgoing)) + " (joint)";
  if (!s.learners.empty()) out += ", learners " + join(to_set(s.learners));
  return out;
}

std::optional<Observation> Pusher::observe() {
  Observation obs;
  bool found = false;
  // Members added by earlier pushes (the leader among them) may be in neither file: every
  // member knows the addresses it learned from the log, so ask again when they name new ones.
  for (int round = 0; round < 2 && !found; ++round) {
    Options o;
    for (const auto& [id, ep] : endpoints_) o.members.push_back({id, ep});
    Client c(ctx_, o);
    bool learned = false;
    for (auto& ms : c.status_all(milliseconds(700))) {
      if (ms.reachable && ms.status.role == "leader" && (!found || ms.status.term > obs.leader.term)) {
        obs.leader = ms.status;
        obs.leader_client = ms.member.client;
        found = true;
      }
      for (const auto& [id, addrs] : ms.status.members) {
        auto [raft_addr, client_addr] = split_member(addrs);
        if (!client_addr.empty() && !endpoints_.count(id)) endpoints_[id] = client_addr, learned = true;
      }
      obs.answers[ms.member.id] = std::move(ms);
    }
    if (!learned) break;
  }
  if (!found) {
    last_problem_ = "no member reports being the leader";
    return std::nullopt;
  }
  return obs;
}

std::optional<transport::ClientReply> Pusher::request_once(raft::NodeId id, const std::string& endpoint,
                                                           transport::ClientRequest req, Clock::time_point until) {
  Connection conn(ctx_, id, endpoint, desired_.cluster_id);
  const uint64_t rid = conn.send(std::move(req));
  if (rid == 0) return std::nullopt;
  std::vector<transport::ClientReply> replies;
  while (true) {
    replies.clear();
    conn.receive_all(replies);
    for (auto& r : replies)
      if (r.request_id == rid) return std::move(r);
    const auto now = Clock::now();
    if (now >= until) return std::nullopt;
    zmq::pollitem_t item{conn.socket().handle(), 0, ZMQ_POLLIN, 0};
    zmq::poll(&item, 1, std::chrono::duration_cast<milliseconds>(until - now) + milliseconds(1));
  }
}

std::optional<int> Pusher::change(const Observation& obs, raft::ConfChangeV2 cc, const std::string& what) {
  out_ << what << " ...\n" << std::flush;
  transport::ClientRequest req;
  req.kind = transport::RequestKind::ConfChange;
  req.conf_change = std::move(cc);
  const auto until = std::min(deadline_, Clock::now() + milliseconds(10000));
  auto reply = request_once(obs.leader.id, obs.leader_client, std::move(req), until);
  if (!reply) {
    last_problem_ = "the leader did not answer the membership change in time";
    out_ << "  no answer from the leader: checking the membership again\n";
    return std::nullopt;
  }
  switch (reply->code) {
    case transport::ReplyCode::Ok:
      out_ << "  applied: " << describe_membership(reply->status) << "\n";
      return std::nullopt;
    case transport::ReplyCode::Rejected:
      err_ << "push-config: the cluster refused the change: " << reply->error << "\n";
      return kExitRefused;
    case transport::ReplyCode::Busy:
      last_problem_ = reply->error;
      out_ << "  busy (" << reply->error << "): waiting\n";
      pause(milliseconds(200));
      return std::nullopt;
    default:
      last_problem_ = reply->error.empty() ? "the leader changed" : reply->error;
      out_ << "  outcome unknown (" << last_problem_ << "): checking the membership again\n";
      pause(milliseconds(200));
      return std::nullopt;
  }
}

std::optional<int> Pusher::preflight(const Observation& obs, const Ids& to_add) {
  if (obs.leader.cluster_id != desired_.cluster_id) {
    err_ << "push-config: refused: " << desired_.path << " is for cluster '" << desired_.cluster_id
         << "' but the cluster reached is '" << obs.leader.cluster_id << "'\n";
    return kExitRefused;
  }
  if (wanted_.empty()) {
    err_ << "push-config: refused: the file leaves no voter\n";
    return kExitRefused;
  }
  // A member keeps its addresses: the other nodes know it by the ones they learned.
  for (const auto& [id, addrs] : obs.leader.members) {
    const auto* n = desired_.find(id);
    if (!n) continue;
    auto [raft_addr, client_addr] = split_member(addrs);
    if (raft_addr != n->raft || client_addr != n->client) {
      err_ << "push-config: refused: node " << id << " is known to the cluster at " << raft_addr << " "
           << client_addr << " but the file says " << n->raft << " " << n->client
           << " (a member's address cannot change: remove it and add it under a new id)\n";
      return kExitRefused;
    }
  }
  for (auto id : to_add) {
    const auto* n = desired_.find(id);
    auto it = obs.answers.find(id);
    if (it == obs.answers.end() || !it->second.reachable) {
      err_ << "push-config: refused: new member " << id << " does not answer on " << n->client
           << " (start it first, e.g. scripts/cluster.sh --config " << desired_.path << " start " << id
           << "); nothing was changed\n";
      return kExitRefused;
    }
    const auto& s = it->second.status;
    if (s.cluster_id != desired_.cluster_id) {
      err_ << "push-config: refused: new member " << id << " belongs to cluster '" << s.cluster_id
           << "'; nothing was changed\n";
      return kExitRefused;
    }
    if (!s.voters.empty() || !s.learners.empty() || s.last_index != 0) {
      err_ << "push-config: refused: new member " << id << " is not empty (last index " << s.last_index << ", "
           << describe_membership(s)
           << "): start it with an empty data dir; nothing was changed\n";
      return kExitRefused;
    }
  }
  return std::nullopt;
}

void Pusher::print_plan(const Observation& obs, const Ids& to_add, const Ids& to_promote, const Ids& to_remove) {
  out_ << "cluster '" << obs.leader.cluster_id << "', leader " << obs.leader.id << ": "
       << describe_membership(obs.leader) << "\n";
  out_ << "file " << desired_.path << ": members " << join(wanted_) << "\n";
  out_ << "plan:\n";
  if (!obs.leader.voters_outgoing.empty()) out_ << "  - leave the joint configuration left by an earlier change\n";
  if (to_remove.count(obs.leader.id))
    out_ << "  - transfer leadership from node " << obs.leader.id << " (to be removed) to a remaining voter\n";
  for (auto id : to_add) {
    const auto* n = desired_.find(id);
    out_ << "  - add node " << id << " (raft " << n->raft << ", client " << n->client << ") as a learner\n";
  }
  const Ids learners = [&] {
    Ids l = to_promote;
    l.insert(to_add.begin(), to_add.end());
    return l;
  }();
  if (!learners.empty())
    out_ << "  - wait until learners " << join(learners) << " are within " << kMaxCatchUpLag
         << " entries of the leader's commit\n";
  if (!learners.empty() || !to_remove.empty()) {
    size_t voter_changes = learners.size();
    for (auto id : to_remove)
      if (std::count(obs.leader.voters.begin(), obs.leader.voters.end(), id)) ++voter_changes;
    out_ << "  - one change: ";
    bool first = true;
    for (auto id : learners) out_ << (first ? "" : ", ") << "promote " << id, first = false;
    for (auto id : to_remove) out_ << (first ? "" : ", ") << "remove " << id, first = false;
    out_ << (voter_changes > 1 ? " (joint consensus, left automatically)" : " (a single-step change)") << "\n";
  }
}

void Pusher::report_removed(const Ids& removed) {
  if (removed.empty()) return;
  Options o;
  for (auto id : removed)
    if (endpoints_.count(id)) o.members.push_back({id, endpoints_[id]});
  if (o.members.empty()) return;
  Client c(ctx_, o);
  for (const auto& ms : c.status_all(milliseconds(500))) {
    if (!ms.reachable) {
      out_ << "node " << ms.member.id << " was removed and has stopped\n";
    } else {
      out_ << "node " << ms.member.id
           << " was removed; it stops itself once it learns of its removal (if it keeps running, stop it: "
              "scripts/cluster.sh stop "
           << ms.member.id << ")\n";
    }
  }
}

int Pusher::run() {
  deadline_ = Clock::now() + options_.timeout;
  bool planned = false;
  Ids removed_total;
  std::optional<Clock::time_point> catchup_deadline;
  Clock::time_point joint_since{};  // when the current joint state was first seen (if seen_joint)
  bool seen_joint = false;
  bool left_over_joint = false;                  // the push found a joint configuration
  std::map<raft::NodeId, uint64_t> last_shown;
  auto last_progress_line = Clock::now() - std::chrono::seconds(10);
  std::string last_line;
  while (true) {
    if (Clock::now() >= deadline_) {
      err_ << "push-config: timed out after " << options_.timeout.count() / 1000.0 << " s (" << last_problem_
           << "); push the file again to finish the change\n";
      return kExitUnavailable;
    }
    auto obs = observe();
    if (!obs) {
      pause(milliseconds(200));
      continue;
    }
    const auto& L = obs->leader;
    const Ids voters = to_set(L.voters), outgoing = to_set(L.voters_outgoing), learners = to_set(L.learners);
    Ids members = voters;
    members.insert(outgoing.begin(), outgoing.end());
    members.insert(learners.begin(), learners.end());
    const Ids to_add = minus(wanted_, members);
    const Ids to_promote = intersect(wanted_, learners);
    Ids current = voters;
    current.insert(learners.begin(), learners.end());
    const Ids to_remove = minus(current, wanted_);
    const bool joint = !outgoing.empty();

    if (!joint) seen_joint = false;
    if (!planned) {
      left_over_joint = joint;
      if (auto stop = preflight(*obs, to_add)) return *stop;
      if (!joint && to_add.empty() && to_promote.empty() && to_remove.empty()) {
        out_ << "membership already matches " << desired_.path << ": " << describe_membership(L) << "\n";
        return kExitOk;
      }
      print_plan(*obs, to_add, to_promote, to_remove);
      if (options_.dry_run) {
        out_ << "dry run: nothing was changed\n";
        return kExitOk;
      }
      planned = true;
    }
    if (joint) {
      // A change made by this push leaves the joint configuration by itself (auto_leave):
      // give it a moment before asking explicitly (needed when an earlier push or leader
      // died half way and nobody will leave it otherwise).
      if (!seen_joint) joint_since = Clock::now(), seen_joint = true;
      if (Clock::now() - joint_since < milliseconds(1000) && !left_over_joint) {
        pause(milliseconds(50));
        continue;
      }
      if (auto stop = change(*obs, raft::ConfChangeV2{}, "leaving the joint configuration " + describe_membership(L)))
        return *stop;
      continue;
    }
    if (to_remove.count(L.id)) {
      // Hand leadership to the most caught-up remaining voter before anything else: new
      // members know only the addresses of their file, where the leader must be to reach them.
      raft::NodeId target = raft::kNone;
      uint64_t best = 0;
      for (const auto& [pid, m] : L.progress_matched)
        if (pid != L.id && voters.count(pid) && wanted_.count(pid) && (target == raft::kNone || m > best))
          target = pid, best = m;
      if (target != raft::kNone) {
        out_ << "transferring leadership from node " << L.id << " to node " << target << " ...\n" << std::flush;
        transport::ClientRequest req;
        req.kind = transport::RequestKind::TransferLeader;
        req.target = target;
        auto reply =
            request_once(L.id, obs->leader_client, std::move(req), std::min(deadline_, Clock::now() + milliseconds(10000)));
        if (reply && reply->code == transport::ReplyCode::Ok) {
          out_ << "  node " << target << " leads\n";
        } else {
          last_problem_ = reply ? "transfer: " + reply->error : "the leader did not answer the transfer";
          out_ << "  " << last_problem_ << ": checking again\n";
          pause(milliseconds(200));
        }
        continue;
      }
      // No remaining voter to hand over to (every voter is replaced): the leader steps down
      // by itself once it applies its removal.
    }
    if (!to_add.empty()) {
      raft::ConfChangeV2 cc;
      std::vector<node::MemberAddress> addrs;
      // Each new member is recorded with the incarnation of its data folder, as its status
      // reports it now: peers accept its messages only under that incarnation, so if its data
      // is lost later it cannot vote again before it is removed and re-added (docs/membership.md).
      Ids unknown;
      for (auto id : to_add) {
        cc.changes.push_back({raft::ConfChangeType::AddLearnerNode, id});
        const auto* n = desired_.find(id);
        auto it = obs->answers.find(id);
        const bool answered = it != obs->answers.end() && it->second.reachable && it->second.status.incarnation != 0;
        if (!answered) unknown.insert(id);
        addrs.push_back({id, n->raft, n->client, answered ? it->second.status.incarnation : 0});
      }
      if (!unknown.empty()) {
        last_problem_ = "new member(s) " + join(unknown) + " did not report their incarnation";
        out_ << "  " << last_problem_ << ": asking again\n";
        pause(milliseconds(200));
        continue;
      }
      cc.context = node::encode_member_addresses(addrs);
      if (auto stop = change(*obs, std::move(cc), "adding learners " + join(to_add))) return *stop;
      continue;
    }
    if (!to_promote.empty()) {
      bool behind = false;
      std::ostringstream line;
      line << "catching up (leader commit " << L.commit << "):";
      for (auto id : to_promote) {
        uint64_t matched = 0;
        for (const auto& [pid, m] : L.progress_matched)
          if (pid == id) matched = m;
        // Within a small lag; on a short log, within a quarter of it (and never at nothing).
        const uint64_t lag = std::min<uint64_t>(kMaxCatchUpLag, L.commit / 4);
        if (matched == 0 || matched + lag < L.commit) behind = true;
        line << " node " << id << " at " << matched;
      }
      if (behind) {
        if (!catchup_deadline) catchup_deadline = Clock::now() + options_.catchup_timeout;
        if (Clock::now() >= *catchup_deadline) {
          err_ << "push-config: the new members did not catch up within "
               << options_.catchup_timeout.count() / 1000.0 << " s (" << line.str()
               << "); they stay learners: push the file again to finish\n";
          return kExitUnavailable;
        }
        if (line.str() != last_line || Clock::now() - last_progress_line >= milliseconds(3000)) {
          last_line = line.str();
          out_ << line.str() << "\n" << std::flush;
          last_progress_line = Clock::now();
        }
        last_problem_ = "new members still catching up";
        pause(milliseconds(100));
        continue;
      }
      out_ << line.str() << ": caught up\n";
    }
    if (!to_promote.empty() || !to_remove.empty()) {
      raft::ConfChangeV2 cc;
      std::string what;
      for (auto id : to_promote) {
        cc.changes.push_back({raft::ConfChangeType::AddNode, id});
        what += (what.empty() ? "" : ", ") + std::string("promote ") + std::to_string(id);
      }
      for (auto id : to_remove) {
        cc.changes.push_back({raft::ConfChangeType::RemoveNode, id});
        what += (what.empty() ? "" : ", ") + std::string("remove ") + std::to_string(id);
      }
      removed_total.insert(to_remove.begin(), to_remove.end());
      if (auto stop = change(*obs, std::move(cc), "changing the voters: " + what)) return *stop;
      continue;
    }
    out_ << "done: " << describe_membership(L) << " (leader " << L.id << ")\n";
    report_removed(removed_total);
    return kExitOk;
  }
}

}  // namespace

int push_config(zmq::context_t& ctx, const config::ClusterConfig& current, const PushOptions& options,
                std::ostream& out, std::ostream& err) {
  auto loaded = config::load(options.file);
  if (auto* e = std::get_if<config::ConfigError>(&loaded)) {
    err << "push-config: " << e->message << "\n";
    return kExitBadFile;
  }
  Pusher p(ctx, current, std::get<config::ClusterConfig>(loaded), options, out, err);
  return p.run();
}

}  // namespace client
