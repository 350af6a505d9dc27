#include "raft/tracker/progress.h"

#include <algorithm>

namespace raft {

std::string_view to_string(ProgressState s) {
  switch (s) {
    case ProgressState::Probe: return "probe";
    case ProgressState::Replicate: return "replicate";
    case ProgressState::Snapshot: return "snapshot";
  }
  return "unknown";
}

void Progress::reset_state(ProgressState s) {
  probe_sent = false;
  pending_snapshot = 0;
  state = s;
  ins.reset();
}

void Progress::become_probe() {
  // Leaving the snapshot state, the follower has (or will soon have) the snapshot: probe
  // from just after it rather than from the stale match.
  if (state == ProgressState::Snapshot) {
    const Index pending = pending_snapshot;
    reset_state(ProgressState::Probe);
    next_idx = std::max(matched + 1, pending + 1);
  } else {
    reset_state(ProgressState::Probe);
    next_idx = matched + 1;
  }
}

void Progress::become_replicate() {
  reset_state(ProgressState::Replicate);
  next_idx = matched + 1;
}

void Progress::become_snapshot(Index snapshot_idx) {
  reset_state(ProgressState::Snapshot);
  pending_snapshot = snapshot_idx;
}

bool Progress::maybe_update(Index n) {
  bool updated = false;
  if (matched < n) {
    matched = n;
    updated = true;
    resume();
  }
  next_idx = std::max(next_idx, n + 1);
  return updated;
}

bool Progress::maybe_decr_to(Index rejected, Index match_hint) {
  if (state == ProgressState::Replicate) {
    // Appends are pipelined: a rejection of something already matched is stale.
    if (rejected <= matched) return false;
    next_idx = matched + 1;
    return true;
  }
  // In probe only the answer to the latest probe (at next_idx - 1) is meaningful.
  if (next_idx == 0 || next_idx - 1 != rejected) return false;
  next_idx = std::max(std::min(rejected, match_hint + 1), matched + 1);
  resume();
  return true;
}

bool Progress::is_paused() const {
  switch (state) {
    case ProgressState::Probe: return probe_sent;
    case ProgressState::Replicate: return ins.full();
    case ProgressState::Snapshot: return true;
  }
  return true;
}

ProgressStatus Progress::status() const {
  return ProgressStatus{matched, next_idx, state, recent_active, is_learner};
}

}  // namespace raft
