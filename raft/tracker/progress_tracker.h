// ProgressTracker: the membership configuration plus, on the leader, the Progress of every
// member and, during an election, the votes received.
//
// Membership invariants (checked by TrackerConfig::check):
//   - a node is never both a voter of the incoming configuration and a learner;
//   - a node is never both a voter of the outgoing configuration and a learner: a voter
//     being demoted waits in learners_next until the joint configuration is left;
//   - learners_next is empty outside a joint configuration, and auto_leave is false there;
//   - every member (voter of either half, learner, learner_next) has a Progress, and
//     nothing else has one.
#pragma once

#include <map>
#include <set>
#include <string>

#include "raft/error.h"
#include "raft/quorum/joint.h"
#include "raft/tracker/progress.h"

namespace raft {

struct TrackerConfig {
  JointConfig voters;
  std::set<NodeId> learners;
  std::set<NodeId> learners_next;
  bool auto_leave = false;

  ConfState to_conf_state() const;
  std::string describe() const;
  bool operator==(const TrackerConfig&) const = default;
};

using ProgressMap = std::map<NodeId, Progress>;

// Verifies the invariants listed in the file comment; ConfigInvalid names the one broken.
Result<void> check_invariants(const TrackerConfig& cfg, const ProgressMap& progress);

class ProgressTracker {
 public:
  explicit ProgressTracker(size_t max_inflight) : max_inflight_(max_inflight) {}

  const TrackerConfig& config() const { return config_; }
  const ProgressMap& progress() const { return progress_; }
  ProgressMap& progress() { return progress_; }
  Progress* get(NodeId id);
  const Progress* get(NodeId id) const;
  size_t max_inflight() const { return max_inflight_; }

  // Replaces the configuration and progress (the output of the Changer).
  void apply(TrackerConfig cfg, ProgressMap progress);
  ConfState conf_state() const { return config_.to_conf_state(); }

  bool is_voter(NodeId id) const { return config_.voters.contains(id); }
  bool is_member(NodeId id) const { return progress_.count(id) != 0; }
  // The largest index a quorum (both halves when joint) has acknowledged.
  Index committed() const;
  bool is_singleton() const { return config_.voters.is_singleton(); }

  void reset_votes() { votes_.clear(); }
  // Records id's vote; a second vote from the same node is ignored.
  void record_vote(NodeId id, bool granted);
  struct Tally {
    size_t granted = 0;
    size_t rejected = 0;
    VoteResult result = VoteResult::Pending;
  };
  Tally tally_votes() const;

  // Whether a quorum was recently active (heard from within the last election timeout);
  // `self` always counts as active. Used by check-quorum.
  bool quorum_recently_active(NodeId self) const;
  void reset_recent_active(NodeId self);

 private:
  size_t max_inflight_;
  TrackerConfig config_;
  ProgressMap progress_;
  std::map<NodeId, bool> votes_;
};

}  // namespace raft
