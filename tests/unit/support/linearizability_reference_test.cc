// The checker against a brute-force reference on small random histories: every subset of
// the unknown operations, every order allowed by real time, executed on a plain value. The
// histories are random (outputs not produced by any model), so both verdicts come up, and
// written values are drawn from a small pool half of the time (the general search) and are
// unique otherwise (the lazy search and the certain-violation pre-pass).
#include <catch2/catch.hpp>

#include <algorithm>
#include <numeric>
#include <random>

#include "tests/support/linearizability.h"

using namespace lincheck;

namespace {

bool relevant(const Op& op) {
  if (op.kind == OpKind::Get) return op.outcome == Outcome::Ok;
  if (op.outcome == Outcome::Fail) return op.kind == OpKind::Cas;
  return true;
}

// Runs `order` on an initially absent value; false if an outcome does not match.
bool runs(const std::vector<const Op*>& order) {
  std::optional<std::string> v;
  for (const Op* op : order) {
    switch (op->kind) {
      case OpKind::Put: v = op->input; break;
      case OpKind::Del: v.reset(); break;
      case OpKind::Get:
        if (op->output != v) return false;
        break;
      case OpKind::Cas:
        if (op->outcome == Outcome::Fail) {
          if (v == op->expected) return false;
        } else {
          if (v != op->expected) return false;
          v = op->input;
        }
        break;
    }
  }
  return true;
}

bool brute_force(const std::vector<Op>& history) {
  std::vector<const Op*> definite, unknown;
  for (const Op& op : history) {
    if (!relevant(op)) continue;
    (op.outcome == Outcome::Unknown ? unknown : definite).push_back(&op);
  }
  for (uint32_t mask = 0; mask < (1u << unknown.size()); ++mask) {
    std::vector<const Op*> ops = definite;
    for (size_t u = 0; u < unknown.size(); ++u)
      if (mask & (1u << u)) ops.push_back(unknown[u]);
    std::sort(ops.begin(), ops.end());
    do {
      bool real_time = true;
      for (size_t i = 0; i < ops.size() && real_time; ++i) {
        for (size_t j = i + 1; j < ops.size() && real_time; ++j) {
          // ops[j] comes after ops[i]: wrong if ops[j] completed before ops[i] was invoked.
          const Op& later = *ops[j];
          if (later.outcome != Outcome::Unknown && later.complete_time < ops[i]->invoke_time) real_time = false;
        }
      }
      if (real_time && runs(ops)) return true;
    } while (std::next_permutation(ops.begin(), ops.end()));
  }
  return false;
}

}  // namespace

TEST_CASE("the checker agrees with a brute-force search on small random histories",
          "[linearizability]") {
  std::mt19937_64 rng(2024);
  auto rand = [&](uint64_t n) { return std::uniform_int_distribution<uint64_t>(0, n - 1)(rng); };
  int linearizable = 0, not_linearizable = 0;
  for (int round = 0; round < 3000; ++round) {
    const bool unique = round % 2 == 1;
    const size_t n = 2 + rand(6);
    std::vector<Op> h;
    std::vector<std::string> written;
    for (size_t i = 0; i < n; ++i) {
      Op op;
      op.client = i;
      op.key = "k";
      op.kind = static_cast<OpKind>(rand(4));
      op.input = unique ? "v" + std::to_string(i) : std::string(1, static_cast<char>('a' + rand(2)));
      op.invoke_time = rand(20);
      op.complete_time = op.invoke_time + 1 + rand(8);
      const uint64_t o = rand(10);
      op.outcome = o < 7 ? Outcome::Ok : o < 8 ? Outcome::Fail : Outcome::Unknown;
      if (op.kind != OpKind::Cas && op.outcome == Outcome::Fail) op.outcome = Outcome::Ok;
      if (op.kind == OpKind::Put || op.kind == OpKind::Cas) written.push_back(op.input);
      if (op.outcome == Outcome::Unknown) op.complete_time = 0;
      h.push_back(std::move(op));
    }
    // Reads and cas expectations name a written value (or absent, or now and then a value
    // nobody wrote).
    for (Op& op : h) {
      std::optional<std::string> pick;
      const uint64_t r = rand(written.size() + 2);
      if (r < written.size()) pick = written[r];
      if (r == written.size() + 1) pick = "zz";
      if (op.kind == OpKind::Get) op.output = pick;
      if (op.kind == OpKind::Cas) op.expected = pick;
      if (op.kind != OpKind::Put && op.kind != OpKind::Cas) op.input.clear();
    }
    const bool expected = brute_force(h);
    const auto r = check(h);
    std::string shown;
    for (const Op& op : h) shown += describe(op) + "\n";
    CAPTURE(round, shown);
    INFO(r.explanation);
    REQUIRE(r.verdict != Verdict::Inconclusive);
    REQUIRE(r.ok() == expected);
    (expected ? linearizable : not_linearizable)++;
  }
  // Both verdicts were exercised.
  CHECK(linearizable > 300);
  CHECK(not_linearizable > 300);
}
