#include "raft/confchange/changer.h"

#include <algorithm>

#include "raft/check.h"

namespace raft {
namespace {

Error invalid(std::string why) { return make_error(ErrorCode::ConfigInvalid, std::move(why)); }

// Number of nodes that are voters in exactly one of a and b.
size_t symmetric_difference(const std::set<NodeId>& a, const std::set<NodeId>& b) {
  size_t n = 0;
  for (NodeId id : a) n += b.count(id) ? 0 : 1;
  for (NodeId id : b) n += a.count(id) ? 0 : 1;
  return n;
}

}  // namespace

Result<Changer::Output> Changer::enter_joint(bool auto_leave,
                                             const std::vector<ConfChangeSingle>& changes) const {
  TrackerConfig cfg = tracker_.config();
  ProgressMap prs = tracker_.progress();
  if (cfg.voters.is_joint()) return invalid("configuration is already joint");
  if (cfg.voters.incoming().empty()) {
    // A joint state with an empty outgoing half would be indistinguishable from a
    // non-joint one.
    return invalid("cannot enter a joint configuration from an empty one");
  }
  cfg.voters.outgoing() = cfg.voters.incoming();
  if (auto r = apply(cfg, prs, changes); !r) return r.error();
  cfg.auto_leave = auto_leave;
  if (auto r = check_invariants(cfg, prs); !r) return r.error();
  return Output{std::move(cfg), std::move(prs)};
}

Result<Changer::Output> Changer::leave_joint() const {
  TrackerConfig cfg = tracker_.config();
  ProgressMap prs = tracker_.progress();
  if (!cfg.voters.is_joint()) return invalid("can't leave a non-joint configuration");
  for (NodeId id : cfg.learners_next) {
    cfg.learners.insert(id);
    prs.at(id).is_learner = true;
  }
  cfg.learners_next.clear();
  for (NodeId id : cfg.voters.outgoing().ids()) {
    if (!cfg.voters.incoming().contains(id) && !cfg.learners.count(id)) prs.erase(id);
  }
  cfg.voters.outgoing().ids().clear();
  cfg.auto_leave = false;
  if (auto r = check_invariants(cfg, prs); !r) return r.error();
  return Output{std::move(cfg), std::move(prs)};
}

Result<Changer::Output> Changer::simple(const std::vector<ConfChangeSingle>& changes) const {
  TrackerConfig cfg = tracker_.config();
  ProgressMap prs = tracker_.progress();
  if (cfg.voters.is_joint()) {
    return invalid("can't apply a simple config change in a joint configuration");
  }
  if (auto r = apply(cfg, prs, changes); !r) return r.error();
  // Changing more than one voter at once without the joint step could let two disjoint
  // majorities exist (Raft thesis §4.1).
  if (symmetric_difference(tracker_.config().voters.incoming().ids(),
                           cfg.voters.incoming().ids()) > 1) {
    return invalid("more than one voter changed without entering a joint configuration");
  }
  if (auto r = check_invariants(cfg, prs); !r) return r.error();
  return Output{std::move(cfg), std::move(prs)};
}

Result<void> Changer::apply(TrackerConfig& cfg, ProgressMap& prs,
                            const std::vector<ConfChangeSingle>& changes) const {
  for (const auto& c : changes) {
    if (c.node_id == kNone) continue;  // etcd and raft-rs treat id 0 as a no-op
    switch (c.change_type) {
      case ConfChangeType::AddNode: make_voter(cfg, prs, c.node_id); break;
      case ConfChangeType::AddLearnerNode: make_learner(cfg, prs, c.node_id); break;
      case ConfChangeType::RemoveNode: remove(cfg, prs, c.node_id); break;
    }
  }
  if (cfg.voters.incoming().empty()) return invalid("removed all voters");
  return {};
}

void Changer::make_voter(TrackerConfig& cfg, ProgressMap& prs, NodeId id) const {
  auto it = prs.find(id);
  if (it == prs.end()) {
    init_progress(cfg, prs, id, false);
    return;
  }
  it->second.is_learner = false;
  cfg.learners.erase(id);
  cfg.learners_next.erase(id);
  cfg.voters.incoming().ids().insert(id);
}

void Changer::make_learner(TrackerConfig& cfg, ProgressMap& prs, NodeId id) const {
  auto it = prs.find(id);
  if (it == prs.end()) {
    init_progress(cfg, prs, id, true);
    return;
  }
  if (it->second.is_learner) return;
  // Drop it from the incoming voters (and learner sets) but keep its progress: it stays a
  // member either as a learner or, while joint, as an outgoing voter.
  cfg.voters.incoming().ids().erase(id);
  cfg.learners.erase(id);
  cfg.learners_next.erase(id);
  // A voter of the outgoing half cannot be a learner yet: it still votes there until the
  // joint configuration is left.
  if (cfg.voters.outgoing().contains(id)) {
    cfg.learners_next.insert(id);
  } else {
    it->second.is_learner = true;
    cfg.learners.insert(id);
  }
}

void Changer::remove(TrackerConfig& cfg, ProgressMap& prs, NodeId id) const {
  if (prs.find(id) == prs.end()) return;
  cfg.voters.incoming().ids().erase(id);
  cfg.learners.erase(id);
  cfg.learners_next.erase(id);
  // An outgoing voter keeps its progress until the joint configuration is left.
  if (!cfg.voters.outgoing().contains(id)) prs.erase(id);
}

void Changer::init_progress(TrackerConfig& cfg, ProgressMap& prs, NodeId id, bool learner) const {
  if (learner) {
    cfg.learners.insert(id);
  } else {
    cfg.voters.incoming().ids().insert(id);
  }
  Progress pr(std::max<Index>(last_index_, 1), tracker_.max_inflight());
  pr.is_learner = learner;
  // A new member counts as active: otherwise check-quorum could depose the leader right
  // after it grows the cluster.
  pr.recent_active = true;
  prs.emplace(id, std::move(pr));
}

Result<void> restore(ProgressTracker& tracker, Index last_index, const ConfState& cs) {
  std::vector<ConfChangeSingle> outgoing, incoming;
  for (NodeId id : cs.voters_outgoing) outgoing.push_back({ConfChangeType::AddNode, id});
  // The incoming changes first undo the outgoing voters, then add the final membership.
  for (NodeId id : cs.voters_outgoing) incoming.push_back({ConfChangeType::RemoveNode, id});
  for (NodeId id : cs.voters) incoming.push_back({ConfChangeType::AddNode, id});
  for (NodeId id : cs.learners) incoming.push_back({ConfChangeType::AddLearnerNode, id});
  for (NodeId id : cs.learners_next) incoming.push_back({ConfChangeType::AddLearnerNode, id});

  auto apply_one_by_one = [&](const std::vector<ConfChangeSingle>& changes) -> Result<void> {
    for (const auto& c : changes) {
      auto out = Changer(tracker, last_index).simple({c});
      if (!out) return out.error();
      tracker.apply(std::move(out->first), std::move(out->second));
    }
    return {};
  };

  if (outgoing.empty()) {
    // The first change cannot be "remove" (nothing to remove), so one-by-one simple changes
    // rebuild any non-joint membership.
    return apply_one_by_one(incoming);
  }
  if (auto r = apply_one_by_one(outgoing); !r) return r;
  auto out = Changer(tracker, last_index).enter_joint(cs.auto_leave, incoming);
  if (!out) return out.error();
  tracker.apply(std::move(out->first), std::move(out->second));
  return {};
}

}  // namespace raft
