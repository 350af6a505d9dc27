// Changer: computes the membership that results from a configuration change, without
// touching the live tracker. Works on a copy and validates the result, so an invalid change
// is refused before anything changes.
//
// Three kinds of transition (Raft thesis §4.1 and §4.3):
//   simple:      at most one voter is added or removed; no joint state.
//   enter_joint: the current voters become the outgoing half; changes apply to the incoming.
//   leave_joint: the outgoing half is dropped; demoted voters (learners_next) become learners.
#pragma once

#include <utility>
#include <vector>

#include "raft/error.h"
#include "raft/tracker/progress_tracker.h"

namespace raft {

class Changer {
 public:
  // `last_index` initialises the next index of new members' progress.
  Changer(const ProgressTracker& tracker, Index last_index)
      : tracker_(tracker), last_index_(last_index) {}

  using Output = std::pair<TrackerConfig, ProgressMap>;

  Result<Output> enter_joint(bool auto_leave, const std::vector<ConfChangeSingle>& changes) const;
  Result<Output> leave_joint() const;
  Result<Output> simple(const std::vector<ConfChangeSingle>& changes) const;

 private:
  Result<void> apply(TrackerConfig& cfg, ProgressMap& prs,
                     const std::vector<ConfChangeSingle>& changes) const;
  void make_voter(TrackerConfig& cfg, ProgressMap& prs, NodeId id) const;
  void make_learner(TrackerConfig& cfg, ProgressMap& prs, NodeId id) const;
  void remove(TrackerConfig& cfg, ProgressMap& prs, NodeId id) const;
  void init_progress(TrackerConfig& cfg, ProgressMap& prs, NodeId id, bool learner) const;

  const ProgressTracker& tracker_;
  Index last_index_;
};

// Rebuilds the tracker's configuration from a ConfState (on restart or snapshot restore) by
// replaying the changes that would produce it: the outgoing voters one at a time, then, if
// joint, entering the joint state with the incoming voters and learners.
Result<void> restore(ProgressTracker& tracker, Index last_index, const ConfState& cs);

}  // namespace raft
