// Node: the composition root of one raft-node process (the role LogCabin's Server/Globals
// plays): it owns the stable storage, the Raft RawNode, the KV state machine, the peer
// transport and the client service, and runs the single-threaded event loop.
//
// One iteration of the loop (etcd-io/raft doc.go, raft-rs examples/single_mem_node):
//   1. poll the peer ROUTER, the client ROUTER and the stop pipe until the next tick is due;
//   2. tick if due (steady clock, every tick_ms); step every peer message that arrived;
//   3. take every client request that arrived: writes on the leader are proposed (many per
//      Ready: batching), linearizable gets on the leader share one read_index per iteration,
//      serializable gets and status are answered at once, followers answer NotLeader;
//   4. if the RawNode has a Ready: hand it to raft::ReadyDriver (raft/ready_driver.h, the
//      loop the simulation runs too): send rd.messages; apply rd.committed_entries (before
//      this Ready's write, unless there is a snapshot); persist snapshot + entries + hard
//      state with ONE LogStore::persist call (a change of the commit index alone is not
//      written by itself: it rides on the next write); send rd.persisted_messages; restore
//      the KV state from rd.snapshot and then apply; note rd.read_states; advance; handle the
//      LightReady (note its commit, send, apply); advance_apply. Then the node-specific
//      parts: transport reports, transfer waiters, fail_pending on a lost leadership or
//      term, the slow-disk hand-over;
//   5. when the snapshot policy says so (snapshot_entries applied entries or snapshot_log_mb
//      of log, staggered per member: snapshot_policy.h), fork a child that writes the KV
//      state to a snapshot file while the loop goes on; once it has ended (checked every
//      iteration without blocking), record the file and compact the log (snapshot_taker.h,
//      docs/snapshots-taking.md).
// Snapshot files travel between nodes in chunks beside this (docs/snapshots.md): chunks and
// acks received are handled after the peer messages; chunks are sent after the Ready.
//
// Invariants: kv_ reflects exactly the entries up to applied_ (after each step 4);
// a client is told Ok/NotFound/CasFailed only after its command was applied, which happens
// only once it is committed (persisted on a majority); every pending write or read that can
// no longer be answered for sure (leadership or term lost) is answered Unknown.
//
// Disk faults (docs/disk_faults.md): a full disk pauses the node inside persist() (status
// answered, everything else refused or dropped, no tick) until the same write succeeds; a
// failed fsync stops the process; a leader whose persist takes longer than fsync_stall_ms
// hands leadership over.
//
// Operator mistakes (docs/membership.md): before anything else the node claims its folder
// (data_dir_claim.h: IDENTITY of this cluster and id, LOCK held for the process's life).
// Amnesia: every peer frame carries the sender's incarnation; sender_refusal drops frames of a
// member under another incarnation than the recorded one, and a node without standing
// (standing_problem) neither ticks nor answers vote requests, and says why in status.
//
// Membership (docs/membership.md): a ConfChange request is proposed on the leader and
// answered once its entry is applied, with the resulting membership. A node that applies its
// own removal and then receives nothing new for two election timeouts stops itself (exit 0)
// and leaves a `removed` marker in its data dir, so that a restart on that data exits at once
// instead of disturbing the cluster. (The wait lets a member that was removed and added back
// under the same id replay its old removal on the way to its re-addition.)
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <zmq.hpp>

#include "config/cluster_config.h"
#include "node/client_service.h"
#include "node/data_dir_claim.h"
#include "node/kv_state_machine.h"
#include "node/log_store.h"
#include "node/snapshot_transfer.h"
#include "node/snapshot_policy.h"
#include "node/snapshot_taker.h"
#include "raft/raw_node.h"
#include "raft/ready_driver.h"
#include "transport/peer_transport.h"

namespace storage {
class Env;
}

