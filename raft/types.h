// Plain data types of the Raft protocol: log entries, persistent state, membership,
// snapshots and the messages exchanged between peers.
//
// These are deliberately plain structs with no behaviour beyond small predicates: codecs
// live outside the core (transport/codec.h), so that raft/ depends on the standard library
// only. Names follow raft-rs (MsgAppend, ConfState, ...) so that readers of either codebase
// feel at home.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace raft {

using NodeId = uint64_t;
using Index = uint64_t;
using Term = uint64_t;

// The id that means "no node": no leader known, no vote cast.
inline constexpr NodeId kNone = 0;

enum class EntryType : uint8_t {
  Normal = 0,
  // data holds a ConfChangeV2 encoded by encode_conf_change (conf_change.h). A single-node
  // ConfChange is carried as a ConfChangeV2 with one change.
  ConfChange = 1,
};

struct Entry {
  EntryType type = EntryType::Normal;
  Term term = 0;
  Index index = 0;
  std::string data;
  std::string context;

  bool operator==(const Entry&) const = default;
  // Bytes this entry counts for in size limits (max_size_per_msg, uncommitted size).
  uint64_t payload_size() const { return data.size() + context.size(); }
};

// The state that must be on stable storage before any message that depends on it is sent.
// Raft §5 (Figure 2, "Persistent state on all servers"); commit is persisted too, as in
// etcd/raft-rs, so that a restarted node need not re-learn it.
struct HardState {
  Term term = 0;
  NodeId vote = kNone;
  Index commit = 0;

  bool operator==(const HardState&) const = default;
  bool empty() const { return term == 0 && vote == kNone && commit == 0; }
};

// Membership as stored in snapshots and returned by apply_conf_change. In a joint
// configuration voters_outgoing is non-empty (Raft thesis §4.3). learners_next holds voters
// being demoted: they stay voters of the outgoing half until the joint state is left.
struct ConfState {
  std::vector<NodeId> voters;
  std::vector<NodeId> learners;
  std::vector<NodeId> voters_outgoing;
  std::vector<NodeId> learners_next;
  bool auto_leave = false;

  bool operator==(const ConfState&) const = default;
  bool is_joint() const { return !voters_outgoing.empty(); }
};

struct SnapshotMetadata {
  ConfState conf_state;
  Index index = 0;
  Term term = 0;

  bool operator==(const SnapshotMetadata&) const = default;
};

struct Snapshot {
  std::string data;
  SnapshotMetadata metadata;

  bool operator==(const Snapshot&) const = default;
  bool empty() const { return metadata.index == 0; }
};

enum class MessageType : uint8_t {
  MsgHup = 0,                 // local: start an election
  MsgBeat = 1,                // local: leader sends heartbeats
  MsgPropose = 2,             // local or forwarded: append entries to the log
  MsgAppend = 3,
  MsgAppendResponse = 4,
  MsgRequestVote = 5,
  MsgRequestVoteResponse = 6,
  MsgSnapshot = 7,
  MsgHeartbeat = 8,
  MsgHeartbeatResponse = 9,
  MsgUnreachable = 10,        // local: the transport could not deliver to `from`
  MsgSnapStatus = 11,         // local: outcome of sending a snapshot to `from`
  MsgCheckQuorum = 12,        // local: leader verifies it still hears from a quorum
  MsgTransferLeader = 13,
  MsgTimeoutNow = 14,
  MsgReadIndex = 15,
  MsgReadIndexResp = 16,
  MsgRequestPreVote = 17,
  MsgRequestPreVoteResponse = 18,
};
inline constexpr int kMessageTypeCount = 19;

std::string_view to_string(MessageType t);

// Messages that never leave the node: they are produced by the application or by the
// core itself and must not be accepted from the network.
bool is_local_msg(MessageType t);
// Responses carry the responder's view; the core treats them differently on term checks.
bool is_response_msg(MessageType t);

struct Message {
  MessageType msg_type = MessageType::MsgHup;
  NodeId to = kNone;
  NodeId from = kNone;
  Term term = 0;
  Term log_term = 0;  // term of the entry at `index` (append) or of the last entry (vote)
  Index index = 0;
  std::vector<Entry> entries;
  Index commit = 0;
  Snapshot snapshot;
  bool reject = false;
  Index reject_hint = 0;
  std::string context;  // read-index context, campaign kind (transfer), ...

  bool operator==(const Message&) const = default;
};

enum class ConfChangeType : uint8_t {
  AddNode = 0,
  RemoveNode = 1,
  AddLearnerNode = 2,
};

// A single membership change (the classic one-server-at-a-time change, Raft thesis §4.1).
struct ConfChange {
  ConfChangeType change_type = ConfChangeType::AddNode;
  NodeId node_id = kNone;
  std::string context;  // opaque to the core; the cluster puts the node's addresses here

  bool operator==(const ConfChange&) const = default;
};

struct ConfChangeSingle {
  ConfChangeType change_type = ConfChangeType::AddNode;
  NodeId node_id = kNone;

  bool operator==(const ConfChangeSingle&) const = default;
};

// How a ConfChangeV2 moves through joint consensus.
enum class ConfChangeTransition : uint8_t {
  // Use joint consensus only when needed (more than one voter changes), and leave the
  // joint state automatically once it is committed.
  Auto = 0,
  // Always use joint consensus and leave it automatically.
  Implicit = 1,
  // Always use joint consensus; the application leaves it by proposing an empty ConfChangeV2.
  Explicit = 2,
};

struct ConfChangeV2 {
  ConfChangeTransition transition = ConfChangeTransition::Auto;
  std::vector<ConfChangeSingle> changes;
  std::string context;

  bool operator==(const ConfChangeV2&) const = default;
  // An empty ConfChangeV2 is the request to leave a joint configuration.
  bool leave_joint() const { return changes.empty(); }
  // Joint consensus is needed when more than one voter changes or the caller asks for it.
  // Returns the auto_leave flag through `auto_leave` when joint consensus is used.
  bool enter_joint(bool* auto_leave) const;
};

ConfChangeV2 as_v2(const ConfChange& cc);

// Roles a node can be in. PreCandidate is the pre-vote phase (Raft thesis §9.6).
enum class StateRole : uint8_t { Follower, Candidate, Leader, PreCandidate };
std::string_view to_string(StateRole r);

}  // namespace raft
