#include "tests/support/linearizability.h"

#include <xxhash.h>

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

// Values are interned per key: the search compares and hashes small integers, not strings.
using ValueId = uint32_t;
constexpr ValueId kAbsent = 0;
constexpr uint32_t kNone = std::numeric_limits<uint32_t>::max();

std::string show(const Value& v) { return v ? "'" + *v + "'" : "absent"; }

std::string_view outcome_name(Outcome o) {
  switch (o) {
    case Outcome::Ok: return "ok";
    case Outcome::Fail: return "fail";
    case Outcome::Unknown: return "unknown";
  }
  return "?";
}

// One operation of a key's sub-history, its values interned.
struct Entry {
  const Op* op;
  bool definite;      // outcome Ok or Fail (Unknown ops are optional)
  uint64_t invoke;
  uint64_t complete;  // kNever for Unknown
  ValueId input;      // put / cas: the value written
  ValueId expected;   // cas
  ValueId output;     // get
};

// Whether `e` may take effect on state `s`; the state after it goes to `next`. Unknown
// operations are tried only in the branch where they change something: an unknown cas whose
// comparison fails is indistinguishable from one that never ran.
bool apply(const Entry& e, ValueId s, ValueId& next) {
  switch (e.op->kind) {
    case OpKind::Put: next = e.input; return true;
    case OpKind::Del: next = kAbsent; return true;
    case OpKind::Get:
      next = s;
      return e.output == s;
    case OpKind::Cas:
      if (e.op->outcome == Outcome::Fail) {
        next = s;
        return s != e.expected;
      }
      next = e.input;
      return s == e.expected;
  }
  return false;
}

// The search over one key's sub-history: Wing & Gong's depth-first search, iterative (an
// explicit stack of frames, one per linearized step), with Lowe's memoisation.
//
// Invariants kept between steps:
//  - done_[i] says whether operation i (in invocation order) is linearized; order_ lists the
//    linearized operations in their linearization order.
//  - cursor_ is the first not-yet-linearized definite operation. Every definite operation
//    before it is linearized; unknown ones before it may or may not be (they stay available
//    for as long as the search wants them, and are dropped at the end if never used).
//  - The operations that may come next are those invoked no later than the earliest
//    completion among pending definite operations (real-time order); all of them lie in
//    [cursor_, window end), or are pending unknown operations before cursor_. So a step
//    costs the size of the window of concurrent operations, not the length of the history.
//  - A configuration (linearized set, state) is remembered as a 128-bit hash: the XOR of a
//    random word per linearized operation (updated in O(1) per step), mixed with the state.
//    The memo costs 16 bytes (plus the hash table's own) per configuration, whatever the
//    history length; a false "seen" needs a 128-bit collision.
//  - The furthest configuration reached is kept for the explanation; its linearized set is
//    copied only when the search leaves it, so a forward run copies nothing.
class KeySearch {
 public:
  KeySearch(std::vector<const Op*> ops, uint64_t budget) : budget_(budget) {
    std::stable_sort(ops.begin(), ops.end(),
                     [](const Op* a, const Op* b) { return a->invoke_time < b->invoke_time; });
    values_.push_back(std::nullopt);  // kAbsent
    observed_.push_back(true);        // absent is always told apart from a present value
    std::unordered_map<std::string, ValueId> ids;
    auto intern = [&](const Value& v) -> ValueId {
      if (!v) return kAbsent;
      auto [it, fresh] = ids.emplace(*v, static_cast<ValueId>(values_.size()));
      if (fresh) {
        values_.push_back(v);
        observed_.push_back(false);
        writer_.resize(values_.size(), kNone);
      }
      return it->second;
    };
    writer_.assign(1, kNone);
    for (const Op* op : ops) {
      const bool definite = op->outcome != Outcome::Unknown;
      Entry e{op, definite, op->invoke_time, definite ? op->complete_time : kNever, 0, 0, 0};
      if (op->kind == OpKind::Put || op->kind == OpKind::Cas) e.input = intern(op->input);
      if (op->kind == OpKind::Cas) e.expected = intern(op->expected);
      if (op->kind == OpKind::Get) e.output = intern(op->output);
      ops_.push_back(e);
    }
    done_.assign(ops_.size(), 0);
    need_.assign(ops_.size(), kNone);
    for (uint32_t i = 0; i < ops_.size(); ++i) {
      const Entry& e = ops_[i];
      const Op& o = *e.op;
      definite_total_ += e.definite ? 1 : 0;
      if (!e.definite) {
        unknowns_.push_back(i);
        if (o.kind == OpKind::Del) unknown_dels_.push_back(i);
      }
      if (o.kind == OpKind::Get) observed_[e.output] = true;
      if (o.kind == OpKind::Cas) observed_[e.expected] = true;
      // A failed cas writes nothing: it neither writes a value nor spoils uniqueness.
      const bool writes =
          o.kind == OpKind::Put || (o.kind == OpKind::Cas && o.outcome != Outcome::Fail);
      if (writes) {
        if (writer_[e.input] != kNone) unique_values_ = false;
        writer_[e.input] = i;
      }
      // Definite operations that need a particular (present) value.
      if (o.kind == OpKind::Get && o.outcome == Outcome::Ok && e.output != kAbsent) need_[i] = e.output;
      if (o.kind == OpKind::Cas && o.outcome == Outcome::Ok && e.expected != kAbsent) need_[i] = e.expected;
    }
  }

