// The payloads of the log's record types (log_format.h names the types) and their
// encode/decode functions.
//
// Decoding never trusts the input: every function returns false on truncated, oversized or
// trailing bytes, and allocates only what the input really contains. The checks here are
// about one payload in isolation; whether a record makes sense where it appears (an entry
// index after a gap, a segment header with the wrong sequence number) is the replayer's job.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "raft/types.h"

namespace storage {

struct SegmentHeader {
  uint32_t magic = 0;
  uint32_t version = 0;
  uint64_t seq = 0;
  // The log as it was when this segment was started: entries [first_index, last_index]
  // (none when last_index + 1 == first_index), term(first_index - 1) == prev_term.
  raft::Index first_index = 1;
  raft::Term prev_term = 0;
  raft::Index last_index = 0;

  bool operator==(const SegmentHeader&) const = default;
};

// Discards the entries before first_index; with reset, discards every entry and the log
// continues at first_index (a snapshot received from the leader replaces the whole log).
struct LogStart {
  raft::Index first_index = 1;
  raft::Term prev_term = 0;
  bool reset = false;

  bool operator==(const LogStart&) const = default;
};

std::string encode_segment_header(const SegmentHeader& h);
bool decode_segment_header(std::string_view in, SegmentHeader* h);

std::string encode_log_start(const LogStart& s);
bool decode_log_start(std::string_view in, LogStart* s);

std::string encode_hard_state(const raft::HardState& hs);
bool decode_hard_state(std::string_view in, raft::HardState* hs);

// The snapshot marker (and the head of a snapshot file) carries the snapshot's metadata.
std::string encode_snapshot_metadata(const raft::SnapshotMetadata& m);
bool decode_snapshot_metadata(std::string_view in, raft::SnapshotMetadata* m);

// Entries must have consecutive indexes; only the first index is stored.
void encode_entries(const raft::Entry* entries, size_t n, std::string* out);
inline std::string encode_entries(const std::vector<raft::Entry>& entries) {
  std::string out;
  encode_entries(entries.data(), entries.size(), &out);
  return out;
}
bool decode_entries(std::string_view in, std::vector<raft::Entry>* entries);
// Validates an entries payload exactly as decode_entries does but keeps only the first index
// and the terms (no copies of the data): recovery uses it for entries too old to be cached.
bool decode_entry_terms(std::string_view in, raft::Index* first, std::vector<raft::Term>* terms);

std::string conf_state_to_string(const raft::ConfState& cs);

// A human-readable one-line description of a record, for check-data --dump.
std::string describe_record(uint8_t type, std::string_view payload);

}  // namespace storage
