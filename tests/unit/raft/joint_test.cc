// JointConfig: decisions of a joint configuration need both majorities (Raft thesis §4.3).
#define CATCH_CONFIG_ENABLE_PAIR_STRINGMAKER
#include <catch2/catch.hpp>

#include <map>
#include <random>

#include "raft/quorum/joint.h"

using namespace raft;

namespace {

using Acks = std::map<NodeId, Index>;
using Votes = std::map<NodeId, bool>;

AckedIndexer acked_from(const Acks& acks) {
  return [&acks](NodeId id) -> std::optional<Index> {
    auto it = acks.find(id);
    if (it == acks.end()) return std::nullopt;
    return it->second;
  };
}

VoteLookup votes_from(const Votes& votes) {
  return [&votes](NodeId id) -> std::optional<bool> {
    auto it = votes.find(id);
    if (it == votes.end()) return std::nullopt;
    return it->second;
  };
}

// Reference: the largest i acknowledged by a majority of each non-empty half.
Index naive_joint_committed(const std::set<NodeId>& in, const std::set<NodeId>& out, const Acks& acks) {
  auto has_majority = [&](const std::set<NodeId>& half, Index i) {
    if (half.empty()) return true;
    size_t n = 0;
    for (NodeId id : half) n += (acks.count(id) ? acks.at(id) : 0) >= i;
    return n * 2 > half.size();
  };
  if (in.empty() && out.empty()) return UINT64_MAX;
  Index best = 0;
  for (const auto& [id, i] : acks) {
    if (has_majority(in, i) && has_majority(out, i)) best = std::max(best, i);
  }
  return best;
}

// Reference vote: enumerate every way of filling in the missing votes of all voters. Won if
// both halves already have a majority; Lost if no completion gives both; Pending otherwise.
VoteResult naive_joint_vote(const std::set<NodeId>& in, const std::set<NodeId>& out, const Votes& votes) {
  std::set<NodeId> all = in;
  all.insert(out.begin(), out.end());
  std::vector<NodeId> missing;
  for (NodeId id : all) {
    if (!votes.count(id)) missing.push_back(id);
  }
  auto wins = [](const std::set<NodeId>& half, const Votes& v) {
    if (half.empty()) return true;
    size_t yes = 0;
    for (NodeId id : half) yes += v.count(id) && v.at(id);
    return yes * 2 > half.size();
  };
  if (wins(in, votes) && wins(out, votes)) return VoteResult::Won;
  for (uint32_t mask = 0; mask < (1u << missing.size()); ++mask) {
    Votes filled = votes;
    for (size_t i = 0; i < missing.size(); ++i) filled[missing[i]] = (mask >> i) & 1;
    if (wins(in, filled) && wins(out, filled)) return VoteResult::Pending;
  }
  return VoteResult::Lost;
}

std::set<NodeId> random_set(std::mt19937_64& rng) {
  std::set<NodeId> s;
  const int n = static_cast<int>(rng() % 6);
  for (int i = 0; i < n; ++i) s.insert(1 + rng() % 8);
  return s;
}

}  // namespace

TEST_CASE("joint committed index is the smaller of the two halves", "[quorum]") {
  auto [in, out, acks, want] = GENERATE(table<std::set<NodeId>, std::set<NodeId>, Acks, Index>({
      {{}, {}, {}, UINT64_MAX},
      {{1, 2, 3}, {}, {{1, 5}, {2, 4}, {3, 3}}, 4},            // not joint: a plain majority
      {{}, {1, 2, 3}, {{1, 5}, {2, 4}, {3, 3}}, 4},
      {{1, 2, 3}, {1, 2, 3}, {{1, 5}, {2, 4}, {3, 3}}, 4},     // same voters on both sides
      {{1, 2, 3}, {3, 4, 5}, {{1, 5}, {2, 5}, {3, 3}, {4, 1}, {5, 1}}, 1},  // outgoing lags
      {{1, 2, 3}, {3, 4, 5}, {{1, 5}, {2, 5}, {3, 3}, {4, 9}, {5, 9}}, 5},
      {{1, 2, 3}, {3, 4, 5}, {{1, 5}, {2, 5}, {3, 7}, {4, 6}, {5, 1}}, 5},
      {{1, 2, 3}, {3, 4, 5}, {{1, 7}, {2, 6}, {3, 7}, {4, 6}, {5, 1}}, 6},
      {{1}, {2}, {{1, 8}, {2, 3}}, 3},
      {{1, 2}, {1, 3}, {{1, 8}, {2, 3}}, 0},                   // 3 never acked
  }));
  CAPTURE(in, out, acks);
  CHECK(JointConfig(MajorityConfig(in), MajorityConfig(out)).committed_index(acked_from(acks)) == want);
}