  Verdict run() {
    if (unique_values_ && certain_violation()) return Verdict::NotLinearizable;
    Enter first = enter(kAbsent);
    if (first == Enter::Found) return Verdict::Linearizable;
    if (first == Enter::Exhausted) return Verdict::Inconclusive;
    while (!stack_.empty()) {
      const size_t top = stack_.size() - 1;
      if (stack_[top].next == stack_[top].moves.size()) {
        stack_.pop_back();
        if (stack_.empty()) break;
        undo(stack_.back());
        continue;
      }
      const Move mv = stack_[top].moves[stack_[top].next++];
      const ValueId next = perform(stack_[top], mv);
      const Enter r = enter(next);
      if (r == Enter::Found) return Verdict::Linearizable;
      if (r == Enter::Exhausted) return Verdict::Inconclusive;
      if (r == Enter::Dead) undo(stack_[top]);
    }
    save_best();  // when the very first configuration was a dead end
    return Verdict::NotLinearizable;
  }

  uint64_t explored() const { return explored_; }

  std::string explain(const std::string& key) const {
    std::ostringstream out;
    if (!certain_.empty()) {
      out << "key '" << key << "': not linearizable in any order: " << certain_ << "\n";
      return out.str();
    }
    out << "key '" << key << "': no linearization found. Sub-history: " << ops_.size()
        << " operations";
    size_t from = 0;
    size_t to = ops_.size();
    if (ops_.size() > kShowAll) {
      from = best_.cursor > 5 ? best_.cursor - 5 : 0;
      to = std::min(ops_.size(), best_.end + 5);
      out << "; those around the furthest point (by invocation):\n";
    } else {
      out << " (by invocation):\n";
    }
    for (size_t i = from; i < to; ++i) out << "  #" << i << " " << describe(*ops_[i].op) << "\n";
    out << "The longest linearizable prefix found has " << best_.depth
        << " operations; its last ones:\n";
    for (uint32_t i : best_.last) out << "  #" << i << " " << describe(*ops_[i].op) << "\n";
    out << "Value after it: " << show(values_[best_.state])
        << ". None of the operations that could come next fits:\n";
    std::vector<bool> done(ops_.size(), false);
    for (size_t i = 0; i < best_.cursor; ++i) done[i] = ops_[i].definite;
    for (uint32_t i : best_.done) done[i] = true;
    size_t waiting = 0;
    for (size_t i = best_.cursor; i < ops_.size(); ++i) {
      if (done[i] || !ops_[i].definite) continue;
      if (i >= best_.end) {
        ++waiting;
        continue;
      }
      ValueId next;
      if (!apply(ops_[i], best_.state, next)) out << "  #" << i << " " << why_not(ops_[i], best_.state) << "\n";
    }
    if (waiting > 0) {
      out << "  (" << waiting << " later operations must wait: an earlier operation completed"
          << " before they started)\n";
    }
    return out.str();
  }

