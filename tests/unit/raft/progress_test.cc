// Progress: the leader's view of one follower and its flow-control states.
#include <catch2/catch.hpp>

#include "raft/tracker/progress.h"

using namespace raft;

namespace {
Progress make(ProgressState state, Index matched, Index next, size_t inflight = 256) {
  Progress p(next, inflight);
  p.matched = matched;
  p.state = state;
  return p;
}
}  // namespace

TEST_CASE("progress is paused in probe after a send, when the window is full, and in snapshot", "[progress]") {
  Progress probe = make(ProgressState::Probe, 0, 1);
  CHECK_FALSE(probe.is_paused());
  probe.pause();
  CHECK(probe.is_paused());
  probe.resume();
  CHECK_FALSE(probe.is_paused());

  Progress rep = make(ProgressState::Replicate, 0, 1, 2);
  CHECK_FALSE(rep.is_paused());
  rep.pause();  // probe_sent means nothing in replicate
  CHECK_FALSE(rep.is_paused());
  rep.ins.add(1);
  rep.ins.add(2);
  CHECK(rep.is_paused());

  Progress snap = make(ProgressState::Snapshot, 0, 1);
  CHECK(snap.is_paused());
}

TEST_CASE("an acknowledgement resumes a paused probe", "[progress]") {
  Progress p = make(ProgressState::Probe, 0, 2);
  p.pause();
  CHECK(p.maybe_update(1));
  CHECK_FALSE(p.is_paused());
}

TEST_CASE("become_probe restarts from match, or after the pending snapshot", "[progress]") {
  auto [from, matched, next, pending, want_next] = GENERATE(table<ProgressState, Index, Index, Index, Index>({
      {ProgressState::Replicate, 1, 5, 0, 2},
      {ProgressState::Snapshot, 1, 5, 10, 11},  // the follower will have the snapshot
      {ProgressState::Snapshot, 1, 5, 0, 2},    // a failed snapshot (pending cleared)
      {ProgressState::Probe, 1, 5, 0, 2},
  }));
  CAPTURE(from, matched, next, pending);
  Progress p = make(from, matched, next);
  p.pending_snapshot = pending;
  p.become_probe();
  CHECK(p.state == ProgressState::Probe);
  CHECK(p.matched == matched);
  CHECK(p.next_idx == want_next);
  CHECK(p.pending_snapshot == 0);
}

TEST_CASE("become_replicate sends from just after match", "[progress]") {
  Progress p = make(ProgressState::Probe, 1, 5);
  p.pause();
  p.become_replicate();
  CHECK(p.state == ProgressState::Replicate);
  CHECK(p.next_idx == 2);
  CHECK_FALSE(p.probe_sent);
}

TEST_CASE("become_snapshot records the snapshot index and clears the window", "[progress]") {
  Progress p = make(ProgressState::Replicate, 1, 5);
  p.ins.add(3);
  p.become_snapshot(10);
  CHECK(p.state == ProgressState::Snapshot);
  CHECK(p.pending_snapshot == 10);
  CHECK(p.ins.count() == 0);
}

TEST_CASE("maybe_update moves match forward only", "[progress]") {
  auto [update, want_ok, want_match, want_next] = GENERATE(table<Index, bool, Index, Index>({
      {2, false, 3, 5},  // older than match: stale
      {3, false, 3, 5},  // same as match
      {4, true, 4, 5},
      {5, true, 5, 6},
      {8, true, 8, 9},   // past next: next follows
  }));
  CAPTURE(update);
  Progress p = make(ProgressState::Probe, 3, 5);
  CHECK(p.maybe_update(update) == want_ok);
  CHECK(p.matched == want_match);
  CHECK(p.next_idx == want_next);
}

TEST_CASE("maybe_decr_to backs off on a fresh rejection and ignores stale ones", "[progress]") {
  auto [state, matched, next, rejected, hint, want_ok, want_next] =
      GENERATE(table<ProgressState, Index, Index, Index, Index, bool, Index>({
          {ProgressState::Replicate, 5, 10, 5, 5, false, 10},  // rejection of a matched index: stale
          {ProgressState::Replicate, 5, 10, 4, 4, false, 10},
          {ProgressState::Replicate, 5, 10, 9, 9, true, 6},    // fall back to match + 1
          {ProgressState::Probe, 0, 0, 0, 0, false, 0},
          {ProgressState::Probe, 0, 10, 5, 5, false, 10},      // not the latest probe: stale
          {ProgressState::Probe, 0, 10, 9, 9, true, 9},
          {ProgressState::Probe, 0, 2, 1, 1, true, 1},
          {ProgressState::Probe, 0, 1, 0, 0, true, 1},         // never below match + 1
          {ProgressState::Probe, 0, 10, 9, 2, true, 3},        // the hint skips ahead
          {ProgressState::Probe, 0, 10, 9, 0, true, 1},
          {ProgressState::Probe, 4, 10, 9, 1, true, 5},        // the hint cannot go below match
      }));
  CAPTURE(state, matched, next, rejected, hint);
  Progress p = make(state, matched, next);
  if (state == ProgressState::Probe) p.pause();
  CHECK(p.maybe_decr_to(rejected, hint) == want_ok);
  CHECK(p.next_idx == want_next);
  if (want_ok && state == ProgressState::Probe) CHECK_FALSE(p.is_paused());
}

TEST_CASE("progress status mirrors the fields", "[progress]") {
  Progress p = make(ProgressState::Replicate, 3, 7);
  p.recent_active = true;
  p.is_learner = true;
  ProgressStatus s = p.status();
  CHECK(s.matched == 3);
  CHECK(s.next_idx == 7);
  CHECK(s.state == ProgressState::Replicate);
  CHECK(s.recent_active);
  CHECK(s.is_learner);
}
