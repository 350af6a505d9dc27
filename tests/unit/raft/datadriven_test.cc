// The datadriven tier of the core (etcd-io/raft testdata/*.txt, raft-rs src/quorum/testdata):
// text scenarios under tests/unit/raft/testdata/, run by tests/support/datadriven.h.
//
//   quorum/*.txt       committed cfg=(1,2,3) [cfg_out=(...)] idx=(...)   -> the committed index
//                      vote cfg=(1,2,3) [cfg_out=(...)] votes=(y,n,_)    -> Won / Lost / Pending
//                      (idx and votes list one value per voter of cfg ∪ cfg_out, in id order;
//                      `_` is unknown)
//   interaction/*.txt  a cluster of RawNodes, each driven by raft::ReadyDriver, the loop
//                      raft-node runs: add-nodes, campaign, propose, propose-conf-change,
//                      process-ready, deliver-msgs, stabilize, raft-state, tick-heartbeat,
//                      persist-late, complete-write.
//
// REWRITE=1 build/bin/raft_unit_tests "[datadriven]" rewrites the expected outputs.
#include <catch2/catch.hpp>

#include <deque>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "raft/conf_change.h"
#include "raft/mem_storage.h"
#include "raft/quorum/joint.h"
#include "raft/raw_node.h"
#include "raft/ready_driver.h"
#include "raft/tracker/progress_tracker.h"
#include "tests/support/datadriven.h"
#include "tests/unit/raft/test_util.h"

using namespace raft;

namespace {

const std::string kTestData = std::string(RAFTKV_SOURCE_DIR) + "/tests/unit/raft/testdata/";

void run_dir(const std::string& dir, const std::function<std::string(const datadriven::Directive&)>& handler) {
  const auto files = datadriven::files_in(kTestData + dir);
  REQUIRE_FALSE(files.empty());
  for (const auto& f : files) {
    INFO(f);
    for (const auto& failure : datadriven::run_file(f, handler)) FAIL_CHECK(failure);
  }
}

// --- quorum ---

std::set<NodeId> ids_of(const datadriven::Directive& d, const std::string& key) {
  std::set<NodeId> out;
  if (!d.has(key)) return out;
  for (const auto& v : d.values(key)) out.insert(std::stoull(v));
  return out;
}

std::string quorum(const datadriven::Directive& d) {
  const JointConfig cfg{MajorityConfig(ids_of(d, "cfg")), MajorityConfig(ids_of(d, "cfg_out"))};
  const std::set<NodeId> ids = cfg.ids();
  const std::string key = d.cmd == "committed" ? "idx" : "votes";
  const auto& values = d.values(key);
  if (values.size() != ids.size()) throw std::runtime_error(key + " needs one value per voter");
  std::map<NodeId, std::string> by_id;
  auto v = values.begin();
  for (NodeId id : ids) by_id[id] = *v++;
  if (d.cmd == "committed") {
    const Index c = cfg.committed_index([&](NodeId id) -> std::optional<Index> {
      auto it = by_id.find(id);
      if (it == by_id.end() || it->second == "_") return std::nullopt;
      return std::stoull(it->second);
    });
    return c == UINT64_MAX ? "∞" : std::to_string(c);
  }
  if (d.cmd == "vote") {
    const VoteResult r = cfg.vote_result([&](NodeId id) -> std::optional<bool> {
      auto it = by_id.find(id);
      if (it == by_id.end() || it->second == "_") return std::nullopt;
      return it->second == "y";
    });
    return r == VoteResult::Won ? "Won" : r == VoteResult::Lost ? "Lost" : "Pending";
  }
  throw std::runtime_error("unknown command " + d.cmd);
}

// --- interaction ---

std::string describe(const Entry& e) {
  std::string s = std::to_string(e.term) + "/" + std::to_string(e.index);
  if (e.type == EntryType::ConfChange) return s + " confchange";
  return s + (e.data.empty() ? " (empty)" : " " + e.data);
}

std::string describe(const Message& m) {
  std::ostringstream s;
  s << m.from << "->" << m.to << " " << to_string(m.msg_type) << " term=" << m.term;
  switch (m.msg_type) {
    case MessageType::MsgAppend:
      s << " log=" << m.log_term << "/" << m.index << " commit=" << m.commit;
      if (!m.entries.empty()) {
        s << " [";
        for (size_t i = 0; i < m.entries.size(); ++i) s << (i ? ", " : "") << describe(m.entries[i]);
        s << "]";
      }
      break;
    case MessageType::MsgAppendResponse:
      s << " index=" << m.index << (m.reject ? " rejected" : "");
      break;
    case MessageType::MsgRequestVote:
    case MessageType::MsgRequestPreVote:
      s << " last=" << m.log_term << "/" << m.index;
      break;
    case MessageType::MsgRequestVoteResponse:
    case MessageType::MsgRequestPreVoteResponse:
      s << (m.reject ? " rejected" : " granted");
      break;
    case MessageType::MsgHeartbeat:
      s << " commit=" << m.commit;
      break;
    default:
      break;
  }
  return s.str();
}

// One node: MemStorage as the disk (writes at once, or held until complete-write), a
// mailbox as the outbox, a log of applied entries as the state machine. Every call of the
// driver is printed to `out`.
class InteractionNode final : public DurableLog, public Outbox, public Applier {
 public:
  InteractionNode(NodeId id, const ConfState& cs, std::vector<Message>& wire, std::ostringstream& out)
      : id_(id), store_(MemStorage::new_with_conf_state(cs)), wire_(wire), out_(out), driver_(*this, *this, *this) {
    Config c;
    c.id = id;
    c.seed = id;
    c.election_tick = 10;
    c.heartbeat_tick = 1;
    auto r = RawNode::create(c, store_);
    if (!r.ok()) throw std::runtime_error(r.error().to_string());
    raw_ = std::move(*r);
    driver_.reset(store_.hard_state());
  }

