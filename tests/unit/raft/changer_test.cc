// Changer and restore: membership changes computed on a copy of the tracker and validated
// before they take effect (Raft thesis §4.1 single changes, §4.3 joint consensus).
#include <catch2/catch.hpp>

#include <algorithm>
#include <random>

#include "raft/confchange/changer.h"
#include "tests/unit/raft/test_util.h"

using namespace raft;

namespace {

using CT = ConfChangeType;

ConfChangeSingle add(NodeId id) { return {CT::AddNode, id}; }
ConfChangeSingle learner(NodeId id) { return {CT::AddLearnerNode, id}; }
ConfChangeSingle remove(NodeId id) { return {CT::RemoveNode, id}; }

ConfState cs_of(std::vector<NodeId> voters, std::vector<NodeId> learners = {}, std::vector<NodeId> outgoing = {},
                std::vector<NodeId> learners_next = {}, bool auto_leave = false) {
  return ConfState{std::move(voters), std::move(learners), std::move(outgoing), std::move(learners_next), auto_leave};
}

ProgressTracker tracker_of(const ConfState& cs) {
  ProgressTracker t(256);
  auto r = restore(t, 10, cs);
  REQUIRE(r.ok());
  return t;
}

// Applies the output of a change to the tracker and returns the resulting ConfState.
ConfState apply(ProgressTracker& t, Result<Changer::Output> out) {
  REQUIRE(out.ok());
  t.apply(std::move(out->first), std::move(out->second));
  return t.conf_state();
}

std::set<NodeId> members(const ProgressTracker& t) {
  std::set<NodeId> ids;
  for (const auto& [id, pr] : t.progress()) ids.insert(id);
  return ids;
}

}  // namespace

TEST_CASE("a simple change adds or removes one voter or learner", "[confchange]") {
  auto [start, change, want] = GENERATE(table<ConfState, ConfChangeSingle, ConfState>({
      {cs_of({1}), add(2), cs_of({1, 2})},
      {cs_of({1}), learner(2), cs_of({1}, {2})},
      {cs_of({1, 2}), remove(2), cs_of({1})},
      {cs_of({1}, {2}), add(2), cs_of({1, 2})},          // promote a learner
      {cs_of({1, 2}), learner(2), cs_of({1}, {2})},      // demote a voter (one voter changes)
      {cs_of({1}, {2}), remove(2), cs_of({1})},
      {cs_of({1}), add(1), cs_of({1})},                  // already a voter: no change
      {cs_of({1}), remove(5), cs_of({1})},               // not a member: no change
      {cs_of({1}), add(0), cs_of({1})},                  // id 0 is a no-op
  }));
  CAPTURE(start.voters, start.learners, change.node_id);
  auto t = tracker_of(start);
  CHECK(apply(t, Changer(t, 10).simple({change})) == want);
}

TEST_CASE("a new member's progress starts at the last index and counts as active", "[confchange]") {
  auto t = tracker_of(cs_of({1}));
  apply(t, Changer(t, 42).simple({add(2)}));
  const Progress* pr = t.get(2);
  REQUIRE(pr);
  CHECK(pr->next_idx == 42);
  CHECK(pr->matched == 0);
  CHECK(pr->recent_active);
  CHECK_FALSE(pr->is_learner);
}

TEST_CASE("a simple change of more than one voter is refused", "[confchange]") {
  auto [start, changes] = GENERATE(table<ConfState, std::vector<ConfChangeSingle>>({
      {cs_of({1}), {add(2), add(3)}},
      {cs_of({1, 2, 3}), {remove(2), remove(3)}},
      {cs_of({1, 2}), {add(3), remove(2)}},               // replacing a node needs joint consensus
      {cs_of({1, 2}, {3}), {add(3), learner(2)}},          // swap voter and learner
  }));
  CAPTURE(start.voters, start.learners);
  auto t = tracker_of(start);
  auto out = Changer(t, 10).simple(changes);
  REQUIRE_FALSE(out.ok());
  CHECK(out.code() == ErrorCode::ConfigInvalid);
  CHECK(t.conf_state() == start);  // the live tracker is untouched
}

TEST_CASE("a simple change that adds a voter and a learner is allowed", "[confchange]") {
  auto t = tracker_of(cs_of({1}));
  CHECK(apply(t, Changer(t, 10).simple({add(2), learner(3)})) == cs_of({1, 2}, {3}));
}