 private:
  // Sub-histories up to this size are printed whole in an explanation.
  static constexpr size_t kShowAll = 60;
  // How many of the last linearized operations an explanation shows.
  static constexpr size_t kShowLast = 12;

  // A step: optionally a run of unknown operations (chain), then operation `op`.
  struct Move {
    uint32_t op;
    uint32_t chain_begin;
    uint32_t chain_len;
  };
  struct Frame {
    ValueId state;
    size_t cursor;
    std::vector<Move> moves;
    std::vector<uint32_t> chains;
    size_t next = 0;
  };
  enum class Enter { Found, Dead, Exhausted, Pushed };

  struct Best {
    bool valid = false;
    bool saved = false;  // done and last hold its linearized set
    size_t depth = 0;
    ValueId state = kAbsent;
    size_t cursor = 0;
    size_t end = 0;
    std::vector<uint32_t> done;  // linearized operations from cursor on, and unknown ones before
    std::vector<uint32_t> last;  // the last linearized operations, in order
  };

  std::string why_not(const Entry& e, ValueId s) const {
    const Op& o = *e.op;
    if (o.kind == OpKind::Get) return "read " + show(o.output) + " but the value was " + show(values_[s]);
    if (o.kind == OpKind::Cas && o.outcome == Outcome::Fail)
      return "cas failed but the value was the expected " + show(values_[s]);
    if (o.kind == OpKind::Cas)
      return "cas expected " + show(o.expected) + " but the value was " + show(values_[s]);
    return "cannot take effect";
  }

  // Violations that real-time order alone proves, found in O(n log n) before any search
  // (with unique values, every present value has a single writer): a read of a value nobody
  // wrote, or whose writer was invoked after the read completed, or a stale read (its
  // writer W completed before another write W2 was invoked, and W2 completed before the
  // read was invoked: W, W2, read in every order, and only W writes the value). Without this
  // a late stale read makes the search exhaust every order of everything before it.
  bool certain_violation() {
    std::vector<uint32_t> writes;  // definite writes, by invocation
    for (uint32_t i = 0; i < ops_.size(); ++i) {
      const Op& o = *ops_[i].op;
      if (ops_[i].definite && o.outcome == Outcome::Ok && o.kind != OpKind::Get) writes.push_back(i);
    }
    // best_after[j]: among writes[j..], the one completing first.
    std::vector<uint32_t> best_after(writes.size() + 1, kNone);
    for (size_t j = writes.size(); j-- > 0;) {
      const uint32_t b = best_after[j + 1];
      best_after[j] = (b == kNone || ops_[writes[j]].complete < ops_[b].complete) ? writes[j] : b;
    }
    if (certain_absent_violation()) return true;
    for (uint32_t r = 0; r < ops_.size(); ++r) {
      const ValueId v = need_[r];
      if (v == kNone) continue;
      const Entry& read = ops_[r];
      const uint32_t w = writer_[v];
      if (w == kNone) {
        certain_ = describe(*read.op) + ": read " + show(values_[v]) + ", which no operation writes";
        return true;
      }
      if (ops_[w].invoke > read.complete) {
        certain_ = describe(*read.op) + ": read " + show(values_[v]) + ", written by " +
                   describe(*ops_[w].op) + ", invoked after the read completed";
        return true;
      }
      if (!ops_[w].definite) continue;
      const auto first = std::upper_bound(writes.begin(), writes.end(), ops_[w].complete,
                                          [this](uint64_t t, uint32_t i) { return t < ops_[i].invoke; });
      const uint32_t w2 = best_after[static_cast<size_t>(first - writes.begin())];
      if (w2 != kNone && ops_[w2].complete < read.invoke) {
        certain_ = describe(*read.op) + ": stale read of " + show(values_[v]) + ", written by " +
                   describe(*ops_[w].op) + " and overwritten by " + describe(*ops_[w2].op) +
                   ", which was invoked after that write completed and completed before the read"
                   " was invoked";
        return true;
      }
    }
    return false;
  }