TEST_CASE("joint vote needs both majorities", "[quorum]") {
  using VR = VoteResult;
  auto [in, out, votes, want] = GENERATE(table<std::set<NodeId>, std::set<NodeId>, Votes, VR>({
      {{1, 2, 3}, {}, {{1, true}, {2, true}}, VR::Won},
      {{1, 2, 3}, {3, 4, 5}, {{1, true}, {2, true}}, VR::Pending},          // incoming won only
      {{1, 2, 3}, {3, 4, 5}, {{1, true}, {2, true}, {4, true}, {5, true}}, VR::Won},
      {{1, 2, 3}, {3, 4, 5}, {{1, true}, {2, true}, {4, false}, {5, false}}, VR::Lost},  // outgoing lost
      {{1, 2, 3}, {3, 4, 5}, {{1, false}, {2, false}, {4, true}, {5, true}}, VR::Lost},
      {{1, 2, 3}, {3, 4, 5}, {{3, true}}, VR::Pending},
      {{1, 2, 3}, {3, 4, 5}, {{3, true}, {1, true}, {4, true}}, VR::Won},   // 3 counts on both sides
      {{1}, {2}, {{1, true}}, VR::Pending},
      {{1}, {2}, {{1, true}, {2, false}}, VR::Lost},
  }));
  CAPTURE(in, out, votes);
  CHECK(JointConfig(MajorityConfig(in), MajorityConfig(out)).vote_result(votes_from(votes)) == want);
}

TEST_CASE("joint committed index agrees with a naive reference on random cases", "[quorum]") {
  std::mt19937_64 rng(7);
  for (int iter = 0; iter < 5000; ++iter) {
    const auto in = random_set(rng);
    const auto out = random_set(rng);
    Acks acks;
    for (NodeId id = 1; id <= 8; ++id) {
      if (rng() % 4 != 0) acks[id] = rng() % 6;
    }
    CAPTURE(iter, in, out, acks);
    REQUIRE(JointConfig(MajorityConfig(in), MajorityConfig(out)).committed_index(acked_from(acks)) ==
            naive_joint_committed(in, out, acks));
  }
}

TEST_CASE("joint vote result agrees with a naive enumeration on random cases", "[quorum]") {
  std::mt19937_64 rng(11);
  for (int iter = 0; iter < 3000; ++iter) {
    const auto in = random_set(rng);
    const auto out = random_set(rng);
    Votes votes;
    for (NodeId id = 1; id <= 8; ++id) {
      const auto r = rng() % 3;
      if (r < 2) votes[id] = r == 0;
    }
    CAPTURE(iter, in, out, votes);
    REQUIRE(JointConfig(MajorityConfig(in), MajorityConfig(out)).vote_result(votes_from(votes)) ==
            naive_joint_vote(in, out, votes));
  }
}

TEST_CASE("a joint config is a singleton only with one voter and no outgoing half", "[quorum]") {
  CHECK(JointConfig(MajorityConfig({1}), MajorityConfig()).is_singleton());
  CHECK_FALSE(JointConfig(MajorityConfig({1}), MajorityConfig({1})).is_singleton());
  CHECK_FALSE(JointConfig(MajorityConfig({1, 2}), MajorityConfig()).is_singleton());
  JointConfig j(MajorityConfig({1, 2}), MajorityConfig({2, 3}));
  CHECK(j.is_joint());
  CHECK(j.ids() == std::set<NodeId>{1, 2, 3});
  CHECK(j.contains(3));
  CHECK_FALSE(j.contains(4));
  CHECK(j.describe() == "(1 2)&&(2 3)");
}
