// Linearizability checker for the history of a key-value store (put, get, cas, del).
//
// A history is the list of operations clients invoked, each with the (logical) time it was
// invoked and the time its outcome became known. The history is linearizable when every
// operation can be given a single point in time between its invocation and its completion
// such that executing the operations one by one at those points, on an ordinary map, yields
// exactly the outcomes the clients saw (Herlihy & Wing 1990).
//
// The search is Wing & Gong's, with the memoisation of Lowe ("Testing for linearizability",
// 2017): a configuration is the set of operations already linearized plus the model state,
// and a configuration that failed once is never explored again. Keys are independent
// (P-compositionality, Horn & Kroening 2015): each key's sub-history is checked on its own,
// which keeps the search small.
//
// It is built for long histories (a 30-minute chaos run: ~700k operations): the search is
// iterative (an explicit stack, so any thread's stack will do); each step looks only at the
// window of operations concurrent with the first pending one (invoked before the earliest
// pending completion), found from a cursor at the first not-yet-linearized operation; the
// memo holds a 128-bit hash per configuration (an incrementally kept hash of the linearized
// set, plus the state). A definite read that fits the current value is linearized at once
// (never worse); unknown operations are applied only when a later operation needs the value
// they write, and are simply never applied otherwise. Violations that real-time order alone
// proves (a stale read, a read of a value nobody wrote) are reported before any search. On a
// correct history the cost is about one configuration per operation.
//
// Outcomes:
//   Ok      the operation took effect and the client saw its result (for get: `output`).
//   Fail    a cas whose comparison failed: it took effect as a read that saw a value other
//           than `expected`. For put, get and del, Fail means "definitely not executed" and
//           the operation is ignored.
//   Unknown the client never learned the outcome (timeout, crash): the operation may have
//           taken effect at any point after its invocation, or never. Unknown gets are
//           ignored (they constrain nothing).
//
// No dependency on any test framework: the real-cluster chaos tests reuse this library.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace lincheck {

enum class OpKind { Put, Get, Cas, Del };
enum class Outcome { Ok, Fail, Unknown };

struct Op {
  uint64_t client = 0;
  std::string key;
  OpKind kind = OpKind::Get;
  // put / cas: the value written.
  std::string input;
  // cas: the value the current one must equal (nullopt: the key must be absent).
  std::optional<std::string> expected;
  // get: the value read (nullopt: the key was absent).
  std::optional<std::string> output;
  // Logical times; an operation a precedes b in real time iff a.complete_time <
  // b.invoke_time. complete_time is ignored for Unknown outcomes.
  uint64_t invoke_time = 0;
  uint64_t complete_time = 0;
  Outcome outcome = Outcome::Ok;
};

enum class Verdict { Linearizable, NotLinearizable, Inconclusive };

struct CheckResult {
  Verdict verdict = Verdict::Linearizable;
  // For NotLinearizable: the key, its sub-history, and the furthest the search got (which
  // operations were linearized, the model state there, and which could not come next).
  // For Inconclusive: which key exhausted the search budget.
  std::string explanation;
  // Configurations explored, over all keys.
  uint64_t explored = 0;

  bool ok() const { return verdict == Verdict::Linearizable; }
};

struct CheckOptions {
  // Upper bound on configurations explored per key before giving up (Inconclusive). A
  // correct history needs about one per operation; proving a subtle violation can need many
  // more (roughly 1.5 µs and 50 bytes each).
  uint64_t max_explored_per_key = 2'000'000;
};

CheckResult check(const std::vector<Op>& history, const CheckOptions& options = {});

// One line describing an operation, e.g. "c3 cas(k1, 'a' -> 'b') = ok  [12, 40]".
std::string describe(const Op& op);

}  // namespace lincheck
