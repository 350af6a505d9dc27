// The checker on long histories (the size of a 30-minute chaos run) and on the anomalies a
// real cluster could show.
#include <catch2/catch.hpp>

#include <chrono>
#include <iostream>

#include "tests/support/linearizability.h"
#include "tests/unit/support/synthetic_history.h"

using namespace lincheck;
using lincheck::testing::make_history;
using lincheck::testing::SyntheticOptions;

namespace {

Op op_of(OpKind kind, uint64_t c, std::optional<std::string> v, uint64_t inv, uint64_t done,
         Outcome o = Outcome::Ok) {
  Op op;
  op.client = c;
  op.key = "k";
  op.kind = kind;
  if (kind == OpKind::Get) {
    op.output = std::move(v);
  } else if (v) {
    op.input = *v;
  }
  op.invoke_time = inv;
  op.complete_time = o == Outcome::Unknown ? 0 : done;
  op.outcome = o;
  return op;
}
Op put(uint64_t c, std::string v, uint64_t inv, uint64_t done, Outcome o = Outcome::Ok) {
  return op_of(OpKind::Put, c, std::move(v), inv, done, o);
}
Op get(uint64_t c, std::optional<std::string> v, uint64_t inv, uint64_t done) {
  return op_of(OpKind::Get, c, std::move(v), inv, done);
}
Op cas(uint64_t c, std::optional<std::string> expected, std::string v, uint64_t inv, uint64_t done,
       Outcome o = Outcome::Ok) {
  Op op = op_of(OpKind::Cas, c, std::move(v), inv, done, o);
  op.expected = std::move(expected);
  return op;
}

CheckResult timed_check(const std::vector<Op>& h, const std::string& what) {
  const auto start = std::chrono::steady_clock::now();
  CheckResult r = check(h);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << what << ": " << h.size() << " operations checked in " << s << " s, "
            << r.explored << " configurations\n";
  return r;
}

}  // namespace

TEST_CASE("a 200k-operation linearizable history on 5 keys with unknown outcomes is accepted",
          "[linearizability][scale]") {
  SyntheticOptions o;
  o.seed = 7;
  o.ops = 200'000;
  o.clients = 6;
  o.keys = 5;
  const auto h = make_history(o);
  size_t unknown = 0;
  for (const auto& op : h) unknown += op.outcome == Outcome::Unknown ? 1 : 0;
  REQUIRE(unknown > 100);  // the history does exercise unknown outcomes
  const auto r = timed_check(h, "200k synthetic");
  INFO(r.explanation);
  CHECK(r.verdict == Verdict::Linearizable);
}

TEST_CASE("many random mid-size histories with long and unknown operations are accepted",
          "[linearizability][scale]") {
  const auto seed = GENERATE(range(1, 21));
  CAPTURE(seed);
  SyntheticOptions o;
  o.seed = static_cast<uint64_t>(seed);
  o.ops = 3000;
  o.clients = 3 + seed % 6;
  o.keys = 1 + seed % 3;
  o.long_per_mille = 30;
  o.unknown_per_mille = 40;
  const auto r = check(make_history(o));
  INFO(r.explanation);
  CHECK(r.verdict == Verdict::Linearizable);
}

TEST_CASE("one stale read injected near the end of a long history is caught",
          "[linearizability][scale]") {
  SyntheticOptions o;
  o.seed = 11;
  o.ops = 100'000;
  auto h = make_history(o);
  const long bad = lincheck::testing::inject_stale_read(h);
  REQUIRE(bad >= 0);
  const auto r = timed_check(h, "100k synthetic with a stale read");
  INFO(r.explanation.substr(0, 4000));
  CHECK(r.verdict == Verdict::NotLinearizable);
  CHECK(r.explanation.find(describe(h[static_cast<size_t>(bad)])) != std::string::npos);
}

TEST_CASE("a late read of absent after acknowledged writes, no del in the workload, is caught",
          "[linearizability][scale]") {
  SyntheticOptions o;
  o.seed = 12;
  o.ops = 100'000;
  o.dels = false;
  auto h = make_history(o);
  const long bad = lincheck::testing::inject_absent_read(h);
  REQUIRE(bad >= 0);
  const auto r = timed_check(h, "100k synthetic without dels, with a read of absent");
  INFO(r.explanation.substr(0, 4000));
  CHECK(r.verdict == Verdict::NotLinearizable);
  CHECK(r.explanation.find(describe(h[static_cast<size_t>(bad)])) != std::string::npos);
}