  // A definite read of "absent" (a get, or a successful cas from absent) after a write W of
  // a present value completed, where no del can fall between W and the read: every del
  // invoked before the read completed is definite and completed before W was invoked. The
  // write that leaves dels the least room is the latest-invoked one completed before the
  // read was invoked.
  bool certain_absent_violation() {
    std::vector<uint32_t> writes;  // definite writes of a present value, by completion
    std::vector<uint32_t> dels;    // dels that may have run (definite or unknown), by invocation
    for (uint32_t i = 0; i < ops_.size(); ++i) {
      const Op& o = *ops_[i].op;
      if (o.kind == OpKind::Del) dels.push_back(i);
      if (ops_[i].definite && o.outcome == Outcome::Ok && (o.kind == OpKind::Put || o.kind == OpKind::Cas))
        writes.push_back(i);
    }
    std::sort(writes.begin(), writes.end(),
              [this](uint32_t a, uint32_t b) { return ops_[a].complete < ops_[b].complete; });
    // latest[j]: among writes[0..j], the latest invoked.
    std::vector<uint32_t> latest(writes.size());
    for (size_t j = 0; j < writes.size(); ++j) {
      latest[j] = (j == 0 || ops_[writes[j]].invoke > ops_[latest[j - 1]].invoke) ? writes[j] : latest[j - 1];
    }
    // del_done[j]: the latest completion among dels[0..j] (kNever for an unknown one).
    std::vector<uint64_t> del_done(dels.size());
    for (size_t j = 0; j < dels.size(); ++j) {
      del_done[j] = std::max(ops_[dels[j]].complete, j == 0 ? 0 : del_done[j - 1]);
    }
    for (uint32_t r = 0; r < ops_.size(); ++r) {
      const Entry& read = ops_[r];
      const Op& o = *read.op;
      const bool reads_absent = read.definite && o.outcome == Outcome::Ok &&
                                ((o.kind == OpKind::Get && !o.output) || (o.kind == OpKind::Cas && !o.expected));
      if (!reads_absent) continue;
      const auto w_end = std::lower_bound(writes.begin(), writes.end(), read.invoke,
                                          [this](uint32_t i, uint64_t t) { return ops_[i].complete < t; });
      if (w_end == writes.begin()) continue;
      const uint32_t w = latest[static_cast<size_t>(w_end - writes.begin()) - 1];
      // A del invoked no later than the read completed may precede it.
      const auto d_end = std::upper_bound(dels.begin(), dels.end(), read.complete,
                                          [this](uint64_t t, uint32_t i) { return t < ops_[i].invoke; });
      if (d_end != dels.begin() && del_done[static_cast<size_t>(d_end - dels.begin()) - 1] >= ops_[w].invoke)
        continue;
      certain_ = describe(o) + ": read absent but the value was " + show(ops_[w].op->input) +
                 ", written by " + describe(*ops_[w].op) +
                 ", which completed before the read was invoked; no del can have run in between";
      return true;
    }
    return false;
  }

  // The earliest completion among pending definite operations bounds which operations may
  // come next; returns the end of that window (first operation invoked after it).
  size_t window_end() const {
    uint64_t m = kNever;
    size_t i = cursor_;
    for (; i < ops_.size() && ops_[i].invoke <= m; ++i) {
      if (!done_[i] && ops_[i].definite) m = std::min(m, ops_[i].complete);
    }
    return i;
  }

  // Visits the configuration reached (linearized set in done_, state `s`).
  Enter enter(ValueId s) {
    if (definite_done_ == definite_total_) return Enter::Found;
    const size_t end = window_end();
    note_best(s, end);
    if (++explored_ > budget_) {
      exhausted_ = true;
      save_best();
      return Enter::Exhausted;
    }
    if (!remember(s)) return Enter::Dead;
    if (unique_values_ && doomed(s, end)) return Enter::Dead;
    Frame f;
    f.state = s;
    f.cursor = cursor_;
    if (unique_values_) {
      moves_lazily(f, end);
    } else {
      moves_eagerly(f, end);
    }
    if (f.moves.empty()) return Enter::Dead;
    stack_.push_back(std::move(f));
    return Enter::Pushed;
  }

  // Adds the configuration to the memo; false if it was there already (explored before, or
  // on the current path, which cannot happen since every step grows the linearized set).
  bool remember(ValueId s) {
    // A value no operation ever reads (no get returns it, no cas expects it) cannot be told
    // apart from another such value by anything that follows: such states are one.
    const uint64_t words[3] = {set_hash_lo_, set_hash_hi_, observed_[s] ? s : kNone};
    const XXH128_hash_t h = XXH3_128bits(words, sizeof(words));
    return seen_.insert(Hash128{h.low64, h.high64}).second;
  }

