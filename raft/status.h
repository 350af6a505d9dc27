// Status: a read-only picture of a node, for operators (raftctl status) and tests.
#pragma once

#include <map>

#include "raft/types.h"

namespace raft {

struct SoftState {
  NodeId leader_id = kNone;
  StateRole raft_state = StateRole::Follower;

  bool operator==(const SoftState&) const = default;
};

enum class ProgressState : uint8_t { Probe, Replicate, Snapshot };
std::string_view to_string(ProgressState s);

// What the leader knows of one follower's log.
struct ProgressStatus {
  Index matched = 0;
  Index next_idx = 0;
  ProgressState state = ProgressState::Probe;
  bool recent_active = false;
  bool is_learner = false;
};

struct Status {
  NodeId id = kNone;
  HardState hard_state;
  SoftState soft_state;
  Index applied = 0;
  Index last_index = 0;
  ConfState conf_state;
  NodeId lead_transferee = kNone;
  // Filled only on the leader.
  std::map<NodeId, ProgressStatus> progress;
};

}  // namespace raft
