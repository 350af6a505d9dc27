// Progress: the leader's view of one follower's log, and the flow-control state machine
// that decides when more entries may be sent to it.
//
//   Probe:     the leader does not know where the follower's log ends. It sends at most one
//              append per heartbeat interval and walks next_idx back on rejection.
//   Replicate: the follower is known to be in sync; appends are pipelined optimistically,
//              bounded by the inflight window.
//   Snapshot:  the follower needs a snapshot; nothing is sent until it is reported applied.
//
// Invariant: matched < next_idx.
#pragma once

#include "raft/status.h"
#include "raft/tracker/inflights.h"

namespace raft {

class Progress {
 public:
  Progress(Index next_idx, size_t max_inflight) : next_idx(next_idx), ins(max_inflight) {}

  void become_probe();
  void become_replicate();
  void become_snapshot(Index snapshot_idx);

  // An acknowledgement up to n. Returns false when it is stale (nothing new was learned).
  bool maybe_update(Index n);
  // After sending entries up to n optimistically in the replicate state.
  void optimistic_update(Index n) { next_idx = n + 1; }
  // A rejection of the append at `rejected`; `match_hint` is the follower's guess of where
  // the logs may match (the fast backtracking of Raft §5.3, last paragraph). Returns false
  // when the rejection is stale.
  bool maybe_decr_to(Index rejected, Index match_hint);

  // Whether the leader must hold back appends to this follower for now.
  bool is_paused() const;
  void pause() { probe_sent = true; }
  void resume() { probe_sent = false; }

  ProgressStatus status() const;

  Index matched = 0;
  Index next_idx;
  ProgressState state = ProgressState::Probe;
  // In Probe: an append was sent and no answer came yet.
  bool probe_sent = false;
  // In Snapshot: the index of the snapshot being sent.
  Index pending_snapshot = 0;
  // Heard from since the last check-quorum round (or since it was added).
  bool recent_active = false;
  bool is_learner = false;
  Inflights ins;

 private:
  void reset_state(ProgressState state);
};

}  // namespace raft
