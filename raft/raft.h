// Raft: the protocol state machine of one node (Raft paper §5, thesis chapters 3, 4, 6, 9).
//
// It consumes messages (step) and time (tick) and produces messages and log changes, which
// RawNode hands to the application in Ready. It never performs I/O: everything it sends is
// appended to one of two outboxes, following etcd's split:
//   - msgs_: may be sent at once (a leader's appends and heartbeats: the leader writes its
//     own log in parallel with replicating it, thesis §10.2.1);
//   - msgs_after_append_: may only be sent once the current unstable entries and hard state
//     are persisted (votes and append acknowledgements are promises about durable state).
//
// Invariant: at most one leader per term (election safety) — a node votes at most once per
// term (vote_ is persisted before its vote is sent) and a candidate needs a quorum.
// Invariant: a leader never overwrites or deletes entries in its own log.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "raft/config.h"
#include "raft/error.h"
#include "raft/raft_log.h"
#include "raft/read_only.h"
#include "raft/status.h"
#include "raft/tracker/progress_tracker.h"

namespace raft {

// Why a node campaigns. A transfer campaign may disrupt a leader's lease (thesis §3.10).
enum class CampaignType : uint8_t { PreElection, Election, Transfer };

// The context a transfer campaign's vote requests carry, so receivers ignore their lease.
inline constexpr std::string_view kCampaignTransfer = "CampaignTransfer";

class Raft {
 public:
  // ConfigInvalid on a bad config or storage state.
  static Result<std::unique_ptr<Raft>> create(const Config& config, const Storage& storage);

  Result<void> step(Message m);
  void tick();

  // --- Hooks used by RawNode. ---
  // The application persisted the entries up to (index, term) / the snapshot at index.
  void on_persist_entries(Index index, Term term);
  void on_persist_snap(Index index);
  // The application applied entries up to `applied`.
  void applied_to(Index applied);
  ConfState apply_conf_change(const ConfChangeV2& cc);
  // Accounts committed entries handed to the application against max_uncommitted_size.
  void reduce_uncommitted_size(const std::vector<Entry>& entries);

  // The messages that may be sent at once. A leader announces a commit advance here, once
  // per follower (see commit_bcast_pending_).
  std::vector<Message> take_msgs();
  std::vector<Message> take_msgs_after_append() { return std::exchange(msgs_after_append_, {}); }
  std::vector<ReadState>& read_states() { return read_states_; }
  bool has_msgs() const { return commit_bcast_pending_ || !msgs_.empty() || !msgs_after_append_.empty(); }

  // --- Observers. ---
  NodeId id() const { return id_; }
  Term term() const { return term_; }
  NodeId vote() const { return vote_; }
  NodeId leader_id() const { return leader_id_; }
  StateRole state() const { return state_; }
  NodeId lead_transferee() const { return lead_transferee_; }
  Index pending_conf_index() const { return pending_conf_index_; }
  int randomized_election_timeout() const { return randomized_election_timeout_; }
  int election_timeout() const { return election_timeout_; }
  int heartbeat_timeout() const { return heartbeat_timeout_; }
  bool promotable() const;
  bool is_learner() const;
  HardState hard_state() const;
  SoftState soft_state() const { return SoftState{leader_id_, state_}; }
  const RaftLog& raft_log() const { return log_; }
  RaftLog& raft_log() { return log_; }
  const ProgressTracker& prs() const { return prs_; }
  ProgressTracker& prs() { return prs_; }
  const ReadOnly& read_only() const { return read_only_; }
  Status status() const;

  // --- Test hooks. ---
  // Forces role changes, as the paper's figures describe them (tests only).
  void become_follower(Term term, NodeId leader);
  void become_candidate();
  void become_pre_candidate();
  void become_leader();

 private:
  Raft(const Config& config, const Storage& storage);
  Result<void> init(const Storage& storage, const Config& config);

  void reset(Term term);
  void reset_randomized_election_timeout();
  bool past_election_timeout() const { return election_elapsed_ >= randomized_election_timeout_; }
  void tick_election();
  void tick_heartbeat();