TEST_CASE("entering and leaving a joint configuration", "[confchange]") {
  auto t = tracker_of(cs_of({1, 2, 3}));
  auto auto_leave = GENERATE(false, true);
  CAPTURE(auto_leave);
  ConfState joint = apply(t, Changer(t, 10).enter_joint(auto_leave, {add(4), remove(1)}));
  CHECK(joint == cs_of({2, 3, 4}, {}, {1, 2, 3}, {}, auto_leave));
  CHECK(t.config().voters.is_joint());
  CHECK(members(t) == std::set<NodeId>{1, 2, 3, 4});  // 1 votes in the outgoing half still
  ConfState left = apply(t, Changer(t, 10).leave_joint());
  CHECK(left == cs_of({2, 3, 4}));
  CHECK(members(t) == std::set<NodeId>{2, 3, 4});
}

TEST_CASE("a demoted voter waits in learners_next until the joint state is left", "[confchange]") {
  auto t = tracker_of(cs_of({1, 2, 3}));
  ConfState joint = apply(t, Changer(t, 10).enter_joint(true, {learner(3)}));
  CHECK(joint == cs_of({1, 2}, {}, {1, 2, 3}, {3}, true));
  CHECK_FALSE(t.get(3)->is_learner);  // it still votes in the outgoing half
  ConfState left = apply(t, Changer(t, 10).leave_joint());
  CHECK(left == cs_of({1, 2}, {3}));
  CHECK(t.get(3)->is_learner);
}

TEST_CASE("a learner added while joint is a learner at once", "[confchange]") {
  auto t = tracker_of(cs_of({1, 2}));
  ConfState joint = apply(t, Changer(t, 10).enter_joint(false, {add(3), learner(4)}));
  CHECK(joint == cs_of({1, 2, 3}, {4}, {1, 2}));
  CHECK(apply(t, Changer(t, 10).leave_joint()) == cs_of({1, 2, 3}, {4}));
}

TEST_CASE("a demoted voter re-added as a voter leaves learners_next", "[confchange]") {
  auto t = tracker_of(cs_of({1, 2, 3}, {}, {1, 2, 3}, {}, false));
  // Not reachable by a single proposal, but the changer composes: demote, then re-add.
  auto t2 = tracker_of(cs_of({1, 2, 3}));
  ConfState joint = apply(t2, Changer(t2, 10).enter_joint(false, {learner(3), add(3)}));
  CHECK(joint == cs_of({1, 2, 3}, {}, {1, 2, 3}));
  CHECK_FALSE(t2.get(3)->is_learner);
  (void)t;
}

TEST_CASE("a removed outgoing voter keeps its progress until the joint state is left", "[confchange]") {
  auto t = tracker_of(cs_of({1, 2, 3}));
  apply(t, Changer(t, 10).enter_joint(false, {remove(3), remove(2), add(4)}));
  CHECK(members(t) == std::set<NodeId>{1, 2, 3, 4});
  CHECK(t.config().voters.outgoing().ids() == std::set<NodeId>{1, 2, 3});
  apply(t, Changer(t, 10).leave_joint());
  CHECK(members(t) == std::set<NodeId>{1, 4});
}

TEST_CASE("invalid configuration changes are refused", "[confchange]") {
  SECTION("leaving a non-joint configuration") {
    auto t = tracker_of(cs_of({1, 2}));
    CHECK(Changer(t, 10).leave_joint().code() == ErrorCode::ConfigInvalid);
  }
  SECTION("entering a joint configuration twice") {
    auto t = tracker_of(cs_of({1, 2}));
    apply(t, Changer(t, 10).enter_joint(false, {add(3)}));
    CHECK(Changer(t, 10).enter_joint(false, {add(4)}).code() == ErrorCode::ConfigInvalid);
  }
  SECTION("a simple change while joint") {
    auto t = tracker_of(cs_of({1, 2}));
    apply(t, Changer(t, 10).enter_joint(false, {add(3)}));
    CHECK(Changer(t, 10).simple({add(4)}).code() == ErrorCode::ConfigInvalid);
  }
  SECTION("removing all voters in a simple change") {
    auto t = tracker_of(cs_of({1}));
    CHECK(Changer(t, 10).simple({remove(1)}).code() == ErrorCode::ConfigInvalid);
  }
  SECTION("removing all voters in a joint change") {
    auto t = tracker_of(cs_of({1, 2}, {3}));
    CHECK(Changer(t, 10).enter_joint(false, {remove(1), remove(2)}).code() == ErrorCode::ConfigInvalid);
  }
  SECTION("demoting the only voter") {
    auto t = tracker_of(cs_of({1}));
    CHECK(Changer(t, 10).simple({learner(1)}).code() == ErrorCode::ConfigInvalid);
  }
  SECTION("entering a joint configuration from an empty one") {
    ProgressTracker t(256);
    CHECK(Changer(t, 10).enter_joint(false, {add(1)}).code() == ErrorCode::ConfigInvalid);
  }
}

