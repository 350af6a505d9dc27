#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <random>

#include "tests/support/linearizability.h"

using namespace lincheck;

namespace {

// Builders: op(client, key, [invoke, complete]).
Op put(uint64_t c, std::string key, std::string v, uint64_t inv, uint64_t done,
       Outcome o = Outcome::Ok) {
  Op op;
  op.client = c;
  op.key = std::move(key);
  op.kind = OpKind::Put;
  op.input = std::move(v);
  op.invoke_time = inv;
  op.complete_time = done;
  op.outcome = o;
  return op;
}

Op get(uint64_t c, std::string key, std::optional<std::string> seen, uint64_t inv, uint64_t done) {
  Op op;
  op.client = c;
  op.key = std::move(key);
  op.kind = OpKind::Get;
  op.output = std::move(seen);
  op.invoke_time = inv;
  op.complete_time = done;
  return op;
}

Op cas(uint64_t c, std::string key, std::optional<std::string> expected, std::string v,
       uint64_t inv, uint64_t done, Outcome o = Outcome::Ok) {
  Op op = put(c, std::move(key), std::move(v), inv, done, o);
  op.kind = OpKind::Cas;
  op.expected = std::move(expected);
  return op;
}

Op del(uint64_t c, std::string key, uint64_t inv, uint64_t done, Outcome o = Outcome::Ok) {
  Op op = put(c, std::move(key), "", inv, done, o);
  op.kind = OpKind::Del;
  return op;
}

const std::nullopt_t absent = std::nullopt;

}  // namespace

TEST_CASE("an empty history is linearizable", "[linearizability]") {
  CHECK(check({}).ok());
}

TEST_CASE("linearizable histories are accepted", "[linearizability]") {
  using H = std::vector<Op>;
  auto [name, history] = GENERATE(table<std::string, H>({
      {"a read of a missing key sees nothing", {get(1, "k", absent, 1, 2)}},
      {"a read after a put sees it", {put(1, "k", "a", 1, 2), get(2, "k", "a", 3, 4)}},
      {"a read concurrent with a put may see the old value",
       {put(1, "k", "a", 1, 2), put(1, "k", "b", 3, 10), get(2, "k", "a", 4, 5)}},
      {"a read concurrent with a put may see the new value",
       {put(1, "k", "a", 1, 2), put(1, "k", "b", 3, 10), get(2, "k", "b", 4, 5)}},
      {"a read may see a put invoked before it completed, the put completing later",
       {get(2, "k", "b", 4, 5), put(1, "k", "b", 3, 10)}},
      {"cas succeeds on the expected value", {put(1, "k", "a", 1, 2), cas(2, "k", "a", "b", 3, 4),
                                               get(3, "k", "b", 5, 6)}},
      {"cas fails on another value", {put(1, "k", "a", 1, 2),
                                      cas(2, "k", "x", "b", 3, 4, Outcome::Fail),
                                      get(3, "k", "a", 5, 6)}},
      {"cas on an absent key", {cas(1, "k", absent, "a", 1, 2), get(2, "k", "a", 3, 4)}},
      {"del removes the value", {put(1, "k", "a", 1, 2), del(1, "k", 3, 4), get(2, "k", absent, 5, 6)}},
      {"an unknown put may take effect later",
       {put(1, "k", "a", 1, 0, Outcome::Unknown), get(2, "k", absent, 5, 6), get(2, "k", "a", 7, 8)}},
      {"an unknown put may never take effect",
       {put(1, "k", "a", 1, 0, Outcome::Unknown), get(2, "k", absent, 5, 6)}},
      {"an unknown cas may take effect",
       {put(1, "k", "a", 1, 2), cas(1, "k", "a", "b", 3, 0, Outcome::Unknown),
        get(2, "k", "b", 9, 10)}},
      {"a failed put is ignored", {put(1, "k", "a", 1, 2, Outcome::Fail), get(2, "k", absent, 3, 4)}},
      {"keys are independent", {put(1, "x", "1", 1, 2), put(1, "y", "2", 3, 4),
                                get(2, "x", "1", 5, 6), get(2, "y", "2", 5, 6)}},
      {"a chain of unknown cas operations may all take effect",
       {put(1, "k", "a", 1, 2), cas(2, "k", "a", "b", 3, 0, Outcome::Unknown),
        cas(3, "k", "b", "c", 4, 0, Outcome::Unknown), get(4, "k", "c", 9, 10)}},
      {"an unknown del then an unknown cas from absent",
       {put(1, "k", "a", 1, 2), del(2, "k", 3, 0, Outcome::Unknown),
        cas(3, "k", absent, "c", 4, 0, Outcome::Unknown), get(4, "k", "c", 9, 10),
        get(4, "k", "c", 11, 12)}},
      {"many unknown writes, none of them observed",
       {put(1, "k", "a", 1, 2), put(2, "k", "u1", 3, 0, Outcome::Unknown),
        put(3, "k", "u2", 3, 0, Outcome::Unknown), del(4, "k", 3, 0, Outcome::Unknown),
        put(5, "k", "u3", 4, 0, Outcome::Unknown), get(6, "k", "a", 5, 6), put(1, "k", "b", 7, 8),
        get(6, "k", "b", 9, 10)}},
      {"a value written twice (no shortcut) still checks",
       {put(1, "k", "a", 1, 2), put(2, "k", "a", 3, 0, Outcome::Unknown), put(1, "k", "b", 4, 5),
        get(3, "k", "a", 6, 7)}},
      {"two concurrent cas from the same value: one wins, the other fails",
       {put(1, "k", "a", 1, 2), cas(2, "k", "a", "b", 3, 10), cas(3, "k", "a", "c", 4, 9, Outcome::Fail),
        get(4, "k", "b", 11, 12)}},
  }));
  CAPTURE(name);
  auto r = check(history);
  INFO(r.explanation);
  CHECK(r.verdict == Verdict::Linearizable);
}