namespace node {

struct NodeOptions {
  config::ClusterConfig cluster;
  raft::NodeId id = raft::kNone;
  bool bootstrap = false;
  // Test seam: keep the log in memory instead of <node_dir>/{wal,snap}.
  bool in_memory = false;
  // Test-only fault hook (chaos tests): the fraction of outgoing peer messages dropped, as a
  // lossy network would (the kernel here has no netem). 0 in production.
  double test_drop_rate = 0;
  // Test-only fault hook (disk fault tests): the file system the log is written through,
  // e.g. a storage::TriggerFaultEnv. nullptr in production (the real file system).
  std::shared_ptr<storage::Env> test_env = nullptr;
  // Test-only fault hook (chaos tests): each outgoing peer message is held for a random 0..N
  // ms (delay and reordering). 0 in production.
  int test_delay_ms = 0;
  // Test-only (snapshot tests): the snapshot child writes at most this many bytes per
  // second, so that a small state takes seconds to write. 0 in production (no limit).
  uint64_t test_snapshot_bytes_per_s = 0;
};

class Node {
 public:
  // Opens storage, bootstraps or restarts, binds both sockets. On failure returns a one-line
  // reason (storage corruption, port in use, ...).
  static std::variant<std::unique_ptr<Node>, std::string> create(zmq::context_t& ctx, NodeOptions options);
  ~Node();

  // Runs the loop until `stop_fd` (raft-node: a signalfd of SIGTERM and SIGINT; tests: a pipe)
  // becomes readable, or a fatal storage error. Returns the process exit code (0 on a clean
  // stop).
  int run(int stop_fd);

 private:
  struct Waiter {
    std::string peer;
    uint64_t request_id = 0;
  };
  struct WriteKey {
    uint64_t client_id, seq;
    auto operator<=>(const WriteKey&) const = default;
  };

  Node(zmq::context_t& ctx, NodeOptions options);
  std::string init();  // "" on success

  void tick_if_due();
  void step_peer_messages();
  // Amnesia safety (docs/membership.md "Amnesia"). Peers: "" if a message from `from` that
  // carries `sender` may reach the core, else why not (the transport drops and counts it).
  std::string sender_refusal(raft::NodeId from, const transport::SenderIdentity& sender);
  // This node: "" if it holds its voter slot (the membership records its incarnation, or
  // records none and its folder founded the cluster), else why it may neither vote nor
  // campaign. Logged when it changes (update_standing).
  std::string standing_problem() const;
  void update_standing();
  // Whether this node's frames ask to be recorded under its incarnation on first use.
  bool claims_slot() const;
  // Leader: proposes an entry that records the incarnation of members that have none (heard
  // from their frames: trust on first use, through the log so that every replica agrees).
  void maybe_record_incarnations();
  void apply_incarnation_record(const raft::Entry& e);
  bool is_known_peer(raft::NodeId id) const;
  void handle_client_requests();
  void propose_writes();
  void handle_request(IncomingRequest& in);
  void issue_read_index();
  bool handle_ready();  // false on a fatal storage error or a stop requested while paused
  // store_->persist, timed (slowest_persist_). On a full disk it waits for space in
  // wait_for_disk_space and retries. False on a fatal error, or if a stop was requested
  // while waiting (stop_requested_).
  bool persist(const raft::Snapshot* snapshot, const std::vector<raft::Entry>& entries,
               const std::optional<raft::HardState>& hard_state, bool must_sync);
  // The disk is full (`first` said so): writes pause, and this node behaves like a slow one
  // (takes no tick, drops peer messages, refuses client requests but answers status) while
  // `retry` is attempted every 200 ms. True once it succeeded.
  bool wait_for_disk_space(const raft::Error& first, const std::function<raft::Result<void>()>& retry);
  void refuse_while_paused(IncomingRequest& in);
  // A leader whose persist took longer than fsync_stall_ms hands leadership to the most
  // up-to-date voter (docs/disk_faults.md).
  void maybe_hand_over_for_slow_disk();
  void send_messages(std::vector<raft::Message>& msgs);
  // Snapshot transfer in chunks (docs/snapshots.md). A MsgSnapshot from the core carries a
  // descriptor of the snapshot file: the file is streamed by snap_sender_ instead.
  void start_snapshot_transfer(const raft::Message& m);
  // Chunks received (written by snap_receiver_; a complete file is stepped into the core as
  // a MsgSnapshot) and acks received (fed to snap_sender_).
  void handle_snapshot_packets();
  // Sends the chunks the windows and the pace allow, and reports finished transfers to the
  // core (Finish once the receiver has the file in place, Failure when it was abandoned).
  void send_snapshot_chunks();
  void apply_entries(std::vector<raft::Entry>& entries);
  void apply_conf_change_entry(const raft::Entry& e);
  void restore_snapshot(const raft::Snapshot& snap);
  // kv_ from the snapshot's data, streamed from its file ("" on success, else why not; kv_
  // is then unchanged).
  std::string restore_kv(const raft::Snapshot& snap);
  void answer_ready_reads();
  void fail_pending(const std::string& why);
  void maybe_snapshot();  // times take_snapshot_if_due (slowest_snapshot_step_)
  void take_snapshot_if_due();
  // A snapshot child that has ended: its file recorded (or its failure logged).
  void reap_snapshot();
  // Refuses (Rejected, true) a request whose key or value exceeds the cluster file's limits.
  bool refuse_oversized(const transport::ClientRequest& req, const Waiter& waiter);
  // Refuses (Rejected, true) a write that would grow the state past max_state_mb.
  bool refuse_over_quota(const transport::ClientRequest& req, const Waiter& waiter);
  // Time spent in one loop iteration outside poll(): the slowest is kept for status.
  void note_iteration(std::chrono::steady_clock::duration busy);
  void update_peers();
  void check_transfer(bool deadline_passed);
  bool is_member(const raft::ConfState& cs) const;
  void mark_removed(raft::Index index);
  void maybe_finish_removal();

