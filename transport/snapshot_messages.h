// The snapshot transfer protocol's two peer messages (docs/snapshots.md), and their frames.
//
// A snapshot file travels from the leader to a follower as SnapshotChunks of about 1 MiB,
// each acknowledged by a SnapshotAck carrying how many bytes the receiver now holds in a
// row from the start. They are peer frames of their own kinds (wire::FrameKind), beside the
// raft::Message frames, with the same envelope (version, kind, cluster id, from, to): the
// Raft core never sees them. Decoding follows codec.h's rules for untrusted bytes (never
// throws, allocates at most the input size, every length checked before use).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "raft/types.h"
#include "transport/codec.h"

namespace transport {

// Identifies one snapshot file: a transfer is about exactly these bytes.
struct SnapshotId {
  uint64_t index = 0;
  uint64_t term = 0;       // of the snapshot's last entry
  uint64_t file_size = 0;
  uint64_t file_hash = 0;  // XXH3-64 of the whole file
  bool operator==(const SnapshotId&) const = default;
};

struct SnapshotChunk {
  raft::NodeId from = 0;
  raft::NodeId to = 0;
  raft::Term msg_term = 0;  // the leader's term when its core sent the snapshot
  SnapshotId snap;
  uint64_t offset = 0;      // of data in the file
  uint64_t data_hash = 0;   // XXH3-64 of data
  std::string data;
  bool operator==(const SnapshotChunk&) const = default;
};

enum class SnapshotAckStatus : uint8_t {
  Progress = 0,  // next_offset bytes are held; send from there
  Done = 1,      // the whole file is verified and in the receiver's snap/ folder
  Refused = 2,   // the receiver will not take this transfer (reason says why)
};

struct SnapshotAck {
  raft::NodeId from = 0;
  raft::NodeId to = 0;
  raft::Term msg_term = 0;  // echoed from the chunk
  SnapshotId snap;
  uint64_t next_offset = 0;
  SnapshotAckStatus status = SnapshotAckStatus::Progress;
  std::string reason;
  bool operator==(const SnapshotAck&) const = default;
};

using SnapshotPacket = std::variant<SnapshotChunk, SnapshotAck>;

std::string encode_snapshot_packet(const std::string& cluster_id, const SnapshotPacket& p);
// Decodes a frame of kind SnapshotChunk or SnapshotAck (same failures as decode_message).
std::variant<SnapshotPacket, DecodeError> decode_snapshot_packet(std::string_view bytes,
                                                                 const std::string& expected_cluster_id);
// True if `bytes` is a well-formed prologue of a snapshot chunk or ack frame (the transport
// routes the frame by it).
bool is_snapshot_frame(std::string_view bytes);

}  // namespace transport
