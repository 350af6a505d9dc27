#include "tests/support/history_file.h"

#include <catch2/catch.hpp>

#include <random>
#include <sstream>

using namespace lincheck;

TEST_CASE("lines written by the chaos test parse", "[history_file]") {
  auto p = parse_op("c2 cas(k4, absent -> 'c2-1') = ok  [349521568, 355575204]  ok by 5");
  REQUIRE(p.op);
  CHECK(p.op->client == 2);
  CHECK(p.op->kind == OpKind::Cas);
  CHECK(p.op->key == "k4");
  CHECK_FALSE(p.op->expected);
  CHECK(p.op->input == "c2-1");
  CHECK(p.op->outcome == Outcome::Ok);
  CHECK(p.op->invoke_time == 349521568);
  CHECK(p.op->complete_time == 355575204);

  p = parse_op("c3 get(k0) -> 'c1-1' = ok  [348824065, 356508408]  ok by 5");
  REQUIRE(p.op);
  CHECK(p.op->kind == OpKind::Get);
  CHECK(p.op->output == std::optional<std::string>("c1-1"));

  p = parse_op("c2 put(k3, 'c2-4514') = unknown  [10381272040, ?]  unknown (timed out after "
               "1500 ms: node 1 did not answer in time)");
  REQUIRE(p.op);
  CHECK(p.op->kind == OpKind::Put);
  CHECK(p.op->outcome == Outcome::Unknown);
  CHECK(p.op->invoke_time == 10381272040u);

  p = parse_op("c4 cas(k0, 'c1-1' -> 'c4-1') = fail  [1, 2]  cas_fail by 5");
  REQUIRE(p.op);
  CHECK(p.op->outcome == Outcome::Fail);
  CHECK(p.op->expected == std::optional<std::string>("c1-1"));
}

TEST_CASE("parse of describe gives the operation back, for random operations",
          "[history_file]") {
  std::mt19937_64 rng(42);
  auto rand = [&](uint64_t n) { return std::uniform_int_distribution<uint64_t>(0, n - 1)(rng); };
  auto word = [&]() {
    static const std::string chars = "abcxyz019-_.:/ ABC()[],=>";
    std::string s;
    const uint64_t len = rand(12);
    for (uint64_t i = 0; i < len; ++i) s.push_back(chars[rand(chars.size())]);
    return s;
  };
  for (int n = 0; n < 5000; ++n) {
    Op op;
    op.client = rand(2) ? rand(10) : rng();
    op.key = "k" + std::to_string(rand(100)) + (rand(2) ? "-x_y.z" : "");
    op.kind = static_cast<OpKind>(rand(4));
    op.outcome = static_cast<Outcome>(rand(3));
    if (op.kind == OpKind::Put || op.kind == OpKind::Cas) op.input = word();
    if (op.kind == OpKind::Cas && rand(3)) op.expected = word();
    if (op.kind == OpKind::Get && rand(3)) op.output = word();
    op.invoke_time = rng();
    op.complete_time = op.outcome == Outcome::Unknown ? 0 : rng();
    const std::string line = describe(op) + (rand(2) ? "  some detail ] with = signs" : "");
    CAPTURE(line);
    const auto p = parse_op(line);
    INFO(p.error);
    REQUIRE(p.op);
    const Op& q = *p.op;
    CHECK(q.client == op.client);
    CHECK(q.key == op.key);
    CHECK(q.kind == op.kind);
    CHECK(q.input == op.input);
    CHECK(q.expected == op.expected);
    CHECK(q.output == op.output);
    CHECK(q.invoke_time == op.invoke_time);
    CHECK(q.complete_time == op.complete_time);
    CHECK(q.outcome == op.outcome);
  }
}

TEST_CASE("a history file skips comments and the summary", "[history_file]") {
  std::istringstream in(
      "# seed 1\n"
      "chaos summary (seed 1, 20 s of faults):\n"
      "  operations 2: ok 2, fail 0, unknown 0\n"
      "\n"
      "c1 put(k0, 'c1-1') = ok  [1, 2]  ok by 5\n"
      "c3 get(k0) -> 'c1-1' = ok  [3, 4]  ok by 5\n");
  const auto h = read_history(in);
  REQUIRE(h.ok());
  REQUIRE(h.ops.size() == 2);
  CHECK(h.ops[1].output == std::optional<std::string>("c1-1"));
}

TEST_CASE("a bad line is reported with its line number", "[history_file]") {
  auto [text, line] = GENERATE(table<std::string, size_t>({
      {"# x\nc1 put(k0, 'a') = ok  [1, 2]\nc1 frob(k0) = ok  [1, 2]\n", 3},
      {"c1 put(k0, 'a) = ok  [1, 2]\n", 1},
      {"# x\n\nc1 get(k0) -> 'a' = maybe  [1, 2]\n", 3},
      {"c1 get(k0) -> 'a' = ok  [1, x]\n", 1},
      {"c1 put(k0, 'a') = unknown  [1, 2]\n", 1},
      {"c1 put(k0, 'a') = ok  [1, ?]\n", 1},
      {"garbage\n", 1},
  }));
  CAPTURE(text);
  std::istringstream in(text);
  const auto h = read_history(in);
  CHECK_FALSE(h.ok());
  CHECK(h.error_line == line);
  CHECK_FALSE(h.error.empty());
}
