// Quorum arithmetic shared by majority and joint configurations.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>

#include "raft/types.h"

namespace raft {

enum class VoteResult : uint8_t {
  Pending,  // not decided yet: missing votes could still go either way
  Lost,     // a quorum can no longer be reached
  Won,      // a quorum voted yes
};

// Answers "what has node `id` acknowledged?" (its matched index); nullopt when unknown.
using AckedIndexer = std::function<std::optional<Index>(NodeId)>;
// Answers "how did node `id` vote?"; nullopt when it has not voted.
using VoteLookup = std::function<std::optional<bool>(NodeId)>;

}  // namespace raft
