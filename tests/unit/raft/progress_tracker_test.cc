// ProgressTracker: membership, commit index over matched indexes, votes and recent activity.
#include <catch2/catch.hpp>

#include "raft/check.h"
#include "raft/confchange/changer.h"
#include "raft/tracker/progress_tracker.h"

using namespace raft;

namespace {
ProgressTracker tracker_of(const ConfState& cs) {
  ProgressTracker t(256);
  REQUIRE(restore(t, 1, cs).ok());
  return t;
}
}  // namespace

TEST_CASE("the tracker's committed index follows the voters' matched indexes", "[progress_tracker]") {
  auto t = tracker_of(ConfState{{1, 2, 3}, {4}, {}, {}, false});
  t.get(1)->matched = 5;
  t.get(2)->matched = 3;
  t.get(3)->matched = 1;
  t.get(4)->matched = 9;  // a learner does not count
  CHECK(t.committed() == 3);
  t.get(3)->matched = 4;
  CHECK(t.committed() == 4);
}

TEST_CASE("the tally counts each voter once and ignores learners", "[progress_tracker]") {
  auto t = tracker_of(ConfState{{1, 2, 3}, {4}, {}, {}, false});
  t.record_vote(1, true);
  t.record_vote(4, true);
  auto tally = t.tally_votes();
  CHECK(tally.granted == 1);
  CHECK(tally.result == VoteResult::Pending);
  t.record_vote(2, false);
  t.record_vote(2, true);  // a second vote from the same node is ignored
  tally = t.tally_votes();
  CHECK(tally.granted == 1);
  CHECK(tally.rejected == 1);
  CHECK(tally.result == VoteResult::Pending);
  t.record_vote(3, false);
  CHECK(t.tally_votes().result == VoteResult::Lost);
  t.reset_votes();
  CHECK(t.tally_votes().granted == 0);
}

TEST_CASE("a quorum is recently active only if a majority was heard from", "[progress_tracker]") {
  auto t = tracker_of(ConfState{{1, 2, 3, 4, 5}, {}, {}, {}, false});
  t.reset_recent_active(1);
  CHECK_FALSE(t.quorum_recently_active(1));  // only itself
  t.get(2)->recent_active = true;
  CHECK_FALSE(t.quorum_recently_active(1));
  t.get(3)->recent_active = true;
  CHECK(t.quorum_recently_active(1));
  t.reset_recent_active(1);
  CHECK(t.get(1)->recent_active);
  CHECK_FALSE(t.get(2)->recent_active);
}

TEST_CASE("the tracker reports its membership as a ConfState", "[progress_tracker]") {
  const ConfState cs{{1, 2}, {5}, {1, 2, 3}, {3}, true};
  auto t = tracker_of(cs);
  CHECK(t.conf_state() == cs);
  CHECK(t.is_voter(3));  // outgoing voter
  CHECK_FALSE(t.is_voter(5));
  CHECK(t.is_member(5));
  CHECK_FALSE(t.is_member(9));
  CHECK_FALSE(t.is_singleton());
  CHECK(t.config().describe() == "voters=(1 2)&&(1 2 3) learners=(5) learners_next=(3) autoleave");
}

TEST_CASE("applying an inconsistent configuration panics", "[progress_tracker]") {
  set_panic_handler(&throwing_panic_handler);
  ProgressTracker t(256);
  TrackerConfig cfg;
  cfg.voters.incoming().ids() = {1};
  CHECK_THROWS_AS(t.apply(cfg, ProgressMap{}), PanicError);  // voter 1 without progress
}