  // The linearized set's hash is the XOR of a random 128-bit word per linearized operation
  // (Zobrist hashing), kept up to date in O(1) per step whatever the history length.
  static uint64_t mix(uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
  }
  void toggle(uint32_t i) {
    set_hash_lo_ ^= mix(2 * uint64_t{i});
    set_hash_hi_ ^= mix(2 * uint64_t{i} + 1);
  }

  // Records the furthest configuration cheaply; its linearized set is copied only when the
  // search is about to leave it (save_best), not at every step of a forward run.
  void note_best(ValueId s, size_t end) {
    if (best_.valid && order_.size() <= best_.depth) return;
    best_.valid = true;
    best_.saved = false;
    best_.depth = order_.size();
    best_.state = s;
    best_.cursor = cursor_;
    best_.end = end;
  }

  void save_best() {
    if (best_.saved || order_.size() != best_.depth) return;
    best_.saved = true;
    best_.done.clear();
    for (uint32_t u : done_unknowns_) {
      if (u < cursor_) best_.done.push_back(u);
    }
    for (size_t i = cursor_; i < best_.end; ++i) {
      if (done_[i]) best_.done.push_back(static_cast<uint32_t>(i));
    }
    const size_t from = order_.size() > kShowLast ? order_.size() - kShowLast : 0;
    best_.last.assign(order_.begin() + static_cast<std::ptrdiff_t>(from), order_.end());
  }

  // With unique values, a pending get or successful cas that needs value v can only still
  // succeed if v is the current value or the one operation writing v has not happened yet.
  // Only the window is checked: an operation further on is caught once it enters it.
  bool doomed(ValueId s, size_t end) const {
    for (size_t i = cursor_; i < end; ++i) {
      const ValueId v = need_[i];
      if (v == kNone || done_[i] || v == s) continue;
      const uint32_t w = writer_[v];
      if (w == kNone || done_[w]) return true;
    }
    return false;
  }

  bool available_unknown(uint32_t u, size_t end) const {
    return u < end && !ops_[u].definite && !done_[u];
  }

  // The shortest run of available unknown operations turning `s` into `target` (unique
  // values: every present value has one writer, so the run is forced, except for which
  // unknown del produces "absent", and any one does). Appended to `chain`, in order.
  bool chain_to(ValueId target, ValueId s, size_t end, std::vector<uint32_t>& chain) const {
    std::vector<uint32_t> rev;
    auto used = [&](uint32_t u) { return std::find(rev.begin(), rev.end(), u) != rev.end(); };
    ValueId cur = target;
    while (cur != s) {
      if (cur == kAbsent) {
        uint32_t del = kNone;
        for (uint32_t u : unknown_dels_) {
          if (u >= end) break;
          if (!done_[u] && !used(u)) {
            del = u;
            break;
          }
        }
        if (del == kNone) return false;
        rev.push_back(del);
        break;
      }
      const uint32_t w = writer_[cur];
      if (w == kNone || !available_unknown(w, end) || used(w)) return false;
      rev.push_back(w);
      if (ops_[w].op->kind != OpKind::Cas) break;
      cur = ops_[w].expected;
    }
    chain.insert(chain.end(), rev.rbegin(), rev.rend());
    return true;
  }

  // Every value reachable from `s` through available unknown operations, each with the
  // shortest run reaching it (breadth first; the first entry is `s` itself, no run). Values
  // nobody reads are all alike (see remember): one of them stands for all.
  std::vector<std::pair<ValueId, std::vector<uint32_t>>> reach(ValueId s, size_t end) const {
    std::vector<std::pair<ValueId, std::vector<uint32_t>>> r{{s, {}}};
    std::unordered_set<ValueId> classes{observed_[s] ? s : kNone};
    for (size_t head = 0; head < r.size(); ++head) {
      for (uint32_t u : unknowns_) {
        if (u >= end) break;
        if (done_[u]) continue;
        const auto& used = r[head].second;
        if (std::find(used.begin(), used.end(), u) != used.end()) continue;
        ValueId next;
        if (!apply(ops_[u], r[head].first, next)) continue;
        if (!classes.insert(observed_[next] ? next : kNone).second) continue;
        auto run = used;
        run.push_back(u);
        r.emplace_back(next, std::move(run));
      }
    }
    return r;
  }

