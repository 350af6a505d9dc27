// Invariants: the Raft safety properties (Raft paper Figure 3), checked against a Network
// after every step, with memory of everything observed so far.
//
//   Election safety      at most one leader per term, ever: every (term, leader) seen is kept.
//   Leader append-only   while a node leads a term, no entry of its log changes or vanishes
//                        (compaction only hides a prefix) and its last index never drops.
//   Log matching         an (index, term) pair names one entry forever: same content and same
//                        term at index - 1, across all nodes and all time. By induction, two
//                        logs holding the same (index, term) agree on every earlier entry.
//   Leader completeness  an entry known committed (by some node at term T) is in the log of
//                        every leader of a term >= T, checked at index and term both against
//                        each leader's log at election and against every later leader.
//   State machine safety no two nodes apply different entries at the same index, and no two
//                        nodes ever consider different entries committed at the same index.
//   Monotonic commit     a node's commit index never decreases within one incarnation.
//
// A node that wins an election alone (a single voter) is leader before its new term is on
// disk; if it crashes before persisting, that leadership and the entries it appended lived
// only in its memory (the core sends nothing at a term before the term is durable), so the
// checker forgets them and the restarted node may lead that term again.
//
// A violation throws SimFailure naming the property, the step, and the logs involved.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "tests/sim/network.h"

namespace sim {

class Invariants {
 public:
  // Installs itself on the network's after_step and on_apply hooks (chaining any already
  // there) and checks after every step from now on.
  explicit Invariants(Network& net);

  void check();
  // Counts of what was checked, for reports.
  uint64_t checks() const { return checks_; }
  size_t terms_with_leader() const { return leaders_.size(); }
  Index max_committed() const { return committed_.empty() ? 0 : committed_.rbegin()->first; }

  // Label of the current step for messages (set by the driver).
  std::string step_label;

 private:
  struct Tenure {
    NodeId id = raft::kNone;
    Term term = 0;
    uint64_t incarnation = 0;
    bool active = true;
    Index first = 0;            // terms[0] is the term at `first`
    Index election_last = 0;    // last index when first seen leading
    std::vector<Term> terms;    // the leader's log, index first .. first + size - 1
  };
  struct Registered {
    raft::EntryType type;
    std::string data;
    std::string context;
    Term prev_term;
    NodeId seen_on;
  };
  struct Commit {
    Term term;        // term of the committed entry
    Term seen_at;     // smallest term of a node that knew it committed
    NodeId seen_on;
  };
  struct NodeView {
    uint64_t incarnation = 0;
    Index first = 0;
    std::vector<Term> terms;  // terms verified so far, from `first`
    Index commit = 0;
  };
  struct PairHash {
    size_t operator()(const std::pair<Index, Term>& p) const {
      return std::hash<uint64_t>()(p.first * 0x9e3779b97f4a7c15ULL ^ p.second);
    }
  };

  [[noreturn]] void fail(const std::string& property, const std::string& what,
                         const std::vector<NodeId>& involved) const;
  void check_node(const SimNode& n);
  void check_leader(const SimNode& n);
  void observe_commit(const SimNode& n, Index from, Index to);
  void check_commit_against_tenure(Index i, const Commit& c, const Tenure& t) const;
  void on_apply(const SimNode& n, const Entry& e);
  void on_crash(const SimNode& n);

  Network& net_;
  uint64_t checks_ = 0;
  std::map<Term, NodeId> leaders_;
  std::map<Term, Tenure> tenures_;
  std::unordered_map<std::pair<Index, Term>, Registered, PairHash> registry_;
  std::map<Index, Commit> committed_;
  std::map<Index, Entry> applied_;
  std::map<NodeId, NodeView> views_;
};

}  // namespace sim
