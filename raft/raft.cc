#include "raft/raft.h"

#include <algorithm>

#include "raft/check.h"
#include "raft/conf_change.h"
#include "raft/confchange/changer.h"

namespace raft {
namespace {

using MT = MessageType;

MessageType vote_response_type(MessageType t) {
  switch (t) {
    case MT::MsgRequestVote: return MT::MsgRequestVoteResponse;
    case MT::MsgRequestPreVote: return MT::MsgRequestPreVoteResponse;
    default: RAFT_PANIC("not a vote message: %s", std::string(to_string(t)).c_str());
  }
}

bool is_vote_msg(MessageType t) {
  return t == MT::MsgRequestVote || t == MT::MsgRequestPreVote;
}

// splitmix64: a tiny, well-distributed generator. The core must be deterministic given
// Config::seed, and std::uniform_int_distribution is not portable across libraries.
uint64_t next_random(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

Result<std::unique_ptr<Raft>> Raft::create(const Config& config, const Storage& storage) {
  if (auto r = config.validate(); !r) return r.error();
  std::unique_ptr<Raft> raft(new Raft(config, storage));
  if (auto r = raft->init(storage, config); !r) return r.error();
  return raft;
}

Raft::Raft(const Config& c, const Storage& storage)
    : id_(c.id),
      election_timeout_(c.election_tick),
      heartbeat_timeout_(c.heartbeat_tick),
      min_election_timeout_(c.min_election()),
      max_election_timeout_(c.max_election()),
      check_quorum_(c.check_quorum),
      pre_vote_(c.pre_vote),
      max_msg_size_(c.max_size_per_msg),
      max_uncommitted_size_(c.max_uncommitted_size),
      lazy_commit_broadcast_(c.lazy_commit_broadcast),
      logger_(c.logger ? c.logger : &null_logger()),
      rng_state_(c.seed ^ (c.id * 0x2545f4914f6cdd1dULL)),
      log_(storage, c.max_committed_size_per_ready ? c.max_committed_size_per_ready : kNoLimit),
      prs_(c.max_inflight_msgs),
      read_only_(c.read_only_option) {}

Result<void> Raft::init(const Storage& storage, const Config& c) {
  auto rs = storage.initial_state();
  if (!rs) return make_error(ErrorCode::ConfigInvalid, "storage initial state: " + rs.error().to_string());
  if (auto r = raft::restore(prs_, log_.last_index(), rs->conf_state); !r) {
    return make_error(ErrorCode::ConfigInvalid, "stored membership: " + r.error().message);
  }
  const HardState& hs = rs->hard_state;
  if (!hs.empty()) {
    if (hs.commit > log_.last_index()) {
      return make_error(ErrorCode::ConfigInvalid,
                        format("stored commit %lu is past the last index %lu", hs.commit, log_.last_index()));
    }
    // A stored commit below the first kept entry is fine: a change of the commit index alone
    // is written lazily (it rides on the next write), while a snapshot of what was applied,
    // and the compaction behind it, may already have passed it. Everything a snapshot covers
    // was committed, so the commit stays at least there (commit_to never lowers it).
    log_.commit_to(hs.commit);
    term_ = hs.term;
    vote_ = hs.vote;
  }
  if (c.applied > 0) {
    if (c.applied > log_.last_index()) {
      return make_error(ErrorCode::ConfigInvalid,
                        format("applied %lu is past the last index %lu", c.applied,
                               log_.last_index()));
    }
    // What the application applied was committed, even if the commit index it persisted is
    // older (a commit-only hard state write need not be synced; a snapshot file is).
    log_.commit_to(c.applied);
    log_.applied_to(std::max(c.applied, log_.applied()));
  }
  become_follower(term_, kNone);
  log(LogLevel::Info, format("newRaft id=%lu term=%lu commit=%lu applied=%lu last=%lu/%lu conf=%s",
                             id_, term_, log_.committed(), log_.applied(), log_.last_index(),
                             log_.last_term(), prs_.config().describe().c_str()));
  return {};
}

void Raft::log(LogLevel level, const std::string& message) const {
  logger_->log(level, format("[%lu] ", id_) + message);
}

HardState Raft::hard_state() const { return HardState{term_, vote_, log_.committed()}; }

bool Raft::promotable() const { return prs_.config().voters.contains(id_); }

bool Raft::is_learner() const {
  const Progress* pr = prs_.get(id_);
  return pr && pr->is_learner;
}

void Raft::reset_randomized_election_timeout() {
  const auto span = static_cast<uint64_t>(max_election_timeout_ - min_election_timeout_);
  randomized_election_timeout_ =
      min_election_timeout_ + static_cast<int>(next_random(rng_state_) % span);
}

// --- Role transitions (Raft §5.2, Figure 4). ---

void Raft::reset(Term term) {
  if (term_ != term) {
    term_ = term;
    vote_ = kNone;
  }
  leader_id_ = kNone;
  pending_timeout_now_ = false;
  commit_bcast_pending_ = false;
  election_elapsed_ = 0;
  heartbeat_elapsed_ = 0;
  reset_randomized_election_timeout();
  abort_leader_transfer();
  prs_.reset_votes();
  const Index last = log_.last_index();
  for (auto& [id, pr] : prs_.progress()) {
    const bool learner = pr.is_learner;
    pr = Progress(last + 1, prs_.max_inflight());
    pr.is_learner = learner;
    // Our own log counts only as far as it is durable (thesis §10.2.1).
    if (id == id_) pr.matched = log_.persisted();
  }
  pending_conf_index_ = 0;
  uncommitted_size_ = 0;
  read_only_.reset();
  pending_read_index_messages_.clear();
}

void Raft::become_follower(Term term, NodeId leader) {
  reset(term);
  leader_id_ = leader;
  state_ = StateRole::Follower;
}

void Raft::become_candidate() {
  RAFT_CHECK(state_ != StateRole::Leader, "invalid transition [leader -> candidate]");
  reset(term_ + 1);
  vote_ = id_;
  state_ = StateRole::Candidate;
  log(LogLevel::Info, format("became candidate at term %lu", term_));
}

void Raft::become_pre_candidate() {
  RAFT_CHECK(state_ != StateRole::Leader, "invalid transition [leader -> pre-candidate]");
  // A pre-candidate changes neither term nor vote: the pre-vote round is a dry run that
  // must leave no trace if it fails (thesis §9.6).
  prs_.reset_votes();
  leader_id_ = kNone;
  state_ = StateRole::PreCandidate;
  log(LogLevel::Info, format("became pre-candidate at term %lu", term_));
}

void Raft::become_leader() {
  RAFT_CHECK(state_ != StateRole::Follower, "invalid transition [follower -> leader]");
  reset(term_);
  leader_id_ = id_;
  state_ = StateRole::Leader;
  // The leader trivially replicates to itself.
  if (Progress* self = prs_.get(id_)) self->become_replicate();
  // There may be a conf change anywhere in the uncommitted tail; refusing new ones until
  // the whole tail is applied is safe and avoids scanning it.
  pending_conf_index_ = log_.last_index();
  commit_flushed_ = log_.committed();
  // Raft §5.4.2 / §8: commit an empty entry of the new term, which commits every earlier
  // entry with it and lets read_index learn the commit index.
  std::vector<Entry> empty(1);
  RAFT_CHECK(append_entry(empty), "appending the empty leader entry was refused");
  log(LogLevel::Info, format("became leader at term %lu", term_));
}

// --- Time. ---

void Raft::tick() {
  if (state_ == StateRole::Leader) {
    tick_heartbeat();
  } else {
    tick_election();
  }
}

void Raft::tick_election() {
  ++election_elapsed_;
  if (promotable() && past_election_timeout()) {
    election_elapsed_ = 0;
    Message m;
    m.msg_type = MT::MsgHup;
    m.from = id_;
    (void)step(std::move(m));
  }
}

void Raft::tick_heartbeat() {
  ++heartbeat_elapsed_;
  ++election_elapsed_;
  if (election_elapsed_ >= election_timeout_) {
    election_elapsed_ = 0;
    if (check_quorum_) {
      Message m;
      m.msg_type = MT::MsgCheckQuorum;
      m.from = id_;
      (void)step(std::move(m));
    }
    // A transfer that did not complete within an election timeout is abandoned (§3.10).
    if (state_ == StateRole::Leader && lead_transferee_ != kNone) abort_leader_transfer();
  }
  if (state_ != StateRole::Leader) return;
  if (heartbeat_elapsed_ >= heartbeat_timeout_) {
    heartbeat_elapsed_ = 0;
    Message m;
    m.msg_type = MT::MsgBeat;
    m.from = id_;
    (void)step(std::move(m));
  }
}

// --- Elections. ---

bool Raft::has_unapplied_conf_changes() const {
  if (log_.applied() >= log_.committed()) return false;
  auto ents = log_.slice(log_.applied() + 1, log_.committed() + 1, kNoLimit);
  if (!ents) return true;  // cannot tell: be conservative
  return std::any_of(ents->begin(), ents->end(),
                     [](const Entry& e) { return e.type == EntryType::ConfChange; });
}

void Raft::hup(CampaignType type) {
  if (state_ == StateRole::Leader) return;
  if (!promotable()) {
    log(LogLevel::Debug, "is not promotable (not a voter): ignoring campaign");
    return;
  }
  // A committed but unapplied conf change could change the set of voters to ask; campaign
  // only once it is applied (otherwise the wrong quorum could be counted).
  if (has_unapplied_conf_changes()) {
    log(LogLevel::Warn, "cannot campaign: committed conf changes not yet applied");
    return;
  }
  campaign(type);
}

void Raft::campaign(CampaignType type) {
  Term term;
  MessageType vote_msg;
  if (type == CampaignType::PreElection) {
    become_pre_candidate();
    vote_msg = MT::MsgRequestPreVote;
    term = term_ + 1;  // the term we would campaign in; ours does not change yet
  } else {
    become_candidate();
    vote_msg = MT::MsgRequestVote;
    term = term_;
  }
  if (poll(id_, vote_response_type(vote_msg), true) == VoteResult::Won) {
    // A single-voter configuration wins at once.
    if (type == CampaignType::PreElection) {
      campaign(CampaignType::Election);
    } else {
      become_leader();
    }
    return;
  }
  for (NodeId id : prs_.config().voters.ids()) {
    if (id == id_) continue;
    Message m;
    m.msg_type = vote_msg;
    m.to = id;
    m.term = term;
    m.index = log_.last_index();
    m.log_term = log_.last_term();
    if (type == CampaignType::Transfer) m.context = std::string(kCampaignTransfer);
    send(std::move(m));
  }
}

VoteResult Raft::poll(NodeId id, MessageType type, bool granted) {
  prs_.record_vote(id, granted);
  auto tally = prs_.tally_votes();
  log(LogLevel::Debug, format("%s from %lu: %s; %zu granted, %zu rejected",
                              std::string(to_string(type)).c_str(), id,
                              granted ? "granted" : "rejected", tally.granted, tally.rejected));
  return tally.result;
}

// --- Step: term checks common to every role (Raft §5.1), then dispatch. ---

Result<void> Raft::step(Message m) {
  if (m.term == 0) {
    // Local message, or a forwarded proposal / read request (which carry no term).
  } else if (m.term > term_) {
    if (is_vote_msg(m.msg_type)) {
      const bool force = m.context == kCampaignTransfer;
      // Thesis §4.2.3: a node that heard from a leader within the minimum election
      // timeout ignores vote requests, so a removed or partitioned node cannot depose a
      // working leader.
      const bool in_lease =
          check_quorum_ && leader_id_ != kNone && election_elapsed_ < election_timeout_;
      if (!force && in_lease) {
        log(LogLevel::Debug, format("ignoring %s from %lu at term %lu: lease not expired",
                                    std::string(to_string(m.msg_type)).c_str(), m.from, m.term));
        return {};
      }
    }
    if (m.msg_type == MT::MsgRequestPreVote) {
      // A pre-vote never changes our term.
    } else if (m.msg_type == MT::MsgRequestPreVoteResponse && !m.reject) {
      // We sent the pre-vote at term + 1; granting it does not move us to that term until
      // the real election.
    } else {
      const bool from_leader = m.msg_type == MT::MsgAppend || m.msg_type == MT::MsgHeartbeat ||
                               m.msg_type == MT::MsgSnapshot;
      become_follower(m.term, from_leader ? m.from : kNone);
    }
  } else if (m.term < term_) {
    if ((check_quorum_ || pre_vote_) &&
        (m.msg_type == MT::MsgHeartbeat || m.msg_type == MT::MsgAppend)) {
      // A stale leader (e.g. one that was partitioned) would never learn of the newer term
      // if we ignored it, since with check-quorum/pre-vote we do not bump terms on our own:
      // tell it, so it steps down.
      Message resp;
      resp.msg_type = MT::MsgAppendResponse;
      resp.to = m.from;
      send(std::move(resp));
    } else if (m.msg_type == MT::MsgRequestPreVote) {
      Message resp;
      resp.msg_type = MT::MsgRequestPreVoteResponse;
      resp.to = m.from;
      resp.term = term_;
      resp.reject = true;
      send(std::move(resp));
    }
    return {};  // stale: ignore
  }

  switch (m.msg_type) {
    case MT::MsgHup:
      hup(pre_vote_ ? CampaignType::PreElection : CampaignType::Election);
      return {};
    case MT::MsgRequestVote:
    case MT::MsgRequestPreVote:
      return handle_vote_request(m);
    default:
      break;
  }
  switch (state_) {
    case StateRole::Leader: return step_leader(m);
    case StateRole::Candidate:
    case StateRole::PreCandidate: return step_candidate(m);
    case StateRole::Follower: return step_follower(m);
  }
  return {};
}

Result<void> Raft::handle_vote_request(const Message& m) {
  // We can vote if we already voted for this candidate (a duplicate request), or have not
  // voted and know no leader in this term, or it is a pre-vote for a later term.
  const bool can_vote = vote_ == m.from || (vote_ == kNone && leader_id_ == kNone) ||
                        (m.msg_type == MT::MsgRequestPreVote && m.term > term_);
  // Votes are only for members while we hear from a leader: a node removed from the
  // configuration must not win over a working cluster (our tracker is empty only before we
  // learned any membership). Without a recent leader our own membership may be stale (we
  // may have missed the change that added the candidate), and refusing could leave the
  // cluster without any leader.
  const bool recent_leader = leader_id_ != kNone && election_elapsed_ < election_timeout_;
  const bool member = prs_.is_member(m.from) || !recent_leader;
  // A node that knows no configuration grants nothing. It is either new (waiting to be added:
  // it is no voter, and its vote would be one the cluster never counted on) or a voter that
  // lost its storage: it may have voted in the candidate's term before, and a second vote in
  // one term is how two leaders of a term happen (Raft thesis §3.8: a server that lost its
  // storage must rejoin the cluster as a new server). It can vote again once a
  // leader gave it a configuration; docs/membership.md "Amnesia" says why the node adds an
  // incarnation check on top (a leader of an older term could give it one).
  // It stays silent rather than rejecting: its term may still be 0, which no vote response
  // may carry, and the commit hint below means nothing without a configuration.
  if (prs_.progress().empty()) return {};
  Message resp;
  resp.msg_type = vote_response_type(m.msg_type);
  resp.to = m.from;
  // Raft §5.4.1: grant only to a candidate whose log is at least as up to date as ours.
  if (can_vote && member && log_.is_up_to_date(m.index, m.log_term)) {
    // The response carries the term of the request, so that a pre-candidate can tell it
    // apart from a response to an older round.
    resp.term = m.term;
    send(std::move(resp));
    if (m.msg_type == MT::MsgRequestVote) {
      election_elapsed_ = 0;
      vote_ = m.from;
    }
  } else {
    resp.term = term_;
    resp.reject = true;
    // Tell the candidate how far we know the log to be committed. A leader that removed
    // itself steps down as soon as it applies the change; the voter left behind may not have
    // heard that the change committed and, still joint in its own view, would wait forever
    // for the vote of a node that refuses it and no longer campaigns.
    resp.commit = log_.committed();
    const auto commit_term = log_.term(log_.committed());
    resp.log_term = commit_term.ok() ? *commit_term : 0;
    send(std::move(resp));
  }
  return {};
}

// --- Leader. ---

Result<void> Raft::step_leader(Message& m) {
  switch (m.msg_type) {
    case MT::MsgBeat:
      bcast_heartbeat();
      return {};
    case MT::MsgCheckQuorum:
      // Thesis §6.2: a leader that cannot reach a quorum within an election timeout steps
      // down, so that clients look for the real leader elsewhere.
      if (!prs_.quorum_recently_active(id_)) {
        log(LogLevel::Warn, "stepped down to follower since quorum is not active");
        become_follower(term_, kNone);
      }
      prs_.reset_recent_active(id_);
      return {};
    case MT::MsgPropose:
      return propose(m);
    case MT::MsgReadIndex:
      handle_read_index(m);
      return {};
    default:
      break;
  }

  Progress* pr = prs_.get(m.from);
  if (!pr) {
    return make_error(ErrorCode::StepPeerNotFound,
                      format("%s from unknown peer %lu", std::string(to_string(m.msg_type)).c_str(),
                             m.from));
  }
  switch (m.msg_type) {
    case MT::MsgAppendResponse:
      handle_append_response(m, *pr);
      break;
    case MT::MsgHeartbeatResponse:
      handle_heartbeat_response(m, *pr);
      break;
    case MT::MsgSnapStatus:
      if (pr->state != ProgressState::Snapshot) break;
      if (m.reject) pr->pending_snapshot = 0;
      // Either way, probe: on success from after the snapshot, on failure from the match.
      pr->become_probe();
      // Wait for the next heartbeat response before probing, to give the follower time.
      pr->pause();
      break;
    case MT::MsgUnreachable:
      // Pipelined appends to an unreachable follower are probably lost: fall back to probing.
      if (pr->state == ProgressState::Replicate) pr->become_probe();
      break;
    case MT::MsgTransferLeader:
      handle_transfer_leader(m, *pr);
      break;
    default:
      break;
  }
  return {};
}

Result<void> Raft::propose(Message& m) {
  RAFT_CHECK(!m.entries.empty(), "stepped an empty MsgPropose");
  if (!prs_.is_member(id_)) {
    // Removed from the configuration: we are stepping down anyway (post_conf_change).
    return make_error(ErrorCode::ProposalDropped, "this leader was removed from the cluster");
  }
  if (lead_transferee_ != kNone) {
    return make_error(ErrorCode::ProposalDropped,
                      format("leadership is being transferred to %lu", lead_transferee_));
  }
  for (const Entry& e : m.entries) {
    if (e.type != EntryType::ConfChange) continue;
    if (auto r = check_conf_change_proposal(e); !r) return r;
    pending_conf_index_ = log_.last_index() + 1;
  }
  if (!append_entry(m.entries)) {
    return make_error(ErrorCode::ProposalDropped, "too many uncommitted bytes (max_uncommitted_size)");
  }
  bcast_append();
  return {};
}

Result<void> Raft::check_conf_change_proposal(const Entry& e) {
  // Two kinds of refusal: ProposalDropped for "not now" (another change is pending or the
  // joint configuration is not left yet: retry later), ConfigInvalid for a change that can
  // never apply to this configuration (retrying is pointless).
  auto cc = decode_conf_change(e.data);
  if (!cc) return make_error(ErrorCode::ConfigInvalid, cc.error().message);
  auto refuse = [&](ErrorCode code, const std::string& why) {
    log(LogLevel::Info, "refused conf change " + describe(*cc) + ": " + why);
    return make_error(code, why);
  };
  if (pending_conf_index_ > log_.applied()) {
    return refuse(ErrorCode::ProposalDropped,
                  format("a configuration change is already pending (at index %lu, applied %lu)", pending_conf_index_,
                         log_.applied()));
  }
  const bool joint = prs_.config().voters.is_joint();
  if (joint && !cc->leave_joint()) {
    return refuse(ErrorCode::ProposalDropped, "the configuration is joint: leave it first (empty ConfChangeV2)");
  }
  if (!joint && cc->leave_joint()) return refuse(ErrorCode::ConfigInvalid, "the configuration is not joint");
  // Validate against the configuration the change will apply to (no other change can come
  // in between, since only one may be pending), so a committed change never fails to apply.
  Changer changer(prs_, log_.last_index());
  bool auto_leave = false;
  Result<Changer::Output> out = cc->leave_joint()         ? changer.leave_joint()
                                : cc->enter_joint(&auto_leave) ? changer.enter_joint(auto_leave, cc->changes)
                                                         : changer.simple(cc->changes);
  if (!out) return refuse(ErrorCode::ConfigInvalid, out.error().message);
  return {};
}

void Raft::handle_read_index(Message& m) {
  if (!committed_entry_in_current_term()) {
    // Thesis §6.4 step 1: until an entry of this term commits, our commit index may lag
    // the cluster's. Hold the request until then. A lone voter too: its stored commit may
    // lag its own log (a change of the commit alone is written lazily), so after a restart
    // entries it committed, applied and acknowledged before crashing can sit above its
    // commit index until its new term's first entry commits them again.
    pending_read_index_messages_.push_back(std::move(m));
    return;
  }
  if (prs_.is_singleton()) {
    // Alone, our commit index is the cluster's.
    send_read_index_response(m, log_.committed());
    return;
  }
  if (read_only_.option() == ReadOnlyOption::LeaseBased) {
    send_read_index_response(m, log_.committed());
    return;
  }
  const std::string ctx = m.entries.empty() ? std::string() : m.entries[0].data;
  read_only_.add_request(log_.committed(), std::move(m), id_);
  // Thesis §6.4 step 3: confirm leadership with a round of heartbeats carrying the context.
  for (const auto& [id, pr] : prs_.progress()) {
    if (id != id_) send_heartbeat(id, ctx);
  }
}

void Raft::send_read_index_response(const Message& req, Index index) {
  const std::string ctx = req.entries.empty() ? std::string() : req.entries[0].data;
  if (req.from == kNone || req.from == id_) {
    read_states_.push_back(ReadState{index, ctx});
    return;
  }
  Message resp;
  resp.msg_type = MT::MsgReadIndexResp;
  resp.to = req.from;
  resp.index = index;
  resp.entries = req.entries;
  send(std::move(resp));
}

bool Raft::committed_entry_in_current_term() const {
  auto t = log_.term(log_.committed());
  return t.ok() && *t == term_;
}

void Raft::release_pending_read_index_messages() {
  if (pending_read_index_messages_.empty() || !committed_entry_in_current_term()) return;
  auto pending = std::exchange(pending_read_index_messages_, {});
  for (auto& m : pending) handle_read_index(m);
}

void Raft::handle_append_response(const Message& m, Progress& pr) {
  pr.recent_active = true;
  if (m.reject) {
    // Raft §5.3 with the fast backtracking hint: the follower told us (reject_hint,
    // log_term) = the last index at which its log could match with a term <= ours there.
    Index next_probe = m.reject_hint;
    if (m.log_term > 0) next_probe = log_.find_conflict_by_term(m.reject_hint, m.log_term).first;
    if (pr.maybe_decr_to(m.index, next_probe)) {
      if (pr.state == ProgressState::Replicate) pr.become_probe();
      send_append(m.from);
    }
    return;
  }
  const bool old_paused = pr.is_paused();
  if (!pr.maybe_update(m.index)) return;
  switch (pr.state) {
    case ProgressState::Probe:
      pr.become_replicate();
      break;
    case ProgressState::Snapshot:
      if (pr.matched + 1 >= log_.first_index()) {
        // The follower caught up past what a snapshot would give it.
        pr.become_probe();
        pr.become_replicate();
      }
      break;
    case ProgressState::Replicate:
      pr.ins.free_to(m.index);
      break;
  }
  // A new commit index is told to the followers once, when the messages are taken.
  if (maybe_commit()) commit_bcast_pending_ = true;
  if (old_paused) send_append(m.from);
  // Pipeline: keep sending while the window allows.
  while (maybe_send_append(m.from, false)) {
  }
  if (m.from == lead_transferee_ && pr.matched == log_.last_index()) {
    log(LogLevel::Info, format("sent TimeoutNow to %lu after it caught up", m.from));
    send_timeout_now(m.from);
  }
}

void Raft::handle_heartbeat_response(const Message& m, Progress& pr) {
  pr.recent_active = true;
  pr.resume();
  // A heartbeat response frees one slot so a full window cannot stall forever on lost acks.
  if (pr.state == ProgressState::Replicate && pr.ins.full()) pr.ins.free_first_one();
  if (pr.matched < log_.last_index()) send_append(m.from);

  if (read_only_.option() != ReadOnlyOption::Safe || m.context.empty()) return;
  const std::set<NodeId>* acks = read_only_.recv_ack(m.from, m.context);
  if (!acks) return;
  auto won = prs_.config().voters.vote_result(
      [acks](NodeId id) -> std::optional<bool> { return acks->count(id) ? std::optional<bool>(true) : std::nullopt; });
  if (won != VoteResult::Won) return;
  for (auto& rs : read_only_.advance(m.context)) send_read_index_response(rs.req, rs.index);
}

void Raft::handle_transfer_leader(const Message& m, Progress& pr) {
  const NodeId transferee = m.from;
  if (pr.is_learner) {
    log(LogLevel::Info, format("ignored transferring leadership to learner %lu", transferee));
    return;
  }
  if (lead_transferee_ != kNone) {
    if (lead_transferee_ == transferee) return;  // already in progress
    abort_leader_transfer();
  }
  if (transferee == id_) return;  // already leader
  log(LogLevel::Info, format("starts transferring leadership to %lu", transferee));
  // The transfer must finish within an election timeout (§3.10).
  election_elapsed_ = 0;
  lead_transferee_ = transferee;
  if (pr.matched == log_.last_index()) {
    send_timeout_now(transferee);
  } else {
    send_append(transferee);
  }
}

void Raft::send_timeout_now(NodeId to) {
  Message m;
  m.msg_type = MT::MsgTimeoutNow;
  m.to = to;
  send(std::move(m));
}

bool Raft::prepare_snapshot(NodeId to, Progress& pr, Message& m) {
  if (!pr.recent_active) return false;  // do not send a large snapshot to a dead node
  auto snap = log_.snapshot(0);
  if (!snap) {
    if (snap.code() == ErrorCode::SnapshotTemporarilyUnavailable) return false;
    RAFT_PANIC("snapshot for %lu unavailable: %s", to, snap.error().to_string().c_str());
  }
  RAFT_CHECK(!snap->empty(), "need a snapshot for %lu but storage has none", to);
  m.msg_type = MT::MsgSnapshot;
  m.snapshot = std::move(*snap);
  log(LogLevel::Info, format("sending snapshot at %lu to %lu (next %lu, match %lu)",
                             m.snapshot.metadata.index, to, pr.next_idx, pr.matched));
  pr.become_snapshot(m.snapshot.metadata.index);
  return true;
}

bool Raft::maybe_send_append(NodeId to, bool send_if_empty) {
  Progress* pr = prs_.get(to);
  if (!pr || pr->is_paused()) return false;
  Message m;
  m.to = to;
  auto term = log_.term(pr->next_idx - 1);
  Result<std::vector<Entry>> ents = std::vector<Entry>{};
  if (term.ok()) ents = log_.entries(pr->next_idx, max_msg_size_);
  if (term.ok() && ents.ok()) {
    if (ents->empty() && !send_if_empty) return false;
    m.msg_type = MT::MsgAppend;
    m.index = pr->next_idx - 1;
    m.log_term = *term;
    m.entries = std::move(*ents);
    m.commit = log_.committed();
    if (!m.entries.empty()) {
      const Index last = m.entries.back().index;
      if (pr->state == ProgressState::Replicate) {
        pr->optimistic_update(last);
        pr->ins.add(last);
      } else if (pr->state == ProgressState::Probe) {
        pr->pause();
      }
    }
  } else if (!prepare_snapshot(to, *pr, m)) {
    // The entries it needs were compacted and no snapshot can be sent now.
    return false;
  }
  send(std::move(m));
  return true;
}

void Raft::bcast_append() {
  for (auto& [id, pr] : prs_.progress()) {
    if (id != id_) send_append(id);
  }
}

void Raft::flush_commit_bcast() {
  if (!commit_bcast_pending_) return;
  commit_bcast_pending_ = false;
  if (state_ != StateRole::Leader) return;
  const Index committed = log_.committed();
  std::vector<NodeId> told;
  for (Message& m : msgs_) {
    if (m.msg_type != MT::MsgAppend || m.term != term_) continue;
    m.commit = std::max(m.commit, committed);
    told.push_back(m.to);
  }
  // pending_conf_index_ is at least the index of the last conf change in the log.
  const bool conf_change_committed = pending_conf_index_ > commit_flushed_ && pending_conf_index_ <= committed;
  commit_flushed_ = committed;
  if (lazy_commit_broadcast_ && !conf_change_committed) return;
  for (const auto& [id, pr] : prs_.progress()) {
    if (id != id_ && std::find(told.begin(), told.end(), id) == told.end()) send_append(id);
  }
}

std::vector<Message> Raft::take_msgs() {
  flush_commit_bcast();
  return std::exchange(msgs_, {});
}

void Raft::bcast_heartbeat() {
  const std::string ctx = read_only_.last_pending_request_ctx();
  for (const auto& [id, pr] : prs_.progress()) {
    if (id != id_) send_heartbeat(id, ctx);
  }
}

void Raft::send_heartbeat(NodeId to, const std::string& ctx) {
  // Never tell a follower a commit index beyond what it is known to have: it could not
  // know which entries that commit refers to.
  const Progress* pr = prs_.get(to);
  Message m;
  m.msg_type = MT::MsgHeartbeat;
  m.to = to;
  m.commit = std::min(pr ? pr->matched : 0, log_.committed());
  m.context = ctx;
  send(std::move(m));
}

bool Raft::append_entry(std::vector<Entry>& es) {
  Index li = log_.last_index();
  for (Entry& e : es) {
    e.term = term_;
    e.index = ++li;
  }
  if (!increase_uncommitted_size(es)) return false;
  log_.append(es);
  // Our own progress advances only when these entries are persisted (on_persist_entries),
  // so that an entry is never counted as replicated on a leader that has not stored it.
  return true;
}

bool Raft::increase_uncommitted_size(const std::vector<Entry>& es) {
  uint64_t size = 0;
  for (const Entry& e : es) size += e.payload_size();
  // An empty proposal (the leader's own entry, leave-joint) is always allowed, and so is a
  // first large one: otherwise an entry larger than the cap could never be proposed.
  if (max_uncommitted_size_ > 0 && uncommitted_size_ > 0 && size > 0 &&
      uncommitted_size_ + size > max_uncommitted_size_) {
    return false;
  }
  uncommitted_size_ += size;
  return true;
}

void Raft::reduce_uncommitted_size(const std::vector<Entry>& entries) {
  if (state_ != StateRole::Leader) return;
  uint64_t size = 0;
  for (const Entry& e : entries) size += e.payload_size();
  // Entries from previous terms were never counted: clamp at zero.
  uncommitted_size_ = size > uncommitted_size_ ? 0 : uncommitted_size_ - size;
}

bool Raft::maybe_commit() {
  // Raft §5.4.2: only entries of the current term are committed by counting replicas.
  if (!log_.maybe_commit(prs_.committed(), term_)) return false;
  release_pending_read_index_messages();
  return true;
}

// --- Candidate. ---

Result<void> Raft::step_candidate(Message& m) {
  switch (m.msg_type) {
    case MT::MsgPropose:
      return make_error(ErrorCode::ProposalDropped, "no leader: an election is in progress");
    case MT::MsgAppend:
      become_follower(m.term, m.from);
      handle_append_entries(m);
      break;
    case MT::MsgHeartbeat:
      become_follower(m.term, m.from);
      handle_heartbeat(m);
      break;
    case MT::MsgSnapshot:
      become_follower(m.term, m.from);
      handle_snapshot(m);
      break;
    case MT::MsgRequestPreVoteResponse:
    case MT::MsgRequestVoteResponse: {
      // Only responses to our current kind of campaign count (a stale pre-vote response
      // reaching a candidate is ignored, and vice versa).
      const bool ours = (state_ == StateRole::PreCandidate) ==
                        (m.msg_type == MT::MsgRequestPreVoteResponse);
      if (!ours) break;
      // A rejection carries the voter's commit index: if our log holds that entry, every
      // entry up to it is committed (Log Matching), whoever told us.
      if (m.reject && m.commit > log_.committed() && log_.match_term(m.commit, m.log_term)) {
        log_.commit_to(m.commit);
      }
      switch (poll(m.from, m.msg_type, !m.reject)) {
        case VoteResult::Won:
          if (state_ == StateRole::PreCandidate) {
            campaign(CampaignType::Election);
          } else {
            become_leader();
            bcast_append();
          }
          break;
        case VoteResult::Lost:
          // A pre-candidate that lost goes back to follower at its own term; a candidate
          // that lost stays in its (already incremented) term.
          become_follower(term_, kNone);
          break;
        case VoteResult::Pending:
          break;
      }
      break;
    }
    case MT::MsgTimeoutNow:
      break;  // already campaigning
    default:
      break;
  }
  return {};
}

// --- Follower. ---

Result<void> Raft::step_follower(Message& m) {
  switch (m.msg_type) {
    case MT::MsgPropose:
      if (leader_id_ == kNone) {
        return make_error(ErrorCode::ProposalDropped, "no leader known at this term");
      }
      m.to = leader_id_;
      send(std::move(m));
      break;
    case MT::MsgAppend:
      election_elapsed_ = 0;
      leader_id_ = m.from;
      handle_append_entries(m);
      break;
    case MT::MsgHeartbeat:
      election_elapsed_ = 0;
      leader_id_ = m.from;
      handle_heartbeat(m);
      break;
    case MT::MsgSnapshot:
      election_elapsed_ = 0;
      leader_id_ = m.from;
      handle_snapshot(m);
      break;
    case MT::MsgTransferLeader:
      if (leader_id_ == kNone) {
        log(LogLevel::Info, "no leader: dropping leader transfer request");
        break;
      }
      m.to = leader_id_;
      send(std::move(m));
      break;
    case MT::MsgTimeoutNow:
      // Leadership transfer (thesis §3.10): campaign at once, without pre-vote, and with
      // the transfer flag so that voters ignore their lease.
      if (has_unapplied_conf_changes()) {
        // hup would refuse (the voters to ask may be about to change). Without this the
        // hand-off of a removed leader, which applies its removal before we can, is lost.
        log(LogLevel::Info, format("received TimeoutNow from %lu: campaigning once the "
                                   "committed conf changes are applied", m.from));
        pending_timeout_now_ = true;
        break;
      }
      log(LogLevel::Info, format("received TimeoutNow from %lu: campaigning", m.from));
      hup(CampaignType::Transfer);
      break;
    case MT::MsgReadIndex:
      if (leader_id_ == kNone) {
        log(LogLevel::Info, "no leader: dropping read index request");
        break;
      }
      m.to = leader_id_;
      send(std::move(m));
      break;
    case MT::MsgReadIndexResp:
      if (m.entries.size() != 1) {
        log(LogLevel::Warn, format("invalid MsgReadIndexResp from %lu: %zu entries", m.from,
                                   m.entries.size()));
        break;
      }
      read_states_.push_back(ReadState{m.index, m.entries[0].data});
      break;
    default:
      break;
  }
  return {};
}

void Raft::handle_append_entries(const Message& m) {
  Message resp;
  resp.msg_type = MT::MsgAppendResponse;
  resp.to = m.from;
  if (m.index < log_.committed()) {
    // Everything up to our commit already matches the leader's log: skip ahead.
    resp.index = log_.committed();
    send(std::move(resp));
    return;
  }
  if (auto last_new = log_.maybe_append(m.index, m.log_term, m.commit, m.entries)) {
    resp.index = *last_new;
    send(std::move(resp));
    return;
  }
  // Raft §5.3: reject, with a hint that lets the leader skip a whole term of entries at a
  // time: the last index <= m.index whose term is <= m.log_term.
  const Index hint_index = std::min(m.index, log_.last_index());
  auto [index, term] = log_.find_conflict_by_term(hint_index, m.log_term);
  resp.index = m.index;
  resp.reject = true;
  resp.reject_hint = index;
  resp.log_term = term;
  send(std::move(resp));
}

void Raft::handle_heartbeat(const Message& m) {
  log_.commit_to(m.commit);
  Message resp;
  resp.msg_type = MT::MsgHeartbeatResponse;
  resp.to = m.from;
  resp.context = m.context;
  send(std::move(resp));
}

void Raft::handle_snapshot(const Message& m) {
  Message resp;
  resp.msg_type = MT::MsgAppendResponse;
  resp.to = m.from;
  if (restore(m.snapshot)) {
    log(LogLevel::Info, format("restored snapshot at %lu term %lu",
                               m.snapshot.metadata.index, m.snapshot.metadata.term));
    resp.index = log_.last_index();
  } else {
    resp.index = log_.committed();
  }
  send(std::move(resp));
}

bool Raft::restore(const Snapshot& snap) {
  const Index index = snap.metadata.index;
  // A snapshot that is not newer than our commit brings nothing (and could roll back what
  // we already applied).
  if (index <= log_.committed()) return false;
  if (state_ != StateRole::Follower) {
    // Only a leader of our term sends snapshots, and its messages make us a follower.
    become_follower(term_ + 1, kNone);
    return false;
  }
  if (log_.match_term(index, snap.metadata.term)) {
    // We already have the entries the snapshot covers: just commit up to it.
    log(LogLevel::Info, format("fast-forwarded commit to snapshot %lu", index));
    log_.commit_to(index);
    return false;
  }
  log_.restore(snap);
  ProgressTracker fresh(prs_.max_inflight());
  auto r = raft::restore(fresh, log_.last_index(), snap.metadata.conf_state);
  RAFT_CHECK(r.ok(), "unable to restore membership from snapshot: %s",
             r.ok() ? "" : r.error().message.c_str());
  prs_ = std::move(fresh);
  post_conf_change();
  return true;
}

// --- Persistence and application hooks. ---

void Raft::on_persist_entries(Index index, Term term) {
  const Index before = log_.persisted();
  log_.stable_entries(index, term);
  if (log_.persisted() == before || state_ != StateRole::Leader) return;
  Progress* self = prs_.get(id_);
  if (self && self->maybe_update(log_.persisted()) && maybe_commit()) commit_bcast_pending_ = true;
}

void Raft::on_persist_snap(Index index) { log_.stable_snap(index); }

void Raft::applied_to(Index applied) {
  log_.applied_to(applied);
  if (pending_timeout_now_ && state_ == StateRole::Follower && !has_unapplied_conf_changes()) {
    pending_timeout_now_ = false;
    hup(CampaignType::Transfer);
  }
  // With auto_leave, the leader proposes leaving the joint configuration as soon as the
  // change that entered it is applied (thesis §4.3).
  if (prs_.config().auto_leave && applied >= pending_conf_index_ &&
      state_ == StateRole::Leader) {
    Message m;
    m.msg_type = MT::MsgPropose;
    m.from = id_;
    Entry e;
    e.type = EntryType::ConfChange;
    e.data = encode_conf_change(ConfChangeV2{});
    m.entries.push_back(std::move(e));
    auto r = step(std::move(m));
    if (r) {
      log(LogLevel::Info, "initiating automatic transition out of joint configuration " +
                              prs_.config().describe());
    } else {
      log(LogLevel::Debug, "not leaving joint configuration yet: " + r.error().to_string());
    }
  }
}

ConfState Raft::apply_conf_change(const ConfChangeV2& cc) {
  Changer changer(prs_, log_.last_index());
  bool auto_leave = false;
  Result<Changer::Output> out = cc.leave_joint()               ? changer.leave_joint()
                                : cc.enter_joint(&auto_leave) ? changer.enter_joint(auto_leave, cc.changes)
                                                               : changer.simple(cc.changes);
  // A committed change is part of the log: every node must apply it identically.
  RAFT_CHECK(out.ok(), "cannot apply committed conf change %s to %s: %s", describe(cc).c_str(),
             prs_.config().describe().c_str(), out.ok() ? "" : out.error().message.c_str());
  prs_.apply(std::move(out->first), std::move(out->second));
  log(LogLevel::Info, "applied conf change " + describe(cc) + ": now " + prs_.config().describe());
  return post_conf_change();
}

ConfState Raft::post_conf_change() {
  const ConfState cs = prs_.conf_state();
  if (state_ != StateRole::Leader) return cs;
  if (!prs_.is_member(id_) || is_learner()) {
    // A leader removed from (or demoted in) the configuration steps down once the change is
    // committed and applied, after handing leadership to the most up-to-date voter so the
    // cluster does not wait an election timeout.
    step_down_after_removal();
    return cs;
  }
  if (lead_transferee_ != kNone && !prs_.config().voters.contains(lead_transferee_)) {
    abort_leader_transfer();
  }
  // The quorum may have changed: maybe more is committed now.
  if (maybe_commit()) {
    bcast_append();
  } else {
    // New members need appends without waiting for the next heartbeat.
    for (const auto& [id, pr] : prs_.progress()) {
      if (id != id_) maybe_send_append(id, false);
    }
  }
  return cs;
}

void Raft::step_down_after_removal() {
  NodeId best = kNone;
  Index best_match = 0;
  for (NodeId id : prs_.config().voters.ids()) {
    const Progress* pr = prs_.get(id);
    if (id != id_ && pr && pr->matched >= best_match) {
      best = id;
      best_match = pr->matched;
    }
  }
  log(LogLevel::Info, format("removed from the configuration: stepping down (handing over to %lu)", best));
  if (best != kNone && best_match == log_.last_index()) send_timeout_now(best);
  become_follower(term_, kNone);
}

// --- Output. ---

void Raft::send(Message m) {
  // A forwarded MsgTransferLeader keeps its `from`: it names the transferee.
  if (m.from == kNone) m.from = id_;
  if (is_vote_msg(m.msg_type) || m.msg_type == MT::MsgRequestVoteResponse ||
      m.msg_type == MT::MsgRequestPreVoteResponse) {
    // Vote traffic carries an explicit term (a pre-vote's is the future term).
    RAFT_CHECK(m.term != 0, "%s must carry a term", std::string(to_string(m.msg_type)).c_str());
  } else {
    RAFT_CHECK(m.term == 0, "term should not be set on %s (was %lu)",
               std::string(to_string(m.msg_type)).c_str(), m.term);
    // Proposals and read requests forwarded to the leader are treated as local there.
    if (m.msg_type != MT::MsgPropose && m.msg_type != MT::MsgReadIndex) m.term = term_;
  }
  // Responses promise durable state (a vote, appended entries): they wait for the Ready to
  // be persisted. So does everything a non-leader sends, since its hard state (term, vote)
  // may have just changed. A leader's own traffic may go at once.
  const bool after_append = state_ != StateRole::Leader ||
                            m.msg_type == MT::MsgAppendResponse ||
                            m.msg_type == MT::MsgRequestVoteResponse ||
                            m.msg_type == MT::MsgRequestPreVoteResponse;
  (after_append ? msgs_after_append_ : msgs_).push_back(std::move(m));
}

Status Raft::status() const {
  Status s;
  s.id = id_;
  s.hard_state = hard_state();
  s.soft_state = soft_state();
  s.applied = log_.applied();
  s.last_index = log_.last_index();
  s.conf_state = prs_.conf_state();
  s.lead_transferee = lead_transferee_;
  if (state_ == StateRole::Leader) {
    for (const auto& [id, pr] : prs_.progress()) s.progress.emplace(id, pr.status());
  }
  return s;
}

}  // namespace raft