  static void add_move(Frame& f, uint32_t op, const std::vector<uint32_t>& chain) {
    f.moves.push_back(Move{op, static_cast<uint32_t>(f.chains.size()), static_cast<uint32_t>(chain.size())});
    f.chains.insert(f.chains.end(), chain.begin(), chain.end());
  }

  // A definite read (a get, a failed cas) that may come next and fits the current value is
  // linearized now, as the only move: in any linearization from here that places it later,
  // moving it here changes no value (it writes nothing) and breaks no real-time order
  // (everything still pending completes no earlier than it was invoked). Without this, a long
  // read of a common value ("absent") waits until its deadline and then makes the search
  // spend an unknown operation to explain it.
  bool forced_read(Frame& f, const std::vector<uint32_t>& cands) const {
    ValueId next;
    for (uint32_t i : cands) {
      const Op& o = *ops_[i].op;
      const bool read = o.kind == OpKind::Get || (o.kind == OpKind::Cas && o.outcome == Outcome::Fail);
      if (read && apply(ops_[i], f.state, next)) {
        add_move(f, i, {});
        return true;
      }
    }
    return false;
  }

  // Unknown operations only ever matter through the value they leave for the next definite
  // operation (moving an unknown operation later never breaks real-time order: nothing has
  // to follow it). So the next step is a definite operation, preceded by the shortest run of
  // unknown operations giving it a value it accepts (a put or del accepts any value, so none
  // precede it). When every write writes its own value, the operations producing a value are
  // forced, and the shortest run never uses an operation a longer one would spare, so
  // nothing is lost. Earliest deadline first: the
  // operation that must complete soonest is the likeliest next one, which finds a
  // linearization of a correct history with little backtracking.
  void moves_lazily(Frame& f, size_t end) const {
    std::vector<uint32_t> cands;
    for (size_t i = cursor_; i < end; ++i) {
      if (!done_[i] && ops_[i].definite) cands.push_back(static_cast<uint32_t>(i));
    }
    std::stable_sort(cands.begin(), cands.end(),
                     [this](uint32_t a, uint32_t b) { return ops_[a].complete < ops_[b].complete; });
    const ValueId s = f.state;
    if (forced_read(f, cands)) return;
    // Moves spending an unknown del come last. Every other unknown operation writes its own
    // value, so a run of them before an operation is forced (nothing else could give that
    // value) and costs nothing. But unknown dels all write "absent" and one spent now is
    // missing later, while a definite del in the window may explain a read of absent just as
    // well: the dead end that follows is found only much later, after a long search.
    std::vector<std::pair<uint32_t, std::vector<uint32_t>>> last;
    std::vector<uint32_t> chain;
    auto add = [&](uint32_t i, const std::vector<uint32_t>& run) {
      const bool del = std::any_of(run.begin(), run.end(),
                                   [this](uint32_t u) { return ops_[u].op->kind == OpKind::Del; });
      if (del) {
        last.emplace_back(i, run);
      } else {
        add_move(f, i, run);
      }
    };
    for (uint32_t i : cands) {
      const Entry& e = ops_[i];
      chain.clear();
      switch (e.op->kind) {
        case OpKind::Put:
        case OpKind::Del:
          // Whatever the value, it is overwritten: unknown operations before it are useless.
          add_move(f, i, chain);
          break;
        case OpKind::Get:
          if (chain_to(e.output, s, end, chain)) add(i, chain);
          break;
        case OpKind::Cas:
          if (e.op->outcome == Outcome::Ok) {
            if (chain_to(e.expected, s, end, chain)) add(i, chain);
          } else if (s != e.expected) {
            add_move(f, i, chain);
          } else {
            // A failed cas needs any other value: every reachable one is a different future.
            // Last resort (it spends unknown writes nothing else needs): it goes last.
            for (const auto& [v, run] : reach(s, end)) {
              if (v != e.expected) last.emplace_back(i, run);
            }
          }
          break;
      }
    }
    for (const auto& [i, run] : last) add_move(f, i, run);
  }

