// JointConfig: the configuration during joint consensus (Raft thesis §4.3). Decisions need
// a majority of the incoming AND of the outgoing voters. When not in a joint state the
// outgoing half is empty and imposes no constraint.
#pragma once

#include <set>
#include <string>

#include "raft/quorum/majority.h"

namespace raft {

class JointConfig {
 public:
  JointConfig() = default;
  JointConfig(MajorityConfig incoming, MajorityConfig outgoing)
      : incoming_(std::move(incoming)), outgoing_(std::move(outgoing)) {}

  MajorityConfig& incoming() { return incoming_; }
  const MajorityConfig& incoming() const { return incoming_; }
  MajorityConfig& outgoing() { return outgoing_; }
  const MajorityConfig& outgoing() const { return outgoing_; }
  bool is_joint() const { return !outgoing_.empty(); }

  // Every voter of either half.
  std::set<NodeId> ids() const;
  bool contains(NodeId id) const { return incoming_.contains(id) || outgoing_.contains(id); }
  // Both halves must agree: the smaller of the two committed indexes.
  Index committed_index(const AckedIndexer& acked) const;
  VoteResult vote_result(const VoteLookup& votes) const;
  // True when this node is the only voter in both halves (it can decide alone).
  bool is_singleton() const;

  std::string describe() const;
  bool operator==(const JointConfig&) const = default;

 private:
  MajorityConfig incoming_;
  MajorityConfig outgoing_;
};

}  // namespace raft