  void hup(CampaignType type);
  void campaign(CampaignType type);
  VoteResult poll(NodeId id, MessageType type, bool granted);
  bool has_unapplied_conf_changes() const;

  Result<void> step_leader(Message& m);
  Result<void> step_candidate(Message& m);
  Result<void> step_follower(Message& m);
  Result<void> handle_vote_request(const Message& m);
  Result<void> propose(Message& m);
  Result<void> check_conf_change_proposal(const Entry& e);
  void handle_read_index(Message& m);
  void handle_append_response(const Message& m, Progress& pr);
  void handle_heartbeat_response(const Message& m, Progress& pr);
  void handle_transfer_leader(const Message& m, Progress& pr);

  void handle_append_entries(const Message& m);
  void handle_heartbeat(const Message& m);
  void handle_snapshot(const Message& m);
  bool restore(const Snapshot& snap);

  // Leader replication.
  bool maybe_send_append(NodeId to, bool send_if_empty);
  void send_append(NodeId to) { maybe_send_append(to, true); }
  bool prepare_snapshot(NodeId to, Progress& pr, Message& m);
  void bcast_append();
  void flush_commit_bcast();
  void bcast_heartbeat();
  void send_heartbeat(NodeId to, const std::string& ctx);
  void send_timeout_now(NodeId to);
  bool append_entry(std::vector<Entry>& es);
  bool maybe_commit();
  bool committed_entry_in_current_term() const;
  void release_pending_read_index_messages();
  void send_read_index_response(const Message& req, Index index);
  void abort_leader_transfer() { lead_transferee_ = kNone; }
  bool increase_uncommitted_size(const std::vector<Entry>& es);

  ConfState post_conf_change();
  void step_down_after_removal();

  void send(Message m);
  void log(LogLevel level, const std::string& message) const;

  // Constant after construction.
  NodeId id_;
  int election_timeout_;
  int heartbeat_timeout_;
  int min_election_timeout_;
  int max_election_timeout_;
  bool check_quorum_;
  bool pre_vote_;
  uint64_t max_msg_size_;
  uint64_t max_uncommitted_size_;
  bool lazy_commit_broadcast_;
  Logger* logger_;

  // Persistent state (Figure 2), persisted through Ready.hard_state.
  Term term_ = 0;
  NodeId vote_ = kNone;

  // Volatile state.
  StateRole state_ = StateRole::Follower;
  NodeId leader_id_ = kNone;
  NodeId lead_transferee_ = kNone;
  // Invariant: no new conf change is proposed until the log has been applied up to here.
  Index pending_conf_index_ = 0;
  uint64_t uncommitted_size_ = 0;
  int election_elapsed_ = 0;
  int heartbeat_elapsed_ = 0;
  int randomized_election_timeout_ = 0;
  uint64_t rng_state_;

  RaftLog log_;
  ProgressTracker prs_;
  ReadOnly read_only_;
  // Read requests that arrived before this leader committed an entry of its term (thesis
  // §6.4: until then it does not know the latest commit index).
  std::vector<Message> pending_read_index_messages_;
  // A MsgTimeoutNow arrived while committed conf changes were still unapplied (typically the
  // removal of the leader that sent it, which applies it first): campaign once they are
  // applied. Cleared by every role or term change (reset).
  bool pending_timeout_now_ = false;

  // The leader's commit index advanced and the followers have not been told. Every
  // acknowledgement (and the leader's own persist) may advance it; broadcasting an append per
  // advance sent up to one message per follower per acknowledgement, each answered by the
  // follower. Instead take_msgs() tells each follower once: it raises the commit of an append
  // already queued for that follower (a commit the leader holds may ride on any append of its
  // term: the follower commits min(commit, last index of that append)), else sends one.
  bool commit_bcast_pending_ = false;
  // The commit index as of the last flush_commit_bcast: a conf change committed past it is
  // told to every follower at once, even with lazy_commit_broadcast_.
  Index commit_flushed_ = 0;
  std::vector<Message> msgs_;
  std::vector<Message> msgs_after_append_;
  std::vector<ReadState> read_states_;
};

}  // namespace raft