TEST_CASE("a violation the search must prove is caught in a mid-size history",
          "[linearizability][scale]") {
  // With dels (some unknown) in the workload, a read of absent is no certain violation: the
  // search has to try the orders, and must still conclude.
  SyntheticOptions o;
  o.seed = 13;
  o.ops = 2'000;
  o.clients = 4;
  o.keys = 1;
  auto h = make_history(o);
  const long bad = lincheck::testing::inject_absent_read(h);
  REQUIRE(bad >= 0);
  const auto r = timed_check(h, "2k synthetic with a read of absent");
  INFO(r.explanation.substr(0, 4000));
  CHECK(r.verdict == Verdict::NotLinearizable);
}

TEST_CASE("classic anomalies are rejected", "[linearizability]") {
  using H = std::vector<Op>;
  auto [name, history] = GENERATE(table<std::string, H>({
      {"a stale read after a completed write",
       {put(1, "a", 1, 2), put(1, "b", 3, 4), get(2, "a", 5, 6)}},
      {"a lost write: acknowledged, then never seen by later reads",
       {put(1, "a", 1, 2), put(2, "b", 3, 4), get(3, "a", 5, 6), get(3, "a", 7, 8)}},
      {"a lost write under concurrency: reads flip back to the overwritten value",
       {put(1, "a", 1, 2), put(2, "b", 3, 10), get(3, "b", 4, 5), get(4, "a", 6, 7)}},
      {"a cas anomaly: two cas succeed from the same value, one after the other",
       {put(1, "a", 1, 2), cas(2, "a", "b", 3, 4), cas(3, "a", "c", 5, 6)}},
      {"a cas anomaly: a cas fails on the value it expected, nothing concurrent",
       {put(1, "a", 1, 2), cas(2, "a", "b", 3, 4, Outcome::Fail), get(3, "a", 5, 6)}},
      {"an unknown put whose value was read, then a read that misses it",
       {put(1, "a", 1, 0, Outcome::Unknown), get(2, "a", 3, 4), get(3, std::nullopt, 5, 6)}},
      {"an unknown put that must not have taken effect was read after a later write",
       {put(1, "a", 1, 0, Outcome::Unknown), put(2, "b", 3, 4), get(3, "b", 5, 6),
        get(3, "a", 7, 8), get(3, "b", 9, 10)}},
  }));
  CAPTURE(name);
  const auto r = check(history);
  INFO(r.explanation);
  CHECK(r.verdict == Verdict::NotLinearizable);
}

TEST_CASE("unknown operations take effect when they must and not when they must not",
          "[linearizability]") {
  using H = std::vector<Op>;
  auto [name, history] = GENERATE(table<std::string, H>({
      {"an unknown put that must have taken effect: its value is read much later",
       {put(1, "a", 1, 0, Outcome::Unknown), get(2, std::nullopt, 3, 4), put(3, "b", 5, 6),
        get(2, "b", 7, 8), get(2, "a", 100, 101), get(2, "a", 102, 103)}},
      {"an unknown put that must not have taken effect: later reads only see other values",
       {put(1, "a", 1, 0, Outcome::Unknown), put(2, "b", 3, 4), get(3, "b", 5, 6),
        get(3, "b", 100, 101)}},
      {"an unknown cas that must have taken effect enables a later cas",
       {put(1, "a", 1, 2), cas(2, "a", "b", 3, 0, Outcome::Unknown), cas(3, "b", "c", 50, 51),
        get(3, "c", 52, 53)}},
      {"an unknown cas that must not have taken effect: a later cas from the old value wins",
       {put(1, "a", 1, 2), cas(2, "a", "b", 3, 0, Outcome::Unknown), cas(3, "a", "c", 50, 51),
        get(3, "c", 52, 53)}},
  }));
  CAPTURE(name);
  const auto r = check(history);
  INFO(r.explanation);
  CHECK(r.verdict == Verdict::Linearizable);
}

TEST_CASE("the explanation of a failure in a long history stays short and names the key",
          "[linearizability][scale]") {
  SyntheticOptions o;
  o.seed = 5;
  o.ops = 20'000;
  auto h = make_history(o);
  const long bad = lincheck::testing::inject_stale_read(h);
  REQUIRE(bad >= 0);
  const auto r = check(h);
  REQUIRE(r.verdict == Verdict::NotLinearizable);
  CHECK(r.explanation.find("key '" + h[static_cast<size_t>(bad)].key + "'") != std::string::npos);
  CHECK(r.explanation.size() < 20'000);
}
