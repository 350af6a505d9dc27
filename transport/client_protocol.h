// The client protocol: what raftctl (through client/) and a node's client socket exchange.
//
// A client holds a DEALER connected to a node's client ROUTER. Each request and each reply is
// one ZeroMQ frame (after the router's identity frame) encoded by client_codec.h; many
// requests may be in flight on one socket, matched by request_id. Writes carry (client_id,
// seq) so that the state machine applies a retried write at most once.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "raft/types.h"

namespace transport {

enum class RequestKind : uint8_t { Put, Get, Del, Cas, Status, ConfChange, TransferLeader, Membership };
inline constexpr int kRequestKindCount = 8;

struct ClientRequest {
  uint64_t request_id = 0;  // echoed in the reply
  uint64_t client_id = 0;   // random per client process; with seq, makes writes retry-safe
  uint64_t seq = 0;         // per-client increasing sequence number of writes
  RequestKind kind = RequestKind::Get;
  std::string key, value, expected;   // expected: for Cas
  bool expected_absent = false;       // Cas on a key that must not exist
  bool serializable = false;          // Get: read local state, no ReadIndex
  raft::ConfChangeV2 conf_change;     // ConfChange (context carries new members' addresses)
  raft::NodeId target = raft::kNone;  // TransferLeader
  // The cluster the client means to talk to (its cluster file's cluster_id). A node of
  // another cluster refuses every request but Status/Membership (which say which cluster
  // answered); empty: unchecked.
  std::string cluster_id;

  bool operator==(const ClientRequest&) const = default;
};

enum class ReplyCode : uint8_t {
  Ok,
  NotFound,
  CasFailed,
  NotLeader,  // leader_id / leader_client tell where to go (0 / "" when unknown)
  Rejected,   // definitely not applied (error says why)
  Unknown,    // may or may not have been applied (e.g. leader lost after proposing)
  Busy,       // try again later (e.g. conf change pending)
};
inline constexpr int kReplyCodeCount = 7;

struct NodeStatus {
  raft::NodeId id = 0;
  std::string role;
  uint64_t term = 0;
  raft::NodeId leader = 0;
  uint64_t commit = 0, applied = 0, last_index = 0, first_index = 0;
  std::vector<raft::NodeId> voters, learners, voters_outgoing;
  std::vector<std::pair<raft::NodeId, uint64_t>> progress_matched;  // leader only
  std::vector<std::pair<raft::NodeId, std::string>> members;  // id -> "raft_addr client_addr" as known by this node
  std::string cluster_id;  // the cluster this node belongs to (push-config refuses another's file)
  // Why this node cannot do its job right now, for operators ("" when healthy), e.g.
  // "disk full in /data/node-3: writes paused since 12 s" (docs/disk_faults.md).
  std::string problem;
  // The incarnation of this node's data folder (storage/identity.h): push-config records it
  // in the change that adds the node (docs/membership.md "Amnesia").
  uint64_t incarnation = 0;
  // Size and snapshots (docs/snapshots-taking.md): bytes of keys and values held, the
  // process's resident memory, the index of the snapshot in force, whether a snapshot is
  // being written right now, and the slowest loop iteration (time outside poll) since the
  // start, the slowest while a snapshot was being taken, and the slowest fork(), in us.
  uint64_t state_bytes = 0, rss_bytes = 0, snapshot_index = 0;
  uint8_t snapshot_running = 0;
  uint64_t slowest_loop_us = 0, slowest_snapshot_loop_us = 0, slowest_fork_us = 0;
  uint64_t slowest_snapshot_step_us = 0;  // the loop's own share: fork, recording, compaction

  bool operator==(const NodeStatus&) const = default;
};

struct ClientReply {
  uint64_t request_id = 0;
  ReplyCode code = ReplyCode::Ok;
  std::string value;             // Get value; CasFailed: current value
  bool value_present = false;    // CasFailed: whether the key exists
  raft::NodeId leader_id = raft::kNone;
  std::string leader_client;     // NotLeader: leader's client address if known
  std::string error;             // human readable, for Rejected/Unknown/Busy
  NodeStatus status;             // Status / Membership

  bool operator==(const ClientReply&) const = default;
};

}  // namespace transport

// The encode/decode functions, so that including this header alone is enough.
#include "transport/client_codec.h"