TEST_CASE("histories that are not linearizable are rejected", "[linearizability]") {
  using H = std::vector<Op>;
  auto [name, history] = GENERATE(table<std::string, H>({
      {"a read after a completed put misses it", {put(1, "k", "a", 1, 2), get(2, "k", absent, 3, 4)}},
      {"a stale read after a newer one", {put(1, "k", "a", 1, 2), put(1, "k", "b", 3, 10),
                                          get(2, "k", "b", 4, 5), get(3, "k", "a", 6, 7)}},
      {"a read of a value never written", {put(1, "k", "a", 1, 2), get(2, "k", "z", 3, 4)}},
      {"a read sees a put invoked after the read completed",
       {get(2, "k", "b", 1, 2), put(1, "k", "b", 3, 4)}},
      {"a read sees an unknown put invoked after the read completed",
       {get(2, "k", "b", 1, 2), put(1, "k", "b", 3, 0, Outcome::Unknown)}},
      {"two cas from the same value both succeed",
       {put(1, "k", "a", 1, 2), cas(2, "k", "a", "b", 3, 10), cas(3, "k", "a", "c", 4, 9)}},
      {"a cas fails although the value was the expected one",
       {put(1, "k", "a", 1, 2), cas(2, "k", "a", "b", 3, 4, Outcome::Fail)}},
      {"a cas succeeds although the value was another",
       {put(1, "k", "a", 1, 2), cas(2, "k", "x", "b", 3, 4)}},
      {"a read after a del still sees the value",
       {put(1, "k", "a", 1, 2), del(1, "k", 3, 4), get(2, "k", "a", 5, 6)}},
      {"sequential writes read back out of order",
       {put(1, "k", "1", 1, 2), put(1, "k", "2", 3, 4), get(2, "k", "1", 5, 6)}},
      {"one bad key among good ones", {put(1, "x", "1", 1, 2), get(2, "x", "1", 3, 4),
                                       put(1, "y", "1", 1, 2), get(2, "y", absent, 3, 4)}},
      {"a chain of unknown cas seen before its last link was invoked",
       {put(1, "k", "a", 1, 2), cas(2, "k", "a", "b", 3, 0, Outcome::Unknown),
        get(4, "k", "c", 5, 6), cas(3, "k", "b", "c", 7, 0, Outcome::Unknown)}},
      {"an unknown put seen, then unseen", {put(1, "k", "a", 1, 0, Outcome::Unknown),
                                            get(2, "k", "a", 3, 4), get(2, "k", absent, 5, 6)}},
  }));
  CAPTURE(name);
  auto r = check(history);
  INFO(r.explanation);
  CHECK(r.verdict == Verdict::NotLinearizable);
  CHECK_FALSE(r.explanation.empty());
}

