#include "raft/raw_node.h"

#include "raft/check.h"
#include "raft/conf_change.h"
#include "raft/raft.h"

namespace raft {

using MT = MessageType;

Result<std::unique_ptr<RawNode>> RawNode::create(const Config& config, Storage& storage) {
  auto raft = Raft::create(config, storage);
  if (!raft) return raft.error();
  return std::unique_ptr<RawNode>(new RawNode(std::move(*raft)));
}

RawNode::RawNode(std::unique_ptr<Raft> raft) : raft_(std::move(raft)) {
  prev_soft_state_ = raft_->soft_state();
  prev_hard_state_ = raft_->hard_state();
}

RawNode::~RawNode() = default;

bool RawNode::tick() {
  raft_->tick();
  return has_ready();
}

Result<void> RawNode::campaign() {
  Message m;
  m.msg_type = MT::MsgHup;
  return raft_->step(std::move(m));
}

Result<void> RawNode::step(Message m) {
  if (is_local_msg(m.msg_type)) {
    return make_error(ErrorCode::StepLocalMsg, std::string(to_string(m.msg_type)));
  }
  if (is_response_msg(m.msg_type) && !raft_->prs().is_member(m.from)) {
    return make_error(ErrorCode::StepPeerNotFound, format("response from %lu", m.from));
  }
  return raft_->step(std::move(m));
}

Result<void> RawNode::propose(std::string context, std::string data) {
  Message m;
  m.msg_type = MT::MsgPropose;
  m.from = raft_->id();
  Entry e;
  e.data = std::move(data);
  e.context = std::move(context);
  m.entries.push_back(std::move(e));
  return raft_->step(std::move(m));
}

Result<void> RawNode::propose_batch(std::vector<Entry> entries) {
  if (entries.empty()) return {};
  for (Entry& e : entries) {
    // Conf changes go through propose_conf_change: only one may be pending at a time.
    RAFT_CHECK(e.type == EntryType::Normal, "propose_batch takes normal entries only");
  }
  Message m;
  m.msg_type = MT::MsgPropose;
  m.from = raft_->id();
  m.entries = std::move(entries);
  return raft_->step(std::move(m));
}

Result<void> RawNode::propose_conf_change(std::string context, const ConfChange& cc) {
  return propose_conf_change(std::move(context), as_v2(cc));
}

Result<void> RawNode::propose_conf_change(std::string context, const ConfChangeV2& cc) {
  Message m;
  m.msg_type = MT::MsgPropose;
  m.from = raft_->id();
  Entry e;
  e.type = EntryType::ConfChange;
  e.data = encode_conf_change(cc);
  e.context = std::move(context);
  m.entries.push_back(std::move(e));
  return raft_->step(std::move(m));
}

ConfState RawNode::apply_conf_change(const ConfChange& cc) { return apply_conf_change(as_v2(cc)); }

ConfState RawNode::apply_conf_change(const ConfChangeV2& cc) {
  return raft_->apply_conf_change(cc);
}

void RawNode::read_index(std::string ctx) {
  Message m;
  m.msg_type = MT::MsgReadIndex;
  Entry e;
  e.data = std::move(ctx);
  m.entries.push_back(std::move(e));
  (void)raft_->step(std::move(m));
}

void RawNode::transfer_leader(NodeId transferee) {
  Message m;
  m.msg_type = MT::MsgTransferLeader;
  m.from = transferee;
  (void)raft_->step(std::move(m));
}

void RawNode::report_unreachable(NodeId id) {
  Message m;
  m.msg_type = MT::MsgUnreachable;
  m.from = id;
  (void)raft_->step(std::move(m));
}

void RawNode::report_snapshot(NodeId id, SnapshotStatus status) {
  Message m;
  m.msg_type = MT::MsgSnapStatus;
  m.from = id;
  m.reject = status == SnapshotStatus::Failure;
  (void)raft_->step(std::move(m));
}

bool RawNode::has_ready() const {
  const Raft& r = *raft_;
  if (r.soft_state() != prev_soft_state_) return true;
  const HardState hs = r.hard_state();
  if (!hs.empty() && hs != prev_hard_state_) return true;
  if (r.raft_log().next_unstable_snapshot()) return true;
  if (r.has_msgs() || r.raft_log().has_next_unstable_entries()) return true;
  if (r.raft_log().has_next_committed_entries()) return true;
  return !raft_->read_states().empty();
}

Ready RawNode::ready() {
  Raft& r = *raft_;
  Ready rd;
  rd.number = ++max_number_;
  const SoftState ss = r.soft_state();
  if (ss != prev_soft_state_) {
    rd.soft_state = ss;
    prev_soft_state_ = ss;
  }
  const HardState hs = r.hard_state();
  bool term_or_vote_changed = false;
  if (hs != prev_hard_state_) {
    term_or_vote_changed = hs.term != prev_hard_state_.term || hs.vote != prev_hard_state_.vote;
    rd.must_sync = term_or_vote_changed;
    rd.hard_state = hs;
    prev_hard_state_ = hs;
  }
  rd.read_states = std::exchange(r.read_states(), {});
  if (const Snapshot* snap = r.raft_log().next_unstable_snapshot()) {
    rd.snapshot = *snap;
    rd.must_sync = true;
  }
  rd.entries = r.raft_log().next_unstable_entries();
  if (!rd.entries.empty()) rd.must_sync = true;
  // Handed out once: a Ready taken before this one is persisted does not repeat them.
  r.raft_log().accept_unstable();
  rd.committed_entries = r.raft_log().next_committed_entries();
  if (!rd.committed_entries.empty()) {
    r.raft_log().applying_to(rd.committed_entries.back().index);
    r.reduce_uncommitted_size(rd.committed_entries);
  }
  rd.messages = r.take_msgs();
  rd.persisted_messages = r.take_msgs_after_append();
  if (term_or_vote_changed && !rd.messages.empty()) {
    // A lone voter wins its election at once, before its new term and vote are on disk.
    // Nothing it says at that term may leave before they are: crashing before the write, it
    // would come back at the old term and could lead the new one again with another log.
    rd.messages.insert(rd.messages.end(), std::make_move_iterator(rd.persisted_messages.begin()),
                       std::make_move_iterator(rd.persisted_messages.end()));
    rd.persisted_messages = std::exchange(rd.messages, {});
  }
  return rd;
}

PersistMark RawNode::mark(const Ready& rd) {
  PersistMark m;
  if (!rd.snapshot.empty()) m.snapshot_index = rd.snapshot.metadata.index;
  if (!rd.entries.empty()) {
    m.last_index = rd.entries.back().index;
    m.last_term = rd.entries.back().term;
  }
  return m;
}

void RawNode::on_persisted(const PersistMark& mark) {
  if (mark.snapshot_index > 0) raft_->on_persist_snap(mark.snapshot_index);
  if (mark.last_index > 0) raft_->on_persist_entries(mark.last_index, mark.last_term);
}

void RawNode::commit_ready(const Ready& rd) { on_persisted(mark(rd)); }

void RawNode::advance_append(Ready rd) { commit_ready(rd); }

LightReady RawNode::advance(Ready rd) {
  commit_ready(rd);
  LightReady light;
  Raft& r = *raft_;
  if (r.raft_log().committed() != prev_hard_state_.commit) {
    light.commit_index = r.raft_log().committed();
    prev_hard_state_.commit = r.raft_log().committed();
  }
  light.committed_entries = r.raft_log().next_committed_entries();
  if (!light.committed_entries.empty()) {
    r.raft_log().applying_to(light.committed_entries.back().index);
    r.reduce_uncommitted_size(light.committed_entries);
  }
  // Only messages that need no further persistence may go out with a LightReady; anything
  // produced for msgs_after_append_ waits for the next Ready.
  light.messages = r.take_msgs();
  return light;
}

void RawNode::advance_apply() { raft_->applied_to(raft_->raft_log().applying()); }

void RawNode::advance_apply_to(Index applied) { raft_->applied_to(applied); }

Status RawNode::status() const { return raft_->status(); }

}  // namespace raft