  // Plain Wing & Gong (values written more than once): every candidate, unknown ones
  // included, may come next. Definite operations first: an unknown one is optional, and
  // trying it first sends the search down long dead ends when the history is fine.
  void moves_eagerly(Frame& f, size_t end) const {
    const std::vector<uint32_t> none;
    ValueId next;
    std::vector<uint32_t> cands;
    for (size_t i = cursor_; i < end; ++i) {
      if (!done_[i] && ops_[i].definite) cands.push_back(static_cast<uint32_t>(i));
    }
    if (forced_read(f, cands)) return;
    for (size_t i = cursor_; i < end; ++i) {
      if (!done_[i] && ops_[i].definite && apply(ops_[i], f.state, next))
        add_move(f, static_cast<uint32_t>(i), none);
    }
    for (uint32_t u : unknowns_) {
      if (u >= end) break;
      if (!done_[u] && apply(ops_[u], f.state, next)) add_move(f, u, none);
    }
  }

  void mark(uint32_t i) {
    done_[i] = 1;
    order_.push_back(i);
    toggle(i);
    if (!ops_[i].definite) done_unknowns_.push_back(i);
  }

  void unmark(uint32_t i) {
    done_[i] = 0;
    toggle(i);
    if (!ops_[i].definite) done_unknowns_.pop_back();
  }

  // Applies the move from frame `f`'s configuration; returns the state after it.
  ValueId perform(const Frame& f, const Move& mv) {
    ValueId s = f.state;
    for (uint32_t k = 0; k < mv.chain_len; ++k) {
      const uint32_t u = f.chains[mv.chain_begin + k];
      ValueId next = s;
      apply(ops_[u], s, next);  // valid by construction
      s = next;
      mark(u);
    }
    ValueId next = s;
    apply(ops_[mv.op], s, next);
    mark(mv.op);
    if (ops_[mv.op].definite) ++definite_done_;
    while (cursor_ < ops_.size() && (done_[cursor_] || !ops_[cursor_].definite)) ++cursor_;
    return next;
  }

  // Reverts the last move taken from frame `f`.
  void undo(const Frame& f) {
    save_best();
    const Move& mv = f.moves[f.next - 1];
    unmark(mv.op);
    if (ops_[mv.op].definite) --definite_done_;
    for (uint32_t k = mv.chain_len; k-- > 0;) unmark(f.chains[mv.chain_begin + k]);
    order_.resize(order_.size() - 1 - mv.chain_len);
    cursor_ = f.cursor;
  }

  struct Hash128 {
    uint64_t lo;
    uint64_t hi;
    bool operator==(const Hash128&) const = default;
  };
  struct Hash128Hasher {
    size_t operator()(const Hash128& h) const { return static_cast<size_t>(h.lo); }
  };

  std::vector<Entry> ops_;
  std::vector<std::optional<std::string>> values_;  // by ValueId
  std::vector<bool> observed_;                      // by ValueId: some get/cas reads it
  std::vector<uint32_t> writer_;                    // by ValueId: the op writing it, or kNone
  std::vector<ValueId> need_;                       // by op: present value it needs, or kNone
  std::vector<uint32_t> unknowns_;                  // unknown ops, by index
  std::vector<uint32_t> unknown_dels_;              // unknown dels, by index
  bool unique_values_ = true;  // every write (put, successful cas) writes its own value
  size_t definite_total_ = 0;

  std::vector<uint8_t> done_;
  std::vector<uint32_t> order_;
  size_t cursor_ = 0;
  size_t definite_done_ = 0;
  std::vector<Frame> stack_;

  uint64_t budget_;
  uint64_t explored_ = 0;
  bool exhausted_ = false;
  std::unordered_set<Hash128, Hash128Hasher> seen_;
  uint64_t set_hash_lo_ = 0;  // Zobrist hash of the linearized set
  uint64_t set_hash_hi_ = 0;
  std::vector<uint32_t> done_unknowns_;  // linearized unknown operations, in order
  Best best_;
  std::string certain_;  // set when certain_violation() found one
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
