#include "raft/quorum/majority.h"

#include <algorithm>

namespace raft {

Index MajorityConfig::committed_index(const AckedIndexer& acked) const {
  if (voters_.empty()) return UINT64_MAX;
  // Small clusters are the norm: a stack buffer avoids an allocation on the commit path.
  Index stack_buf[7];
  std::vector<Index> heap_buf;
  Index* matched = stack_buf;
  if (voters_.size() > 7) {
    heap_buf.resize(voters_.size());
    matched = heap_buf.data();
  }
  size_t n = 0;
  for (NodeId id : voters_) matched[n++] = acked(id).value_or(0);
  // The index at position n - (n/2 + 1) in ascending order is acknowledged by a majority.
  const size_t pos = n - (n / 2 + 1);
  std::nth_element(matched, matched + pos, matched + n);
  return matched[pos];
}

VoteResult MajorityConfig::vote_result(const VoteLookup& votes) const {
  if (voters_.empty()) return VoteResult::Won;
  size_t yes = 0, missing = 0;
  for (NodeId id : voters_) {
    auto v = votes(id);
    if (!v) {
      ++missing;
    } else if (*v) {
      ++yes;
    }
  }
  const size_t quorum = voters_.size() / 2 + 1;
  if (yes >= quorum) return VoteResult::Won;
  if (yes + missing >= quorum) return VoteResult::Pending;
  return VoteResult::Lost;
}

std::string MajorityConfig::describe() const {
  std::string s = "(";
  bool first = true;
  for (NodeId id : voters_) {
    if (!first) s += ' ';
    s += std::to_string(id);
    first = false;
  }
  return s + ")";
}

}  // namespace raft
