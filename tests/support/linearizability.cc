#include "tests/support/linearizability.h"

#include <algorithm>
#include <limits>
#include <map>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

namespace lincheck {
namespace {

using Value = std::optional<std::string>;
constexpr uint64_t kNever = std::numeric_limits<uint64_t>::max();

std::string show(const Value& v) { return v ? "'" + *v + "'" : "absent"; }

std::string_view outcome_name(Outcome o) {
  switch (o) {
    case Outcome::Ok: return "ok";
    case Outcome::Fail: return "fail";
    case Outcome::Unknown: return "unknown";
  }
  return "?";
}

// Whether `op` may take effect on state `s`; the state after it goes to `next`. Unknown
// operations are tried only in the branch where they change something: an unknown cas whose
// comparison fails is indistinguishable from one that never ran.
bool apply(const Op& op, const Value& s, Value& next, std::string* why) {
  switch (op.kind) {
    case OpKind::Put:
      next = op.input;
      return true;
    case OpKind::Del:
      next.reset();
      return true;
    case OpKind::Get:
      if (op.output != s) {
        if (why) *why = "read " + show(op.output) + " but the value was " + show(s);
        return false;
      }
      next = s;
      return true;
    case OpKind::Cas:
      if (op.outcome == Outcome::Fail) {
        if (s == op.expected) {
          if (why) *why = "cas failed but the value was the expected " + show(s);
          return false;
        }
        next = s;
        return true;
      }
      if (s != op.expected) {
        if (why) *why = "cas expected " + show(op.expected) + " but the value was " + show(s);
        return false;
      }
      next = op.input;
      return true;
  }
  return false;
}

// The search over one key's sub-history.
class KeySearch {
 public:
  KeySearch(std::vector<const Op*> ops, uint64_t budget) : budget_(budget) {
    std::stable_sort(ops.begin(), ops.end(),
                     [](const Op* a, const Op* b) { return a->invoke_time < b->invoke_time; });
    for (const Op* op : ops) {
      const bool definite = op->outcome != Outcome::Unknown;
      ops_.push_back(Entry{op, definite, definite ? op->complete_time : kNever});
      definite_total_ += definite ? 1 : 0;
    }
    done_.assign(ops_.size(), false);
    for (size_t i = 0; i < ops_.size(); ++i) {
      if (ops_[i].definite) by_deadline_.push_back(i);
    }
    std::stable_sort(by_deadline_.begin(), by_deadline_.end(),
                     [this](size_t a, size_t b) { return ops_[a].complete < ops_[b].complete; });
    for (const Entry& e : ops_) {
      if (e.op->kind == OpKind::Get && e.op->output) observed_.insert(*e.op->output);
      if (e.op->kind == OpKind::Cas && e.op->expected) observed_.insert(*e.op->expected);
    }
    std::unordered_map<std::string, size_t> writer;
    for (size_t i = 0; i < ops_.size(); ++i) {
      const Op& o = *ops_[i].op;
      const bool writes = o.kind == OpKind::Put || o.kind == OpKind::Cas;
      if (writes && !writer.emplace(o.input, i).second) unique_values_ = false;
    }
    // Definite operations that need a particular (present) value, with its writer.
    for (size_t i = 0; i < ops_.size(); ++i) {
      const Op& o = *ops_[i].op;
      const std::optional<std::string>* wanted = nullptr;
      if (o.kind == OpKind::Get && o.outcome == Outcome::Ok) wanted = &o.output;
      if (o.kind == OpKind::Cas && o.outcome == Outcome::Ok) wanted = &o.expected;
      if (!wanted || !*wanted) continue;
      auto w = writer.find(**wanted);
      needs_.emplace_back(i, w == writer.end() ? kNoWriter : w->second);
    }
  }

  Verdict run() {
    Value state;
    if (dfs(state, 0)) return Verdict::Linearizable;
    return exhausted_ ? Verdict::Inconclusive : Verdict::NotLinearizable;
  }

  uint64_t explored() const { return explored_; }