  RawNode& raw() { return *raw_; }
  ReadyDriver& driver() { return driver_; }
  bool late = false;

  WriteOutcome write(const WriteRequest& w) override {
    out_ << "  write";
    if (w.snapshot) out_ << " snapshot=" << w.snapshot->metadata.index;
    if (w.hard_state) out_ << " hs(term=" << w.hard_state->term << " vote=" << w.hard_state->vote << " commit=" << w.hard_state->commit << ")";
    for (const auto& e : *w.entries) out_ << " " << describe(e);
    out_ << (w.must_sync ? " sync" : "") << (late ? " (in flight)" : "") << "\n";
    Pending p{w.snapshot ? std::optional<Snapshot>(*w.snapshot) : std::nullopt, *w.entries, w.hard_state};
    if (late) {
      in_flight_.push_back(std::move(p));
      return WriteOutcome::Pending;
    }
    persist(p);
    return WriteOutcome::Done;
  }
  void send(std::vector<Message>& msgs) override {
    for (auto& m : msgs) {
      out_ << "  send " << describe(m) << "\n";
      wire_.push_back(std::move(m));
    }
    msgs.clear();
  }
  void restore(const Snapshot& snap) override { out_ << "  restore " << snap.metadata.index << "\n"; }
  void apply(std::vector<Entry>& es) override {
    for (const auto& e : es) {
      out_ << "  apply " << describe(e) << "\n";
      if (e.type == EntryType::ConfChange) {
        auto cc = decode_conf_change(e.data);
        if (!cc.ok()) throw std::runtime_error("undecodable conf change");
        store_.set_conf_state(raw_->apply_conf_change(*cc));
      }
      applied_ = e.index;
    }
  }
  void read_states(std::vector<ReadState>& rs) override {
    for (const auto& r : rs) out_ << "  read index=" << r.index << " ctx=" << r.request_ctx << "\n";
  }

  bool complete_write() {
    if (in_flight_.empty()) return false;
    persist(in_flight_.front());
    in_flight_.pop_front();
    out_ << "  write done\n";
    driver_.on_write_done(*raw_);
    return true;
  }
  std::string state() const {
    std::ostringstream s;
    const Raft& r = raw_->raft();
    s << id_ << ": " << to_string(r.state()) << " term=" << r.term() << " commit=" << r.raft_log().committed()
      << " applied=" << applied_ << " last=" << r.raft_log().last_index()
      << " disk(commit=" << store_.hard_state().commit << " last=" << *store_.last_index() << ")"
      << " conf=" << r.prs().config().describe();
    if (!in_flight_.empty()) s << " writes_in_flight=" << in_flight_.size();
    return s.str();
  }

 private:
  struct Pending {
    std::optional<Snapshot> snapshot;
    std::vector<Entry> entries;
    std::optional<HardState> hard_state;
  };
  void persist(const Pending& p) {
    if (p.snapshot && !store_.apply_snapshot(*p.snapshot).ok()) throw std::runtime_error("snapshot refused");
    store_.append(p.entries);
    if (p.hard_state) store_.set_hard_state(*p.hard_state);
  }

