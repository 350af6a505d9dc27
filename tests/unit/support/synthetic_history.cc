#include "tests/unit/support/synthetic_history.h"

#include <algorithm>
#include <map>
#include <random>
#include <string>

namespace lincheck::testing {

std::vector<Op> make_history(const SyntheticOptions& o, std::vector<uint64_t>* points) {
  std::mt19937_64 rng(o.seed);
  auto rand = [&](uint64_t n) { return std::uniform_int_distribution<uint64_t>(0, n - 1)(rng); };
  struct Planned {
    Op op;
    uint64_t point;  // when it takes effect; kNever: it never does
  };
  constexpr uint64_t kNever = ~uint64_t{0};
  std::vector<Planned> planned;
  planned.reserve(o.ops);
  std::vector<uint64_t> clock(static_cast<size_t>(o.clients), 0);
  std::vector<uint64_t> seq(static_cast<size_t>(o.clients), 0);
  // Recent values written per key, for cas to expect (it fails when they are stale).
  std::vector<std::vector<std::string>> recent(static_cast<size_t>(o.keys));
  for (size_t n = 0; n < o.ops; ++n) {
    const size_t c = static_cast<size_t>(rand(static_cast<uint64_t>(o.clients)));
    Op op;
    op.client = c + 1;
    const size_t k = static_cast<size_t>(rand(static_cast<uint64_t>(o.keys)));
    op.key = "k" + std::to_string(k);
    const uint64_t r = rand(100);
    op.kind = r < 35 ? OpKind::Put : r < 75 ? OpKind::Get : r < 95 ? OpKind::Cas : OpKind::Del;
    if (op.kind == OpKind::Del && !o.dels) op.kind = OpKind::Put;
    if (op.kind == OpKind::Put || op.kind == OpKind::Cas) {
      op.input = "c" + std::to_string(op.client) + "-" + std::to_string(++seq[c]);
    }
    if (op.kind == OpKind::Cas) {
      auto& rv = recent[k];
      if (!rv.empty() && rand(5) != 0) op.expected = rv[rv.size() - 1 - rand(std::min<uint64_t>(rv.size(), 3))];
    }
    if (op.kind == OpKind::Put || op.kind == OpKind::Cas) {
      recent[k].push_back(op.input);
      if (recent[k].size() > 8) recent[k].erase(recent[k].begin());
    }
    uint64_t len = 10 + rand(100);
    if (rand(1000) < static_cast<uint64_t>(o.long_per_mille)) len *= 100;
    op.invoke_time = clock[c] * 8 + c;  // distinct across clients
    op.complete_time = (clock[c] + len) * 8 + c;
    clock[c] += len + 1 + rand(20);
    uint64_t point = op.invoke_time + 1 + rand(op.complete_time - op.invoke_time - 1);
    if (rand(1000) < static_cast<uint64_t>(o.unknown_per_mille)) {
      op.outcome = Outcome::Unknown;
      op.complete_time = 0;
      // Takes effect a while after its invocation (up to far later), or never.
      point = rand(2) == 0 ? kNever : op.invoke_time + 1 + rand(len * 8 * 20);
    }
    planned.push_back({std::move(op), point});
  }
  std::stable_sort(planned.begin(), planned.end(),
                   [](const Planned& a, const Planned& b) { return a.point < b.point; });
  std::map<std::string, std::string> kv;
  for (auto& p : planned) {
    if (p.point == kNever) continue;
    Op& op = p.op;
    auto it = kv.find(op.key);
    const std::optional<std::string> cur =
        it == kv.end() ? std::nullopt : std::optional<std::string>(it->second);
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
  std::stable_sort(planned.begin(), planned.end(), [](const Planned& a, const Planned& b) {
    return a.op.invoke_time < b.op.invoke_time;
  });
  std::vector<Op> history;
  history.reserve(planned.size());
  if (points) points->clear();
  for (auto& p : planned) {
    history.push_back(std::move(p.op));
    if (points) points->push_back(p.point);
  }
  return history;
}

long inject_stale_read(std::vector<Op>& history) {
  // history is sorted by invocation. A get late in the history, a put w of its key half way,
  // and another acknowledged put w2 of the key invoked after w completed and completed
  // before the get was invoked: the get returning w's value is a stale read.
  auto acked_put = [](const Op& op, const std::string& key) {
    return op.kind == OpKind::Put && op.outcome == Outcome::Ok && op.key == key;
  };
  for (size_t g = history.size() * 95 / 100; g < history.size(); ++g) {
    Op& get = history[g];
    if (get.kind != OpKind::Get || get.outcome != Outcome::Ok) continue;
    for (size_t w = history.size() / 2; w < g; ++w) {
      if (!acked_put(history[w], get.key)) continue;
      for (size_t w2 = w + 1; w2 < g; ++w2) {
        const Op& b = history[w2];
        if (b.invoke_time > get.invoke_time) break;
        if (acked_put(b, get.key) && b.invoke_time > history[w].complete_time &&
            b.complete_time < get.invoke_time) {
          get.output = history[w].input;
          return static_cast<long>(g);
        }
      }
    }
  }
  return -1;
}

long inject_absent_read(std::vector<Op>& history) {
  for (size_t g = history.size() * 95 / 100; g < history.size(); ++g) {
    Op& get = history[g];
    if (get.kind == OpKind::Get && get.outcome == Outcome::Ok && get.output) {
      get.output.reset();
      return static_cast<long>(g);
    }
  }
  return -1;
}

}  // namespace lincheck::testing
