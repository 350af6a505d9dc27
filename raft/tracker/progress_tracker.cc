#include "raft/tracker/progress_tracker.h"

#include "raft/check.h"

namespace raft {

ConfState TrackerConfig::to_conf_state() const {
  ConfState cs;
  cs.voters = voters.incoming().sorted();
  cs.voters_outgoing = voters.outgoing().sorted();
  cs.learners.assign(learners.begin(), learners.end());
  cs.learners_next.assign(learners_next.begin(), learners_next.end());
  cs.auto_leave = auto_leave;
  return cs;
}

std::string TrackerConfig::describe() const {
  std::string s = "voters=" + voters.describe();
  auto add_set = [&s](const char* name, const std::set<NodeId>& ids) {
    if (ids.empty()) return;
    s += std::string(" ") + name + "=" + MajorityConfig(ids).describe();
  };
  add_set("learners", learners);
  add_set("learners_next", learners_next);
  if (auto_leave) s += " autoleave";
  return s;
}

Result<void> check_invariants(const TrackerConfig& cfg, const ProgressMap& progress) {
  auto broken = [](std::string why) { return make_error(ErrorCode::ConfigInvalid, std::move(why)); };
  for (NodeId id : cfg.learners) {
    if (cfg.voters.incoming().contains(id)) return broken(format("%lu is both voter and learner", id));
    if (cfg.voters.outgoing().contains(id)) {
      return broken(format("%lu is both outgoing voter and learner", id));
    }
  }
  for (NodeId id : cfg.learners_next) {
    if (!cfg.voters.outgoing().contains(id)) {
      return broken(format("%lu is in learners_next but not an outgoing voter", id));
    }
    if (cfg.voters.incoming().contains(id)) {
      return broken(format("%lu is in learners_next and an incoming voter", id));
    }
  }
  if (!cfg.voters.is_joint()) {
    if (!cfg.learners_next.empty()) return broken("learners_next outside a joint configuration");
    if (cfg.auto_leave) return broken("auto_leave outside a joint configuration");
  }
  size_t members = 0;
  auto has = [&](NodeId id, bool learner) -> Result<void> {
    auto it = progress.find(id);
    if (it == progress.end()) return broken(format("member %lu has no progress", id));
    if (it->second.is_learner != learner) {
      return broken(format("progress of %lu has is_learner=%d", id, it->second.is_learner));
    }
    return {};
  };
  for (NodeId id : cfg.voters.ids()) {
    // A voter of the outgoing half being demoted (learners_next) still votes there: its
    // progress becomes a learner's only when the joint configuration is left.
    if (auto r = has(id, false); !r) return r;
    ++members;
  }
  for (NodeId id : cfg.learners) {
    if (auto r = has(id, true); !r) return r;
    ++members;
  }
  if (members != progress.size()) return broken("progress tracked for a node that is not a member");
  return {};
}

Progress* ProgressTracker::get(NodeId id) {
  auto it = progress_.find(id);
  return it == progress_.end() ? nullptr : &it->second;
}

const Progress* ProgressTracker::get(NodeId id) const {
  auto it = progress_.find(id);
  return it == progress_.end() ? nullptr : &it->second;
}

void ProgressTracker::apply(TrackerConfig cfg, ProgressMap progress) {
  auto ok = check_invariants(cfg, progress);
  RAFT_CHECK(ok.ok(), "%s", ok.error().message.c_str());
  config_ = std::move(cfg);
  progress_ = std::move(progress);
}

Index ProgressTracker::committed() const {
  return config_.voters.committed_index([this](NodeId id) -> std::optional<Index> {
    auto it = progress_.find(id);
    if (it == progress_.end()) return std::nullopt;
    return it->second.matched;
  });
}

void ProgressTracker::record_vote(NodeId id, bool granted) { votes_.emplace(id, granted); }

ProgressTracker::Tally ProgressTracker::tally_votes() const {
  Tally t;
  for (const auto& [id, pr] : progress_) {
    if (pr.is_learner) continue;
    auto it = votes_.find(id);
    if (it == votes_.end()) continue;
    (it->second ? t.granted : t.rejected)++;
  }
  t.result = config_.voters.vote_result([this](NodeId id) -> std::optional<bool> {
    auto it = votes_.find(id);
    if (it == votes_.end()) return std::nullopt;
    return it->second;
  });
  return t;
}

bool ProgressTracker::quorum_recently_active(NodeId self) const {
  auto result = config_.voters.vote_result([&](NodeId id) -> std::optional<bool> {
    if (id == self) return true;
    auto it = progress_.find(id);
    if (it == progress_.end()) return false;
    return it->second.recent_active;
  });
  return result == VoteResult::Won;
}

void ProgressTracker::reset_recent_active(NodeId self) {
  for (auto& [id, pr] : progress_) pr.recent_active = (id == self);
}

}  // namespace raft