  void reply(const Waiter& w, transport::ClientReply r);
  void reply_not_leader(const IncomingRequest& in);
  transport::NodeStatus node_status() const;
  bool is_leader() const;

  // Constant after construction
  zmq::context_t& ctx_;
  NodeOptions opts_;
  std::chrono::milliseconds tick_interval_;

  std::optional<DataDirClaim> dir_claim_;  // the folder's lock and identity (not in memory)
  storage::Identity identity_;             // this node's cluster, id and incarnation
  std::unique_ptr<LogStore> store_;
  std::unique_ptr<raft::Logger> raft_logger_;
  std::unique_ptr<raft::RawNode> raw_;
  std::unique_ptr<transport::PeerTransport> peers_;
  std::unique_ptr<ClientService> clients_;
  KvStateMachine kv_;

  // The Ready loop (raft/ready_driver.h, shared with the simulation) and this node's side of
  // it. The driver also holds the latest hard state and whether its commit is on disk.
  class ReadyHooks;
  std::unique_ptr<ReadyHooks> ready_hooks_;
  std::unique_ptr<raft::ReadyDriver> ready_;
  raft::ConfState conf_state_;     // membership after the last applied conf change
  raft::Index applied_ = 0;
  raft::Index last_snapshot_index_ = 0;
  // Snapshots (docs/snapshots-taking.md).
  SnapshotPolicy snapshot_policy_;
  SnapshotTaker snapshot_taker_;
  uint64_t log_bytes_at_snapshot_ = 0;  // store_->entry_bytes_persisted() when the last one was started
  uint64_t log_bytes_at_fork_ = 0;      // ... when the running child was started
  std::chrono::steady_clock::time_point next_snapshot_attempt_{};  // after a failure
  std::chrono::steady_clock::duration slowest_iteration_{};        // since the start
  std::chrono::steady_clock::duration slowest_snapshot_iteration_{};  // while a child ran (or forking)
  std::chrono::steady_clock::duration slowest_fork_{};
  std::chrono::steady_clock::duration slowest_snapshot_step_{};  // in maybe_snapshot: fork, record
  uint64_t snapshots_taken_ = 0;
  raft::SoftState soft_state_;
  std::chrono::steady_clock::time_point next_tick_;
  std::vector<raft::NodeId> unreachable_;  // reported after the Ready is advanced
  std::vector<std::pair<raft::NodeId, bool>> snapshots_sent_;  // (to, accepted by the transport)
  // Snapshot files streamed in chunks (null for the in-memory store, whose snapshots travel
  // whole in the MsgSnapshot).
  std::unique_ptr<SnapshotSender> snap_sender_;
  std::unique_ptr<SnapshotReceiver> snap_receiver_;
  std::map<raft::NodeId, raft::Index> snap_pins_;  // follower -> snapshot file pinned for it
  std::vector<transport::SnapshotPacket> snap_inbox_;
  std::vector<transport::SnapshotChunk> snap_outbox_;
  // Set once this node applied its own removal (or restarted on data that shows it): the
  // loop stops cleanly after the current Ready so that it never disrupts the cluster.
  bool removed_ = false;
  // This node applied its own removal at `index`; it stops (removed_) once it has applied
  // nothing new for kRemovalGrace election timeouts and is still not a member.
  struct PendingRemoval {
    raft::Index index = 0;
    raft::Index last_applied = 0;
    std::chrono::steady_clock::time_point last_progress;
  };
  static constexpr int kRemovalGrace = 2;
  std::optional<PendingRemoval> removal_;
  // Peers that left the membership: their sockets close a moment later, so that the farewell
  // heartbeat (telling them the commit of their removal) can still leave.
  std::map<raft::NodeId, std::chrono::steady_clock::time_point> retiring_peers_;
  std::map<raft::NodeId, std::pair<std::string, std::string>> addresses_;  // id -> (raft, client)