TEST_CASE("check_invariants names the broken membership invariant", "[confchange]") {
  auto t = tracker_of(cs_of({1, 2}, {3}));
  TrackerConfig cfg = t.config();
  ProgressMap prs = t.progress();
  SECTION("voter and learner at once") {
    cfg.learners.insert(1);
    CHECK(check_invariants(cfg, prs).code() == ErrorCode::ConfigInvalid);
  }
  SECTION("a member without progress") {
    prs.erase(2);
    CHECK(check_invariants(cfg, prs).code() == ErrorCode::ConfigInvalid);
  }
  SECTION("progress for a non-member") {
    prs.emplace(9, Progress(1, 256));
    CHECK(check_invariants(cfg, prs).code() == ErrorCode::ConfigInvalid);
  }
  SECTION("learners_next outside a joint configuration") {
    cfg.learners_next.insert(2);
    CHECK(check_invariants(cfg, prs).code() == ErrorCode::ConfigInvalid);
  }
  SECTION("auto_leave outside a joint configuration") {
    cfg.auto_leave = true;
    CHECK(check_invariants(cfg, prs).code() == ErrorCode::ConfigInvalid);
  }
  SECTION("a learner whose progress says voter") {
    prs.at(3).is_learner = false;
    CHECK(check_invariants(cfg, prs).code() == ErrorCode::ConfigInvalid);
  }
}

TEST_CASE("restore rebuilds any valid ConfState exactly", "[confchange]") {
  std::mt19937_64 rng(99);
  for (int iter = 0; iter < 2000; ++iter) {
    // Draw a valid membership over ids 1..9.
    std::vector<NodeId> ids{1, 2, 3, 4, 5, 6, 7, 8, 9};
    std::shuffle(ids.begin(), ids.end(), rng);
    ConfState cs;
    std::set<NodeId> voters, outgoing, learners, learners_next;
    for (NodeId id : ids) {
      switch (rng() % 6) {
        case 0: voters.insert(id); break;
        case 1: outgoing.insert(id); break;
        case 2: voters.insert(id); outgoing.insert(id); break;
        case 3: learners.insert(id); break;
        case 4: outgoing.insert(id); learners_next.insert(id); break;
        default: break;  // not a member
      }
    }
    if (voters.empty()) voters.insert(10);
    if (outgoing.empty() || rng() % 3 == 0) {
      // Not joint: no outgoing half, no learners_next.
      for (NodeId id : learners_next) learners.insert(id);
      outgoing.clear();
      learners_next.clear();
    }
    for (NodeId id : voters) learners.erase(id);
    cs.voters.assign(voters.begin(), voters.end());
    cs.voters_outgoing.assign(outgoing.begin(), outgoing.end());
    cs.learners.assign(learners.begin(), learners.end());
    cs.learners_next.assign(learners_next.begin(), learners_next.end());
    cs.auto_leave = !outgoing.empty() && rng() % 2;
    CAPTURE(iter, cs.voters, cs.voters_outgoing, cs.learners, cs.learners_next, cs.auto_leave);
    ProgressTracker t(256);
    auto r = restore(t, 10, cs);
    REQUIRE(r.ok());
    REQUIRE(t.conf_state() == cs);
    REQUIRE(check_invariants(t.config(), t.progress()).ok());
  }
}

TEST_CASE("restore of an empty ConfState gives an empty tracker", "[confchange]") {
  ProgressTracker t(256);
  REQUIRE(restore(t, 0, ConfState{}).ok());
  CHECK(t.progress().empty());
  CHECK(t.conf_state() == ConfState{});
}
