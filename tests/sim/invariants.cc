#include "tests/sim/invariants.h"

#include <sstream>

#include "raft/raft.h"

namespace sim {
namespace {

std::string pair_name(Index i, Term t) {
  return "(index " + std::to_string(i) + ", term " + std::to_string(t) + ")";
}

}  // namespace

Invariants::Invariants(Network& net) : net_(net) {
  auto prev_step = net_.after_step;
  net_.after_step = [this, prev_step] {
    if (prev_step) prev_step();
    check();
  };
  auto prev_crash = net_.before_crash;
  net_.before_crash = [this, prev_crash](const SimNode& n) {
    if (prev_crash) prev_crash(n);
    on_crash(n);
  };
  auto prev_apply = net_.on_apply;
  net_.on_apply = [this, prev_apply](const SimNode& n, const Entry& e, const ApplyResult* r) {
    on_apply(n, e);
    if (prev_apply) prev_apply(n, e, r);
  };
}

void Invariants::fail(const std::string& property, const std::string& what,
                      const std::vector<NodeId>& involved) const {
  std::ostringstream s;
  s << "SAFETY VIOLATION: " << property << " broken";
  if (!step_label.empty()) s << " at " << step_label;
  s << "\n  " << what << "\n  nodes involved:\n";
  for (NodeId id : involved) {
    if (net_.has_node(id)) s << "    " << describe_node(net_.node(id)) << "\n";
  }
  s << "  all nodes:\n";
  for (NodeId id : net_.ids()) s << "    " << describe_node(net_.node(id), 12) << "\n";
  throw SimFailure(s.str());
}

void Invariants::check() {
  ++checks_;
  for (NodeId id : net_.ids()) {
    const SimNode& n = net_.node(id);
    if (!n.alive()) continue;
    check_node(n);
    if (n.raw->raft().state() == raft::StateRole::Leader) check_leader(n);
  }
  // Tenures end when their leader stops leading (step-down, crash, restart).
  for (auto& [term, t] : tenures_) {
    if (!t.active) continue;
    const SimNode& n = net_.node(t.id);
    if (!n.alive() || n.incarnation != t.incarnation || n.raw->raft().term() != term ||
        n.raw->raft().state() != raft::StateRole::Leader) {
      t.active = false;
    }
  }
}

void Invariants::check_node(const SimNode& n) {
  NodeView& v = views_[n.id];
  if (v.incarnation != n.incarnation) {
    v = NodeView{};
    v.incarnation = n.incarnation;
  }
  const raft::Raft& r = n.raw->raft();
  const raft::RaftLog& log = r.raft_log();

  const Index commit = log.committed();
  if (commit < v.commit) {
    fail("monotonic commit",
         "node " + std::to_string(n.id) + " commit went from " + std::to_string(v.commit) +
             " down to " + std::to_string(commit),
         {n.id});
  }

  // Log matching, through the (index, term) registry. Only entries whose term (or whose
  // predecessor's term) changed since the last check need their content compared.
  const Index first = log.first_index();
  const Index last = log.last_index();
  std::vector<Term> terms;
  terms.reserve(last + 1 > first ? last + 1 - first : 0);
  bool prev_changed = v.first != first;
  Term prev_term = 0;
  {
    auto t = log.term(first - 1);
    prev_term = t.ok() ? *t : 0;
  }
  for (Index i = first; i <= last; ++i) {
    auto tr = log.term(i);
    if (!tr.ok()) {
      fail("log readable", "node " + std::to_string(n.id) + " cannot read the term of entry " +
                               std::to_string(i) + ": " + tr.error().to_string(), {n.id});
    }
    const Term t = *tr;
    const bool cached = i >= v.first && i - v.first < v.terms.size() && v.terms[i - v.first] == t;
    const bool changed = !cached || prev_changed;
    if (changed) {
      auto es = log.slice(i, i + 1, raft::kNoLimit);
      if (!es.ok() || es->size() != 1) {
        fail("log readable", "node " + std::to_string(n.id) + " cannot read entry " + std::to_string(i),
             {n.id});
      }
      const Entry& e = es->front();
      if (e.index != i || e.term != t) {
        fail("log readable", "node " + std::to_string(n.id) + " entry at " + std::to_string(i) +
                                 " reports " + pair_name(e.index, e.term), {n.id});
      }
      auto [it, inserted] = registry_.try_emplace(
          std::make_pair(i, t), Registered{e.type, e.data, e.context, prev_term, n.id});
      if (!inserted) {
        const Registered& reg = it->second;
        if (reg.type != e.type || reg.data != e.data || reg.context != e.context) {
          fail("log matching",
               "entry " + pair_name(i, t) + " on node " + std::to_string(n.id) +
                   " differs in content from the one seen on node " + std::to_string(reg.seen_on),
               {n.id, reg.seen_on});
        }
        if (reg.prev_term != prev_term) {
          fail("log matching",
               "entry " + pair_name(i, t) + " follows an entry of term " + std::to_string(prev_term) +
                   " on node " + std::to_string(n.id) + " but one of term " +
                   std::to_string(reg.prev_term) + " on node " + std::to_string(reg.seen_on),
               {n.id, reg.seen_on});
        }
      }
    }
    prev_changed = changed;
    prev_term = t;
    terms.push_back(t);
  }
  v.first = first;
  v.terms = std::move(terms);

  if (commit > v.commit) {
    observe_commit(n, v.commit + 1, commit);
    v.commit = commit;
  }
}

void Invariants::observe_commit(const SimNode& n, Index from, Index to) {
  const raft::Raft& r = n.raw->raft();
  const raft::RaftLog& log = r.raft_log();
  const Index base = log.first_index() - 1;  // the snapshot's index: its term is known
  for (Index i = std::max<Index>({from, base, 1}); i <= to; ++i) {
    auto t = log.term(i);
    if (!t.ok() || *t == 0) continue;
    auto it = committed_.find(i);
    if (it == committed_.end()) {
      it = committed_.emplace(i, Commit{*t, r.term(), n.id}).first;
    } else if (it->second.term != *t) {
      fail("state machine safety",
           "index " + std::to_string(i) + " is committed with term " + std::to_string(*t) +
               " on node " + std::to_string(n.id) + " but with term " +
               std::to_string(it->second.term) + " on node " + std::to_string(it->second.seen_on),
           {n.id, it->second.seen_on});
    } else if (r.term() < it->second.seen_at) {
      it->second.seen_at = r.term();
      it->second.seen_on = n.id;
    } else {
      continue;
    }
    for (auto tt = tenures_.lower_bound(it->second.seen_at); tt != tenures_.end(); ++tt) {
      check_commit_against_tenure(i, it->second, tt->second);
    }
  }
}

void Invariants::check_commit_against_tenure(Index i, const Commit& c, const Tenure& t) const {
  if (t.term < c.seen_at || i < t.first) return;
  const bool ok = i <= t.election_last ? t.terms[i - t.first] == c.term : c.term == t.term;
  if (ok) return;
  const Term had = i <= t.election_last ? t.terms[i - t.first] : 0;
  fail("leader completeness",
       "entry " + pair_name(i, c.term) + " was known committed at term " + std::to_string(c.seen_at) +
           " (by node " + std::to_string(c.seen_on) + ") but the leader of term " +
           std::to_string(t.term) + ", node " + std::to_string(t.id) + ", was elected with " +
           (had ? "term " + std::to_string(had) + " at that index"
                : "a log ending at " + std::to_string(t.election_last)),
       {t.id, c.seen_on});
}

void Invariants::check_leader(const SimNode& n) {
  const raft::Raft& r = n.raw->raft();
  const raft::RaftLog& log = r.raft_log();
  const Term term = r.term();
  auto [lit, inserted] = leaders_.emplace(term, n.id);
  if (!inserted && lit->second != n.id) {
    fail("election safety",
         "two leaders in term " + std::to_string(term) + ": node " + std::to_string(lit->second) +
             " and node " + std::to_string(n.id),
         {lit->second, n.id});
  }
  const Index first = log.first_index();
  const Index last = log.last_index();
  auto tit = tenures_.find(term);
  if (tit == tenures_.end()) {
    Tenure t;
    t.id = n.id;
    t.term = term;
    t.incarnation = n.incarnation;
    t.first = first;
    t.election_last = last;
    for (Index i = first; i <= last; ++i) t.terms.push_back(*log.term(i));
    tit = tenures_.emplace(term, std::move(t)).first;
    // Leader completeness at election: everything known committed at a term <= ours.
    for (const auto& [i, c] : committed_) check_commit_against_tenure(i, c, tit->second);
    return;
  }
  Tenure& t = tit->second;
  if (!t.active || t.incarnation != n.incarnation) {
    fail("election safety",
         "node " + std::to_string(n.id) + " leads term " + std::to_string(term) +
             " again after it stopped leading it",
         {n.id});
  }
  // Leader append-only: nothing it had changes; its last index never drops.
  const Index known_last = t.first + t.terms.size() - 1;
  if (last < known_last) {
    fail("leader append-only",
         "leader " + std::to_string(n.id) + " of term " + std::to_string(term) +
             " had a log up to " + std::to_string(known_last) + ", now only up to " +
             std::to_string(last),
         {n.id});
  }
  for (Index i = std::max(first, t.first); i <= known_last; ++i) {
    const Term now = *log.term(i);
    if (now != t.terms[i - t.first]) {
      fail("leader append-only",
           "leader " + std::to_string(n.id) + " of term " + std::to_string(term) +
               " changed its entry at " + std::to_string(i) + " from term " +
               std::to_string(t.terms[i - t.first]) + " to " + std::to_string(now),
           {n.id});
    }
  }
  for (Index i = known_last + 1; i <= last; ++i) {
    const Term now = *log.term(i);
    if (now != term) {
      fail("leader append-only",
           "leader " + std::to_string(n.id) + " of term " + std::to_string(term) +
               " gained an entry of term " + std::to_string(now) + " at " + std::to_string(i),
           {n.id});
    }
    t.terms.push_back(now);
  }
}

void Invariants::on_crash(const SimNode& n) {
  const Term durable = n.storage->hard_state().term;
  const Term term = n.raw->raft().term();
  if (term <= durable) return;
  for (Term t = durable + 1; t <= term; ++t) {
    auto l = leaders_.find(t);
    if (l != leaders_.end() && l->second == n.id) leaders_.erase(l);
    auto tt = tenures_.find(t);
    if (tt != tenures_.end() && tt->second.id == n.id) tenures_.erase(tt);
  }
  for (auto it = registry_.begin(); it != registry_.end();) {
    if (it->first.second > durable && it->second.seen_on == n.id) {
      it = registry_.erase(it);
    } else {
      ++it;
    }
  }
  // Re-verify every log from scratch, so that a copy of a forgotten entry held by another
  // node (which would mean it did leak) is registered again and compared.
  for (auto& [id, v] : views_) v.terms.clear();
}

void Invariants::on_apply(const SimNode& n, const Entry& e) {
  auto [it, inserted] = applied_.try_emplace(e.index, e);
  if (!inserted && !(it->second == e)) {
    fail("state machine safety",
         "node " + std::to_string(n.id) + " applied " + pair_name(e.index, e.term) +
             " where another node applied " + pair_name(it->second.index, it->second.term) +
             (it->second.term == e.term ? " with different content" : ""),
         {n.id});
  }
}

}  // namespace sim