  // Client bookkeeping (leader only; cleared by fail_pending).
  std::map<WriteKey, std::vector<Waiter>> pending_writes_;
  struct PendingGet {
    Waiter waiter;
    std::string key;
  };
  std::vector<PendingGet> new_gets_;  // arrived this iteration, waiting for one read_index
  struct ReadBatch {
    std::vector<PendingGet> gets;
    std::chrono::steady_clock::time_point issued;
  };
  std::map<std::string, ReadBatch> pending_reads_;      // read_index ctx -> batch
  std::multimap<raft::Index, ReadBatch> ready_reads_;  // read index -> batch, once confirmed
  uint64_t next_read_ctx_ = 1;
  // The membership change this leader proposed for a client: answered when the entry at
  // `index` is applied (Unknown if leadership or the term is lost first).
  struct PendingConfChange {
    Waiter waiter;
    raft::Index index = 0;
  };
  std::optional<PendingConfChange> pending_conf_change_;
  // A leader transfer asked by a client: answered when the target leads, or at `deadline`.
  struct PendingTransfer {
    Waiter waiter;
    raft::NodeId target = raft::kNone;
    std::chrono::steady_clock::time_point deadline;
  };
  std::optional<PendingTransfer> pending_transfer_;

  std::vector<IncomingRequest> incoming_;
  uint64_t dropped_unknown_peer_ = 0;
  uint64_t dropped_other_incarnation_ = 0;  // messages refused by sender_refusal
  uint64_t dropped_without_standing_ = 0;   // vote requests ignored while standing_ is not ""
  std::string standing_;                    // the last standing_problem(), "" when it holds its slot
  // A leader that sent this node (without standing) a commit beyond its log: it had data once.
  raft::NodeId amnesia_leader_ = raft::kNone;
  std::map<raft::NodeId, uint64_t> heard_incarnation_;  // unrecorded members, as their frames say
  std::chrono::steady_clock::time_point next_record_attempt_{};
  // Writes taken in this loop iteration, proposed together by propose_writes().
  std::vector<raft::Entry> write_batch_;
  std::vector<std::pair<WriteKey, Waiter>> write_batch_waiters_;
  std::vector<raft::Message> inbox_;

  // Disk faults (docs/disk_faults.md).
  int stop_fd_ = -1;
  bool stop_requested_ = false;                           // seen while paused on a full disk
  std::optional<std::chrono::steady_clock::time_point> disk_full_since_;  // set while paused
  std::chrono::steady_clock::duration slowest_persist_{};  // in the current Ready
  std::chrono::steady_clock::time_point next_stall_handover_{};  // one attempt per 2 election timeouts
};

}  // namespace node
