#include "raft/ready_driver.h"

#include <algorithm>
#include <utility>

#include "raft/check.h"

namespace raft {

ReadyDriver::ReadyDriver(DurableLog& log, Outbox& outbox, Applier& applier, HardState on_disk)
    : log_(log), outbox_(outbox), applier_(applier), hard_state_(on_disk) {}

void ReadyDriver::reset(HardState on_disk) {
  hard_state_ = on_disk;
  commit_unwritten_ = false;
  waiting_.clear();
  pending_writes_ = 0;
  last_applied_ = 0;
}

bool ReadyDriver::snapshot_waiting() const {
  return std::any_of(waiting_.begin(), waiting_.end(), [](const Waiting& w) { return w.snapshot.has_value(); });
}

void ReadyDriver::apply(std::vector<Entry>& entries) {
  if (entries.empty()) return;
  const Index last = entries.back().index;
  applier_.apply(entries);
  last_applied_ = std::max(last_applied_, last);
}

std::optional<HardState> ReadyDriver::hard_state_to_write(const Ready& rd, bool writes_anyway) {
  if (!rd.hard_state) return std::nullopt;
  const bool commit_only = rd.hard_state->term == hard_state_.term && rd.hard_state->vote == hard_state_.vote;
  hard_state_ = *rd.hard_state;
  if (commit_only && !writes_anyway) {
    commit_unwritten_ = true;
    return std::nullopt;
  }
  return hard_state_;
}

bool ReadyDriver::handle_ready(RawNode& raw) {
  Ready rd = raw.ready();
  if (on_ready) on_ready(rd);
  if (rd.soft_state && on_soft_state) on_soft_state(*rd.soft_state);

  outbox_.send(rd.messages);

  // Committed entries are on this node's disk already (the core hands out none beyond what
  // was persisted): apply them before this Ready's own write. A snapshot, this Ready's or
  // one still being written, must be restored first.
  const bool has_snapshot = !rd.snapshot.empty();
  const bool apply_now = !has_snapshot && !snapshot_waiting();
  if (apply_now) apply(rd.committed_entries);

  const bool writes_log = has_snapshot || !rd.entries.empty();
  std::optional<HardState> hs = hard_state_to_write(rd, writes_log);
  WriteOutcome outcome = WriteOutcome::Done;
  if (writes_log || hs) {
    if (commit_unwritten_) hs = hard_state_;  // the lagging commit rides along
    WriteRequest w;
    w.snapshot = has_snapshot ? &rd.snapshot : nullptr;
    w.entries = &rd.entries;
    w.hard_state = hs;
    w.must_sync = rd.must_sync;
    outcome = log_.write(w);
    if (outcome == WriteOutcome::Failed) return false;
    commit_unwritten_ = false;
    if (outcome == WriteOutcome::Pending) ++pending_writes_;
  }

  if (outcome == WriteOutcome::Done && waiting_.empty()) {
    // Durable now, and nothing earlier is still being written: finish in place.
    outbox_.send(rd.persisted_messages);
    if (has_snapshot) {
      applier_.restore(rd.snapshot);
      last_applied_ = std::max(last_applied_, rd.snapshot.metadata.index);
      apply(rd.committed_entries);
    }
    applier_.read_states(rd.read_states);
    LightReady light = raw.advance(std::move(rd));
    if (light.commit_index) {
      hard_state_.commit = *light.commit_index;
      commit_unwritten_ = true;  // written with the next write (see hard_state_to_write)
    }
    outbox_.send(light.messages);
    apply(light.committed_entries);
    raw.advance_apply();
    return true;
  }

  // This Ready's write, or an earlier one, completes later: what needs it waits, in order.
  Waiting w;
  w.durable = outcome == WriteOutcome::Done;
  w.mark = RawNode::mark(rd);
  w.persisted_messages = std::move(rd.persisted_messages);
  if (has_snapshot) w.snapshot = std::move(rd.snapshot);
  if (!apply_now) w.committed_entries = std::move(rd.committed_entries);
  w.read_states = std::move(rd.read_states);
  waiting_.push_back(std::move(w));
  if (last_applied_ > 0) raw.advance_apply_to(last_applied_);
  finish_durable_prefix(raw);
  return true;
}

void ReadyDriver::on_write_done(RawNode& raw) {
  RAFT_CHECK(pending_writes_ > 0, "on_write_done without a pending write");
  auto it = std::find_if(waiting_.begin(), waiting_.end(), [](const Waiting& w) { return !w.durable; });
  RAFT_CHECK(it != waiting_.end(), "a pending write without a waiting Ready");
  it->durable = true;
  --pending_writes_;
  finish_durable_prefix(raw);
}

void ReadyDriver::finish_durable_prefix(RawNode& raw) {
  while (!waiting_.empty() && waiting_.front().durable) {
    Waiting w = std::move(waiting_.front());
    waiting_.pop_front();
    outbox_.send(w.persisted_messages);
    if (w.snapshot) {
      applier_.restore(*w.snapshot);
      last_applied_ = std::max(last_applied_, w.snapshot->metadata.index);
    }
    apply(w.committed_entries);
    applier_.read_states(w.read_states);
    // Committed entries and messages this makes available come out in the next Ready.
    raw.on_persisted(w.mark);
    if (last_applied_ > 0) raw.advance_apply_to(last_applied_);
  }
}

}  // namespace raft