  std::string explain(const std::string& key) const {
    std::ostringstream out;
    out << "key '" << key << "': no linearization found. Sub-history (" << ops_.size()
        << " operations, by invocation):\n";
    for (size_t i = 0; i < ops_.size(); ++i) out << "  #" << i << " " << describe(*ops_[i].op) << "\n";
    out << "The longest linearizable prefix found has " << best_order_.size()
        << " operations; its last ones:\n";
    const size_t from = best_order_.size() > 12 ? best_order_.size() - 12 : 0;
    for (size_t k = from; k < best_order_.size(); ++k) {
      out << "  #" << best_order_[k] << " " << describe(*ops_[best_order_[k]].op) << "\n";
    }
    out << "Value after it: " << show(best_state_) << ". None of the operations that could come"
        << " next fits:\n";
    std::vector<bool> done(ops_.size(), false);
    for (size_t i : best_order_) done[i] = true;
    const uint64_t min_ret = min_return(done);
    for (size_t i = 0; i < ops_.size(); ++i) {
      if (done[i] || !ops_[i].definite) continue;
      if (ops_[i].op->invoke_time > min_ret) {
        out << "  #" << i << " must wait: an earlier operation completed before it started\n";
        continue;
      }
      std::string why;
      Value next;
      if (!apply(*ops_[i].op, best_state_, next, &why)) out << "  #" << i << " " << why << "\n";
    }
    return out.str();
  }

 private:
  struct Entry {
    const Op* op;
    bool definite;
    uint64_t complete;
  };

  uint64_t min_return(const std::vector<bool>& done) const {
    uint64_t m = kNever;
    for (size_t i = 0; i < ops_.size(); ++i) {
      if (!done[i] && ops_[i].definite) m = std::min(m, ops_[i].complete);
    }
    return m;
  }

  std::string memo_key(const Value& state) const {
    std::string k;
    k.reserve(ops_.size() / 8 + 2 + (state ? state->size() : 0));
    unsigned char byte = 0;
    for (size_t i = 0; i < done_.size(); ++i) {
      if (done_[i]) byte |= static_cast<unsigned char>(1u << (i % 8));
      if (i % 8 == 7) {
        k.push_back(static_cast<char>(byte));
        byte = 0;
      }
    }
    k.push_back(static_cast<char>(byte));
    // A value no operation ever reads (no get returns it, no cas expects it) cannot be told
    // apart from another such value by anything that follows: such states are one.
    if (!state) {
      k.push_back('0');
    } else if (!observed_.count(*state)) {
      k.push_back('2');
    } else {
      k.push_back('1');
      k += *state;
    }
    return k;
  }

  bool dfs(const Value& state, size_t definite_done) {
    if (definite_done == definite_total_) return true;
    if (++explored_ > budget_) {
      exhausted_ = true;
      return false;
    }
    std::string key = memo_key(state);
    if (failed_.count(key)) return false;
    if (order_.size() > best_order_.size() || best_order_.empty()) {
      best_order_ = order_;
      best_state_ = state;
    }
    if (doomed(state)) {
      failed_.insert(std::move(key));
      return false;
    }
    // An operation may come next only if no pending definite operation completed before it
    // was invoked (real-time order).
    const uint64_t min_ret = min_return(done_);
    const bool found = unique_values_ ? step_lazily(state, definite_done, min_ret)
                                      : step_eagerly(state, definite_done, min_ret);
    if (found) return true;
    if (!exhausted_) failed_.insert(std::move(key));
    return false;
  }

  // With unique values, a pending get or successful cas that needs value v can only still
  // succeed if v is the current value or the one operation writing v has not happened yet.
  bool doomed(const Value& state) const {
    if (!unique_values_) return false;
    for (const auto& [op, writer] : needs_) {
      if (done_[op]) continue;
      const std::string& wanted =
          ops_[op].op->kind == OpKind::Get ? *ops_[op].op->output : *ops_[op].op->expected;
      if (state && *state == wanted) continue;
      if (writer == kNoWriter || done_[writer]) return true;
    }
    return false;
  }

  // Tries `op` next (after the unknown operations in `before`, already applied to reach
  // `state`): marks them done, recurses, and undoes the marks.
  bool descend(const std::vector<size_t>& before, size_t op, const Value& state,
               size_t definite_done) {
    Value next;
    if (!apply(*ops_[op].op, state, next, nullptr)) return false;
    for (size_t u : before) {
      done_[u] = true;
      order_.push_back(u);
    }
    done_[op] = true;
    order_.push_back(op);
    const bool found = dfs(next, definite_done + (ops_[op].definite ? 1 : 0));
    if (found) return true;
    done_[op] = false;
    order_.pop_back();
    for (size_t u : before) {
      done_[u] = false;
      order_.pop_back();
    }
    return false;
  }

  // Plain Wing & Gong: every candidate, unknown ones included, may come next.
  bool step_eagerly(const Value& state, size_t definite_done, uint64_t min_ret) {
    // Definite operations first: an unknown one is optional, and trying it first sends the
    // search down long dead ends when the history is fine.
    for (int pass = 0; pass < 2; ++pass) {
      for (size_t i = 0; i < ops_.size(); ++i) {
        if (ops_[i].op->invoke_time > min_ret) break;  // sorted by invocation
        if (done_[i] || ops_[i].definite != (pass == 0)) continue;
        if (descend({}, i, state, definite_done)) return true;
        if (exhausted_) return false;
      }
    }
    return false;
  }

