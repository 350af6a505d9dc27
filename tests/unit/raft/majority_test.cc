// MajorityConfig: committed index and vote results of a simple majority (Raft §5.2, §5.3).
#define CATCH_CONFIG_ENABLE_PAIR_STRINGMAKER
#include <catch2/catch.hpp>

#include <map>
#include <random>

#include "raft/quorum/majority.h"

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

// The reference: the largest index i such that a majority acknowledged at least i
// (missing acks count as 0), found by trying every candidate value.
Index naive_committed(const std::set<NodeId>& voters, const Acks& acks) {
  if (voters.empty()) return UINT64_MAX;
  std::vector<Index> candidates{0};
  for (NodeId id : voters) {
    if (acks.count(id)) candidates.push_back(acks.at(id));
  }
  Index best = 0;
  for (Index c : candidates) {
    size_t n = 0;
    for (NodeId id : voters) n += (acks.count(id) ? acks.at(id) : 0) >= c;
    if (n * 2 > voters.size()) best = std::max(best, c);
  }
  return best;
}

// The reference vote: Won if a majority already said yes; Lost if no way of filling in the
// missing votes reaches a majority; Pending otherwise. Enumerates every completion.
VoteResult naive_vote(const std::set<NodeId>& voters, const Votes& votes) {
  if (voters.empty()) return VoteResult::Won;
  std::vector<NodeId> missing;
  size_t yes = 0;
  for (NodeId id : voters) {
    auto it = votes.find(id);
    if (it == votes.end()) {
      missing.push_back(id);
    } else {
      yes += it->second;
    }
  }
  if (yes * 2 > voters.size()) return VoteResult::Won;
  for (uint32_t mask = 0; mask < (1u << missing.size()); ++mask) {
    if ((yes + static_cast<size_t>(__builtin_popcount(mask))) * 2 > voters.size()) return VoteResult::Pending;
  }
  return VoteResult::Lost;
}

}  // namespace

TEST_CASE("majority committed index is the highest index a majority acknowledged", "[quorum]") {
  auto [voters, acks, want] = GENERATE(table<std::set<NodeId>, Acks, Index>({
      {{}, {}, UINT64_MAX},                         // an empty config never holds commit back
      {{1}, {}, 0},
      {{1}, {{1, 5}}, 5},
      {{1, 2}, {{1, 5}, {2, 3}}, 3},                // two voters: both must have it
      {{1, 2}, {{1, 5}}, 0},
      {{1, 2, 3}, {{1, 5}, {2, 3}, {3, 4}}, 4},
      {{1, 2, 3}, {{1, 5}}, 0},
      {{1, 2, 3}, {{1, 5}, {2, 5}}, 5},
      {{1, 2, 3}, {{1, 5}, {2, 5}, {4, 9}}, 5},     // a non-voter's ack does not count
      {{1, 2, 3, 4}, {{1, 5}, {2, 3}, {3, 4}, {4, 1}}, 3},
      {{1, 2, 3, 4, 5}, {{1, 10}, {2, 9}, {3, 8}, {4, 7}, {5, 6}}, 8},
      {{1, 2, 3, 4, 5}, {{1, 10}, {2, 9}}, 0},
      {{1, 2, 3, 4, 5, 6, 7, 8, 9}, {{1, 9}, {2, 8}, {3, 7}, {4, 6}, {5, 5}, {6, 4}, {7, 3}, {8, 2}, {9, 1}}, 5},
  }));
  CAPTURE(voters, acks);
  CHECK(MajorityConfig(voters).committed_index(acked_from(acks)) == want);
}

TEST_CASE("majority vote result is won, lost or pending", "[quorum]") {
  using VR = VoteResult;
  auto [voters, votes, want] = GENERATE(table<std::set<NodeId>, Votes, VR>({
      {{}, {}, VR::Won},
      {{1}, {}, VR::Pending},
      {{1}, {{1, true}}, VR::Won},
      {{1}, {{1, false}}, VR::Lost},
      {{1, 2}, {{1, true}}, VR::Pending},
      {{1, 2}, {{1, true}, {2, true}}, VR::Won},
      {{1, 2}, {{1, true}, {2, false}}, VR::Lost},  // two voters need both
      {{1, 2, 3}, {{1, true}, {2, false}}, VR::Pending},
      {{1, 2, 3}, {{1, true}, {2, true}}, VR::Won},
      {{1, 2, 3}, {{1, false}, {2, false}}, VR::Lost},
      {{1, 2, 3}, {{1, true}, {4, true}}, VR::Pending},  // a non-voter's vote does not count
      {{1, 2, 3, 4}, {{1, true}, {2, true}}, VR::Pending},
      {{1, 2, 3, 4}, {{1, true}, {2, false}, {3, false}}, VR::Lost},
      {{1, 2, 3, 4, 5}, {{1, true}, {2, true}, {3, true}}, VR::Won},
      {{1, 2, 3, 4, 5}, {{1, false}, {2, false}, {3, true}, {4, true}}, VR::Pending},
  }));
  CAPTURE(voters, votes);
  CHECK(MajorityConfig(voters).vote_result(votes_from(votes)) == want);
}

TEST_CASE("majority committed index agrees with a naive reference on random cases", "[quorum]") {
  std::mt19937_64 rng(20261128);
  for (int iter = 0; iter < 5000; ++iter) {
    std::set<NodeId> voters;
    const int n = static_cast<int>(rng() % 10);
    for (int i = 0; i < n; ++i) voters.insert(1 + rng() % 12);
    Acks acks;
    for (NodeId id = 1; id <= 12; ++id) {
      if (rng() % 4 != 0) acks[id] = rng() % 8;  // small values: many ties
    }
    CAPTURE(iter, voters, acks);
    REQUIRE(MajorityConfig(voters).committed_index(acked_from(acks)) == naive_committed(voters, acks));
  }
}

TEST_CASE("majority vote result agrees with a naive count on random cases", "[quorum]") {
  std::mt19937_64 rng(42);
  for (int iter = 0; iter < 5000; ++iter) {
    std::set<NodeId> voters;
    const int n = static_cast<int>(rng() % 10);
    for (int i = 0; i < n; ++i) voters.insert(1 + rng() % 12);
    Votes votes;
    for (NodeId id = 1; id <= 12; ++id) {
      const auto r = rng() % 3;
      if (r < 2) votes[id] = r == 0;
    }
    CAPTURE(iter, voters, votes);
    REQUIRE(MajorityConfig(voters).vote_result(votes_from(votes)) == naive_vote(voters, votes));
  }
}

TEST_CASE("majority describe lists the voters in order", "[quorum]") {
  CHECK(MajorityConfig({3, 1, 2}).describe() == "(1 2 3)");
  CHECK(MajorityConfig().describe() == "()");
}
