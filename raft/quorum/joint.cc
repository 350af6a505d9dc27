#include "raft/quorum/joint.h"

#include <algorithm>

namespace raft {

std::set<NodeId> JointConfig::ids() const {
  std::set<NodeId> all = incoming_.ids();
  all.insert(outgoing_.ids().begin(), outgoing_.ids().end());
  return all;
}

Index JointConfig::committed_index(const AckedIndexer& acked) const {
  return std::min(incoming_.committed_index(acked), outgoing_.committed_index(acked));
}

VoteResult JointConfig::vote_result(const VoteLookup& votes) const {
  const VoteResult in = incoming_.vote_result(votes);
  const VoteResult out = outgoing_.vote_result(votes);
  if (in == out) return in;
  // One half has lost: the election is lost whatever the other does.
  if (in == VoteResult::Lost || out == VoteResult::Lost) return VoteResult::Lost;
  // One half won, the other is pending.
  return VoteResult::Pending;
}

bool JointConfig::is_singleton() const {
  return outgoing_.empty() && incoming_.size() == 1;
}

std::string JointConfig::describe() const {
  std::string s = incoming_.describe();
  if (!outgoing_.empty()) s += "&&" + outgoing_.describe();
  return s;
}

}  // namespace raft