  // Unknown operations only ever matter through the value they leave for the next definite
  // operation (moving an unknown operation later never breaks real-time order: nothing has
  // to follow it). So the next step is a definite operation, preceded by the shortest run of
  // unknown operations that produces some value; every reachable value is tried. When every
  // write writes its own value, the operations producing a value are forced, and the
  // shortest run never uses an operation a longer one would spare, so nothing is lost.
  bool step_lazily(const Value& state, size_t definite_done, uint64_t min_ret) {
    struct Reach {
      Value value;
      std::vector<size_t> used;
    };
    std::vector<Reach> reach{{state, {}}};
    for (size_t head = 0; head < reach.size(); ++head) {
      for (size_t u = 0; u < ops_.size(); ++u) {
        if (ops_[u].op->invoke_time > min_ret) break;
        if (done_[u] || ops_[u].definite) continue;
        const auto& used = reach[head].used;
        if (std::find(used.begin(), used.end(), u) != used.end()) continue;
        Value next;
        if (!apply(*ops_[u].op, reach[head].value, next, nullptr)) continue;
        bool seen = false;
        for (const auto& r : reach) seen = seen || r.value == next;
        if (seen) continue;
        Reach r{next, used};
        r.used.push_back(u);
        reach.push_back(std::move(r));
      }
    }
    // Earliest deadline first: the operation that must complete soonest is the likeliest
    // next one, which finds a linearization of a correct history with little backtracking.
    for (size_t i : by_deadline_) {
      if (done_[i] || ops_[i].op->invoke_time > min_ret) continue;
      for (const auto& r : reach) {
        if (descend(r.used, i, r.value, definite_done)) return true;
        if (exhausted_) return false;
      }
    }
    return false;
  }

  std::vector<Entry> ops_;
  std::vector<size_t> by_deadline_;  // definite operations by completion time
  std::vector<bool> done_;
  std::vector<size_t> order_;
  size_t definite_total_ = 0;
  uint64_t budget_;
  uint64_t explored_ = 0;
  bool exhausted_ = false;
  std::unordered_set<std::string> failed_;
  std::vector<size_t> best_order_;
  Value best_state_;
  // Every write (put, cas) of this key writes a value no other write writes.
  bool unique_values_ = true;
  // Values some operation reads: a get's output or a cas's expected value.
  std::unordered_set<std::string> observed_;
  // (operation, the operation writing the value it needs); kNoWriter if nothing writes it.
  static constexpr size_t kNoWriter = std::numeric_limits<size_t>::max();
  std::vector<std::pair<size_t, size_t>> needs_;
};

// Operations that constrain nothing are left out: unknown reads, and put/get/del that
// definitely did not run.
bool relevant(const Op& op) {
  if (op.kind == OpKind::Get) return op.outcome == Outcome::Ok;
  if (op.outcome == Outcome::Fail) return op.kind == OpKind::Cas;
  return true;
}

}  // namespace

std::string describe(const Op& op) {
  std::ostringstream out;
  out << "c" << op.client << " ";
  switch (op.kind) {
    case OpKind::Put: out << "put(" << op.key << ", '" << op.input << "')"; break;
    case OpKind::Del: out << "del(" << op.key << ")"; break;
    case OpKind::Get: out << "get(" << op.key << ") -> " << show(op.output); break;
    case OpKind::Cas:
      out << "cas(" << op.key << ", " << show(op.expected) << " -> '" << op.input << "')";
      break;
  }
  out << " = " << outcome_name(op.outcome) << "  [" << op.invoke_time << ", ";
  if (op.outcome == Outcome::Unknown) {
    out << "?";
  } else {
    out << op.complete_time;
  }
  out << "]";
  return out.str();
}

CheckResult check(const std::vector<Op>& history, const CheckOptions& options) {
  std::map<std::string, std::vector<const Op*>> by_key;
  for (const Op& op : history) {
    if (relevant(op)) by_key[op.key].push_back(&op);
  }
  CheckResult result;
  for (auto& [key, ops] : by_key) {
    KeySearch search(std::move(ops), options.max_explored_per_key);
    const Verdict v = search.run();
    result.explored += search.explored();
    if (v == Verdict::Linearizable) continue;
    result.verdict = v;
    if (v == Verdict::Inconclusive) {
      result.explanation = "key '" + key + "': search budget exhausted after " +
                           std::to_string(search.explored()) + " configurations; " +
                           search.explain(key);
    } else {
      result.explanation = search.explain(key);
    }
    return result;
  }
  return result;
}

}  // namespace lincheck