  NodeId id_;
  MemStorage store_;
  std::vector<Message>& wire_;
  std::ostringstream& out_;
  std::unique_ptr<RawNode> raw_;
  ReadyDriver driver_;
  std::deque<Pending> in_flight_;
  Index applied_ = 0;
};

class Interaction {
 public:
  std::string handle(const datadriven::Directive& d) {
    out_.str("");
    if (d.cmd == "add-nodes") {
      // The first call makes the initial voters; later ones add nodes that start from the
      // same initial membership and learn the rest from the leader's log.
      const uint64_t n = d.number("n");
      const NodeId first = nodes_.empty() ? 1 : nodes_.rbegin()->first + 1;
      if (nodes_.empty()) {
        for (NodeId id = 1; id <= n; ++id) initial_.voters.push_back(id);
      }
      for (NodeId id = first; id < first + n; ++id) nodes_[id] = std::make_unique<InteractionNode>(id, initial_, wire_, out_);
      return "ok";
    }
    if (d.cmd == "stabilize") {
      stabilize();
      return out_.str();
    }
    if (d.cmd == "raft-state") {
      for (auto& [id, n] : nodes_) out_ << n->state() << "\n";
      return out_.str();
    }
    InteractionNode& n = node(d.number("id"));
    if (d.cmd == "campaign") return check(n.raw().campaign());
    if (d.cmd == "propose") return check(n.raw().propose("", d.value("data")));
    if (d.cmd == "propose-conf-change") {
      ConfChangeV2 cc;
      for (const auto& [key, type] : {std::pair{"add", ConfChangeType::AddNode}, std::pair{"remove", ConfChangeType::RemoveNode},
                                      std::pair{"learner", ConfChangeType::AddLearnerNode}}) {
        if (!d.has(key)) continue;
        for (const auto& v : d.values(key)) cc.changes.push_back(ConfChangeSingle{type, std::stoull(v)});
      }
      return check(n.raw().propose_conf_change("", cc));
    }
    if (d.cmd == "tick-heartbeat") {
      for (int i = 0; i < n.raw().raft().heartbeat_timeout(); ++i) n.raw().tick();
      return "ok";
    }
    if (d.cmd == "persist-late") {
      n.late = d.value("on", "true") == "true";
      return "ok";
    }
    if (d.cmd == "process-ready") {
      process_ready(d.number("id"));
      return out_.str();
    }
    if (d.cmd == "deliver-msgs") {
      deliver(d.number("id"));
      return out_.str();
    }
    if (d.cmd == "complete-write") {
      if (!n.complete_write()) out_ << "no write in flight\n";
      return out_.str();
    }
    throw std::runtime_error("unknown command " + d.cmd);
  }

 private:
  static std::string check(const Result<void>& r) { return r.ok() ? "ok" : "error: " + r.error().to_string(); }

  InteractionNode& node(NodeId id) {
    auto it = nodes_.find(id);
    if (it == nodes_.end()) throw std::runtime_error("no node " + std::to_string(id));
    return *it->second;
  }
  bool process_ready(NodeId id) {
    InteractionNode& n = node(id);
    if (!n.raw().has_ready()) return false;
    out_ << "> " << id << " handling Ready\n";
    if (!n.driver().handle_ready(n.raw())) throw std::runtime_error("write failed");
    return true;
  }
  bool deliver(NodeId id) {
    std::vector<Message> mine, rest;
    for (auto& m : wire_) (m.to == id ? mine : rest).push_back(std::move(m));
    wire_ = std::move(rest);
    if (mine.empty()) return false;
    out_ << "> " << id << " receiving messages\n";
    for (auto& m : mine) {
      out_ << "  " << describe(m) << "\n";
      (void)node(id).raw().step(std::move(m));
    }
    return true;
  }
  void stabilize() {
    for (int round = 0; round < 100; ++round) {
      bool busy = false;
      for (auto& [id, n] : nodes_) busy |= process_ready(id);
      for (auto& [id, n] : nodes_) busy |= deliver(id);
      if (!busy) return;
    }
    throw std::runtime_error("did not stabilize in 100 rounds");
  }

  std::map<NodeId, std::unique_ptr<InteractionNode>> nodes_;
  ConfState initial_;
  std::vector<Message> wire_;
  std::ostringstream out_;
};

}  // namespace

TEST_CASE("datadriven: quorum arithmetic (testdata/quorum)", "[raft][datadriven]") {
  run_dir("quorum", quorum);
}

TEST_CASE("datadriven: interactions through the Ready driver (testdata/interaction)", "[raft][datadriven]") {
  test::use_throwing_panics();
  for (const auto& f : datadriven::files_in(kTestData + "interaction")) {
    INFO(f);
    Interaction it;  // a fresh cluster per file
    for (const auto& failure : datadriven::run_file(f, [&](const datadriven::Directive& d) { return it.handle(d); }))
      FAIL_CHECK(failure);
  }
}