TEST_CASE("the explanation names the key and the operation that cannot be placed",
          "[linearizability]") {
  auto r = check({put(1, "good", "1", 1, 2), put(1, "bad", "a", 1, 2), get(7, "bad", absent, 3, 4)});
  REQUIRE(r.verdict == Verdict::NotLinearizable);
  CHECK(r.explanation.find("key 'bad'") != std::string::npos);
  CHECK(r.explanation.find("c7 get(bad) -> absent") != std::string::npos);
  CHECK(r.explanation.find("read absent but the value was 'a'") != std::string::npos);
}

TEST_CASE("a search that exceeds its budget is inconclusive, not a pass", "[linearizability]") {
  std::vector<Op> h;
  // Many concurrent unknown writes of one same value (so no shortcut applies), then a read
  // of a value nobody wrote: the search must try every subset.
  for (uint64_t i = 0; i < 30; ++i) h.push_back(put(i, "k", "same", 1, 0, Outcome::Unknown));
  h.push_back(get(99, "k", "never", 2, 3));
  CheckOptions o;
  o.max_explored_per_key = 1000;
  auto r = check(h, o);
  CHECK(r.verdict == Verdict::Inconclusive);
  CHECK_FALSE(r.ok());
}

// Random histories generated from a real map, with every operation taking effect at a random
// point inside its interval, are linearizable by construction; corrupting one read of a
// value that was never written makes them not linearizable.
TEST_CASE("random histories generated from a map are accepted", "[linearizability]") {
  const auto seed = GENERATE(range(1, 41));
  CAPTURE(seed);
  std::mt19937_64 rng(static_cast<uint64_t>(seed));
  auto rand = [&](uint64_t n) { return std::uniform_int_distribution<uint64_t>(0, n - 1)(rng); };
  struct Planned {
    Op op;
    uint64_t point;
  };
  std::vector<Planned> planned;
  const int clients = 4 + seed % 7;  // up to 10 concurrent clients
  for (int c = 0; c < clients; ++c) {
    uint64_t t = rand(5);
    for (int k = 0; k < 25; ++k) {
      Op op;
      op.client = static_cast<uint64_t>(c);
      op.key = "k" + std::to_string(rand(2));
      op.kind = static_cast<OpKind>(rand(4));
      op.input = "c" + std::to_string(c) + "_" + std::to_string(k);
      op.expected = rand(3) == 0 ? std::nullopt
                                 : std::optional<std::string>("c" + std::to_string(rand(clients)) +
                                                              "_" + std::to_string(rand(k + 1)));
      op.invoke_time = t * 4 + static_cast<uint64_t>(c);  // distinct times across clients
      const uint64_t len = 1 + rand(20);
      op.complete_time = (t + len) * 4 + static_cast<uint64_t>(c);
      const uint64_t point = op.invoke_time * 2 + 1 + rand((op.complete_time - op.invoke_time) * 2 - 1);
      op.outcome = rand(8) == 0 ? Outcome::Unknown : Outcome::Ok;
      planned.push_back({op, point});
      t += len + 1;
    }
  }
  std::sort(planned.begin(), planned.end(),
            [](const Planned& a, const Planned& b) { return a.point < b.point; });
  std::map<std::string, std::string> kv;
  std::vector<Op> history;
  for (auto& p : planned) {
    Op& op = p.op;
    const bool executes = op.outcome == Outcome::Ok || rand(2) == 0;
    auto it = kv.find(op.key);
    std::optional<std::string> cur = it == kv.end() ? std::nullopt : std::optional<std::string>(it->second);
    if (executes) {
      switch (op.kind) {
        case OpKind::Put: kv[op.key] = op.input; break;
        case OpKind::Del: kv.erase(op.key); break;
        case OpKind::Get: op.output = cur; break;
        case OpKind::Cas:
          if (cur == op.expected) {
            kv[op.key] = op.input;
          } else if (op.outcome == Outcome::Ok) {
            op.outcome = Outcome::Fail;
          }
          break;
      }
    }
    history.push_back(op);
  }
  auto r = check(history);
  INFO(r.explanation);
  REQUIRE(r.verdict == Verdict::Linearizable);

  // Corrupt one successful read: it now returns a value nobody wrote.
  for (auto& op : history) {
    if (op.kind == OpKind::Get && op.outcome == Outcome::Ok) {
      op.output = "never-written";
      break;
    }
  }
  auto bad = check(history);
  INFO(bad.explanation);
  CHECK(bad.verdict == Verdict::NotLinearizable);
}
