// The byte encoding of membership changes inside log entries (EntryType::ConfChange).
//
// The core must read conf change entries itself (to know when a change is pending and when
// to leave a joint configuration), so the encoding lives here, on the standard library only.
// Format (all integers little-endian varints): version(=1), transition, n, then n pairs of
// (change_type, node_id), then the context length and bytes.
#pragma once

#include <string>

#include "raft/error.h"
#include "raft/types.h"

namespace raft {

std::string encode_conf_change(const ConfChangeV2& cc);
// ConfigInvalid on bytes that are not a well-formed encoding (never reads out of bounds).
Result<ConfChangeV2> decode_conf_change(const std::string& data);

// Human-readable form, e.g. "v2{auto: add 4, learner 5, remove 2}".
std::string describe(const ConfChangeV2& cc);

}  // namespace raft
