// RawNode: the application's handle on one Raft node, in the style of raft-rs.
//
// The application drives it from a single thread:
//   1. feed it time (tick), peer messages (step) and requests (propose, read_index, ...);
//   2. when has_ready(), take a Ready and handle it in this order:
//        a. send rd.messages (they do not depend on this Ready being persisted);
//        b. apply rd.snapshot if any, persist rd.entries and rd.hard_state (fsync when
//           rd.must_sync);
//        c. send rd.persisted_messages (votes and append acknowledgements: only now are the
//           promises they make durable);
//        d. apply rd.committed_entries (and answer rd.read_states);
//      then call advance(rd), which returns a LightReady with more committed entries and
//      messages; send and apply those, then call advance_apply().
//
// Nothing here blocks, allocates threads, reads clocks or performs I/O.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "raft/config.h"
#include "raft/error.h"
#include "raft/read_only.h"
#include "raft/status.h"
#include "raft/storage.h"
#include "raft/types.h"

namespace raft {

class Raft;

enum class SnapshotStatus : uint8_t { Finish, Failure };

struct Ready {
  uint64_t number = 0;
  // Set when the leader or role changed since the last Ready.
  std::optional<SoftState> soft_state;
  // Set when term, vote or commit changed: persist it.
  std::optional<HardState> hard_state;
  std::vector<ReadState> read_states;
  // Entries to append to stable storage (replacing any conflicting suffix).
  std::vector<Entry> entries;
  // A snapshot to persist and restore the state machine from; empty() when none.
  Snapshot snapshot;
  // Committed entries to apply to the state machine, in order.
  std::vector<Entry> committed_entries;
  // Messages that may be sent before this Ready is persisted.
  std::vector<Message> messages;
  // Messages that may be sent only after entries, hard state and snapshot are persisted.
  std::vector<Message> persisted_messages;
  // Whether the write of this Ready must be fsynced before persisted_messages are sent:
  // true when it contains entries or a changed term or vote.
  bool must_sync = false;
};

// What a Ready asks to be reported once it is persisted (RawNode::on_persisted), for an
// application that writes Readies on another thread (Raft thesis §10.2.1): it may take and
// send the next Ready's messages while earlier ones are being written; each Ready's entries
// are handed out once. Readies must be written in the order they were taken, and each one's
// persisted_messages sent only after it (and every earlier one) is written.
struct PersistMark {
  Index snapshot_index = 0;  // 0: no snapshot
  Index last_index = 0;      // 0: no entries
  Term last_term = 0;
};

// What advance() returns: work that became available once the Ready was persisted.
struct LightReady {
  std::optional<Index> commit_index;  // persist as part of the hard state if set
  std::vector<Entry> committed_entries;
  std::vector<Message> messages;  // may be sent at once
};

class RawNode {
 public:
  // ConfigInvalid if config.validate() fails or storage's initial state is unusable.
  static Result<std::unique_ptr<RawNode>> create(const Config& config, Storage& storage);
  ~RawNode();
  RawNode(const RawNode&) = delete;
  RawNode& operator=(const RawNode&) = delete;

  // Advances logical time by one tick. Returns true if something may have become ready.
  bool tick();
  // Starts an election now (MsgHup).
  Result<void> campaign();
  // Hands a message from a peer to the node. StepLocalMsg for local-only message types,
  // StepPeerNotFound for a response from an unknown peer.
  Result<void> step(Message m);

  // Proposes `data` to be appended to the log. ProposalDropped when there is no leader, a
  // leader transfer is in progress, the uncommitted size cap is reached, or this node is
  // not a member.
  Result<void> propose(std::string context, std::string data);
  // Proposes several normal entries at once (their data and context are taken; type, term
  // and index are assigned). All or none are appended, and they travel to the followers in
  // one MsgAppend each instead of one per entry: the way to batch client writes.
  Result<void> propose_batch(std::vector<Entry> entries);
  // Proposes a membership change. Only one may be pending, and a joint configuration must be
  // left first (ProposalDropped otherwise: retry later); a change that can never apply to the
  // current membership (removing the last voter, leaving a joint configuration that does not
  // exist, undecodable) is ConfigInvalid. The change takes effect when the application calls
  // apply_conf_change after the entry is committed.
  Result<void> propose_conf_change(std::string context, const ConfChange& cc);
  Result<void> propose_conf_change(std::string context, const ConfChangeV2& cc);
  // Applies a committed membership change; returns the resulting membership, which the
  // application stores with its next snapshot. Panics on a change that cannot be applied
  // (it was validated when proposed and is in the log: the log must not be ignored).
  ConfState apply_conf_change(const ConfChange& cc);
  ConfState apply_conf_change(const ConfChangeV2& cc);

  // Requests a linearizable read point. The answer comes out in Ready::read_states with the
  // same ctx; on a follower the request is forwarded to the leader. Silently dropped when no
  // leader is known (the application retries after a timeout).
  void read_index(std::string ctx);
  // Asks the leader to hand leadership to `transferee` (Raft thesis §3.10).
  void transfer_leader(NodeId transferee);
  // The transport could not deliver to `id`: the leader stops pipelining to it.
  void report_unreachable(NodeId id);
  void report_snapshot(NodeId id, SnapshotStatus status);

  bool has_ready() const;
  Ready ready();
  // Declares that everything in `rd` was persisted (and its messages sent).
  LightReady advance(Ready rd);
  // Like advance, but only declares rd persisted; the committed entries are taken later.
  void advance_append(Ready rd);
  // Asynchronous persistence: mark(rd) when taking the Ready, on_persisted(mark) once it is
  // written (in order). Committed entries and messages that became available come out in
  // the next Ready.
  static PersistMark mark(const Ready& rd);
  void on_persisted(const PersistMark& mark);
  // Declares every committed entry handed out so far as applied.
  void advance_apply();
  void advance_apply_to(Index applied);

  Status status() const;
  Raft& raft() { return *raft_; }
  const Raft& raft() const { return *raft_; }

 private:
  explicit RawNode(std::unique_ptr<Raft> raft);
  void commit_ready(const Ready& rd);

  std::unique_ptr<Raft> raft_;
  SoftState prev_soft_state_;
  HardState prev_hard_state_;
  uint64_t max_number_ = 0;
  Index last_handed_out_commit_ = 0;
};

}  // namespace raft
