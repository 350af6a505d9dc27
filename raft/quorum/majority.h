// MajorityConfig: a set of voters whose decisions need a strict majority (Raft §5.2, §5.3).
#pragma once

#include <set>
#include <string>
#include <vector>

#include "raft/quorum/quorum.h"

namespace raft {

class MajorityConfig {
 public:
  MajorityConfig() = default;
  explicit MajorityConfig(std::set<NodeId> voters) : voters_(std::move(voters)) {}

  const std::set<NodeId>& ids() const { return voters_; }
  std::set<NodeId>& ids() { return voters_; }
  bool contains(NodeId id) const { return voters_.count(id) != 0; }
  size_t size() const { return voters_.size(); }
  bool empty() const { return voters_.empty(); }
  std::vector<NodeId> sorted() const { return {voters_.begin(), voters_.end()}; }

  // The largest index acknowledged by a majority. An empty configuration returns
  // UINT64_MAX, so that in a joint configuration the empty half never holds commit back.
  Index committed_index(const AckedIndexer& acked) const;
  // Won if a majority voted yes, Lost if a majority can no longer be reached, Pending
  // otherwise. An empty configuration wins (it imposes no constraint).
  VoteResult vote_result(const VoteLookup& votes) const;

  std::string describe() const;
  bool operator==(const MajorityConfig&) const = default;

 private:
  std::set<NodeId> voters_;
};

}  // namespace raft
