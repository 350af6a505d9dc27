// raft::ReadyDriver, the one Ready loop: the order of its calls into the DurableLog, the
// Outbox and the Applier, the commit index that rides on the next write, and writes that
// complete later than the Ready that asked for them.
#include <catch2/catch.hpp>

#include <deque>
#include <string>
#include <vector>

#include "raft/ready_driver.h"
#include "tests/unit/raft/test_util.h"

using namespace raft;
using namespace raft::test;

namespace {
using MT = MessageType;

// Records every call as one line, e.g. "send MsgAppendResponse->1", "write 1e hs(t2,c3)",
// "apply 3..4", "restore 5", "reads 1". Writes go to a MemStorage, at once or (late) when
// complete() is called.
class Recorder final : public DurableLog, public Outbox, public Applier {
 public:
  explicit Recorder(MemStorage& store) : store_(store) {}
  WriteOutcome write(const WriteRequest& w) override {
    std::string line = "write " + std::to_string(w.entries->size()) + "e";
    if (w.snapshot) line += " snap" + std::to_string(w.snapshot->metadata.index);
    if (w.hard_state) line += " hs(t" + std::to_string(w.hard_state->term) + ",c" + std::to_string(w.hard_state->commit) + ")";
    log.push_back(line);
    Write copy{w.snapshot ? std::optional<Snapshot>(*w.snapshot) : std::nullopt, *w.entries, w.hard_state};
    if (late) {
      in_flight.push_back(std::move(copy));
      return WriteOutcome::Pending;
    }
    persist(copy);
    return WriteOutcome::Done;
  }
  void send(std::vector<Message>& msgs) override {
    for (auto& m : msgs) {
      log.push_back("send " + std::string(to_string(m.msg_type)) + "->" + std::to_string(m.to));
      sent.push_back(std::move(m));
    }
    msgs.clear();
  }
  void restore(const Snapshot& snap) override { log.push_back("restore " + std::to_string(snap.metadata.index)); }
  void apply(std::vector<Entry>& es) override {
    log.push_back("apply " + std::to_string(es.front().index) + ".." + std::to_string(es.back().index));
    for (const auto& e : es) applied.push_back(e.index);
  }
  void read_states(std::vector<ReadState>& rs) override {
    if (!rs.empty()) log.push_back("reads " + std::to_string(rs.size()));
  }
  // Makes the oldest write in flight durable and reports it.
  void complete(ReadyDriver& d, RawNode& n) {
    REQUIRE(!in_flight.empty());
    persist(in_flight.front());
    in_flight.pop_front();
    d.on_write_done(n);
  }
  bool logged(const std::string& line) const { return std::find(log.begin(), log.end(), line) != log.end(); }
  size_t position(const std::string& prefix) const {
    for (size_t i = 0; i < log.size(); ++i)
      if (log[i].rfind(prefix, 0) == 0) return i;
    return log.size();
  }

  bool late = false;
  std::vector<std::string> log;
  std::vector<Message> sent;
  std::vector<Index> applied;
  struct Write {
    std::optional<Snapshot> snapshot;
    std::vector<Entry> entries;
    std::optional<HardState> hard_state;
  };
  std::deque<Write> in_flight;

 private:
  void persist(const Write& w) {
    if (w.snapshot) REQUIRE(store_.apply_snapshot(*w.snapshot).ok());
    store_.append(w.entries);
    if (w.hard_state) store_.set_hard_state(*w.hard_state);
  }
  MemStorage& store_;
};

struct DriverNode {
  MemStorage store;
  std::unique_ptr<RawNode> raw;
  Recorder rec{store};
  ReadyDriver driver{rec, rec, rec};
  DriverNode(NodeId id, std::vector<NodeId> voters) : store(MemStorage::new_with_conf_state(ConfState{voters, {}, {}, {}, false})) {
    use_throwing_panics();
    auto n = RawNode::create(cfg(id), store);
    REQUIRE(n.ok());
    raw = std::move(*n);
    driver.reset(store.hard_state());
  }
  void run() {
    for (int i = 0; i < 20 && raw->has_ready(); ++i) REQUIRE(driver.handle_ready(*raw));
  }
};
}  // namespace

TEST_CASE("driver: a change of the commit index alone rides on the next write", "[raft][driver]") {
  DriverNode n(1, {1});
  REQUIRE(n.raw->campaign().ok());
  n.run();
  REQUIRE(n.raw->raft().state() == StateRole::Leader);
  const Index noop = n.raw->raft().raft_log().last_index();
  REQUIRE(n.raw->raft().raft_log().committed() == noop);
  // The no-op's commit came out of a LightReady: noted, not written on its own.
  CHECK(n.store.hard_state().commit < noop);
  CHECK(n.driver.commit_unwritten());
  CHECK(n.driver.hard_state().commit == noop);
  n.rec.log.clear();
  REQUIRE(n.raw->propose("", "a").ok());
  n.run();
  CHECK(n.rec.log.front() == "write 1e hs(t" + std::to_string(n.raw->raft().term()) + ",c" + std::to_string(noop) + ")");
  CHECK(n.store.hard_state().commit >= noop);
  CHECK(n.rec.applied.back() == noop + 1);
}

TEST_CASE("driver: committed entries are applied before the Ready's own write", "[raft][driver]") {
  DriverNode n(1, {1});
  REQUIRE(n.raw->campaign().ok());
  n.run();
  n.rec.late = true;
  REQUIRE(n.raw->propose("", "a").ok());
  n.run();  // "a" is being written
  REQUIRE(n.rec.in_flight.size() == 1);
  n.rec.complete(n.driver, *n.raw);  // "a" commits (a lone voter); its entry comes next Ready
  REQUIRE(n.raw->propose("", "b").ok());
  n.rec.log.clear();
  n.run();  // one Ready: committed ["a"], entries ["b"]
  const size_t apply_a = n.rec.position("apply");
  const size_t write_b = n.rec.position("write 1e");
  REQUIRE(apply_a < n.rec.log.size());
  REQUIRE(write_b < n.rec.log.size());
  CHECK(apply_a < write_b);
}

namespace {
// A leader (1) and a follower (2) through their drivers, with the leader elected.
struct Pair {
  DriverNode leader{1, {1, 2}};
  DriverNode follower{2, {1, 2}};
  Pair() {
    REQUIRE(leader.raw->campaign().ok());
    for (int i = 0; i < 10; ++i) exchange();
    REQUIRE(leader.raw->raft().state() == StateRole::Leader);
  }
  static void deliver(DriverNode& from, DriverNode& to) {
    auto msgs = std::exchange(from.rec.sent, {});
    for (auto& m : msgs)
      if (m.to == to.raw->raft().id()) (void)to.raw->step(std::move(m));
  }
  void exchange() {
    leader.run();
    deliver(leader, follower);
    follower.run();
    deliver(follower, leader);
  }
};
}  // namespace

TEST_CASE("driver: a write completing later holds back what it promises, in order", "[raft][driver]") {
  Pair p;
  DriverNode& follower = p.follower;
  follower.rec.late = true;
  REQUIRE(p.leader.raw->propose("", "a").ok());
  p.leader.run();
  Pair::deliver(p.leader, follower);
  follower.rec.log.clear();
  follower.run();
  REQUIRE(follower.rec.in_flight.size() == 1);
  REQUIRE(follower.driver.pending_writes() == 1);
  // The acknowledgement of "a" promises it is on disk: it waits for the write.
  CHECK_FALSE(follower.rec.logged("send MsgAppendResponse->1"));

  // A heartbeat taken meanwhile is answered only after the earlier write, never before it.
  p.leader.raw->tick();
  p.leader.raw->tick();
  p.leader.run();
  Pair::deliver(p.leader, follower);
  follower.run();
  CHECK_FALSE(follower.rec.logged("send MsgHeartbeatResponse->1"));

  follower.rec.complete(follower.driver, *follower.raw);
  CHECK(follower.driver.pending_writes() == 0);
  const size_t ack = follower.rec.position("send MsgAppendResponse->1");
  const size_t beat = follower.rec.position("send MsgHeartbeatResponse->1");
  CHECK(ack < beat);
  CHECK(beat < follower.rec.log.size());
  Pair::deliver(follower, p.leader);
  p.leader.run();
  CHECK(p.leader.raw->raft().raft_log().committed() == p.leader.raw->raft().raft_log().last_index());
}

TEST_CASE("driver: a leader sends new appends while its earlier write is in flight", "[raft][driver]") {
  Pair p;
  DriverNode& leader = p.leader;
  leader.rec.late = true;
  const Index before = leader.raw->raft().raft_log().committed();
  REQUIRE(leader.raw->propose("", "a").ok());
  leader.run();
  REQUIRE(leader.rec.in_flight.size() == 1);
  REQUIRE(leader.raw->propose("", "b").ok());
  leader.run();
  CHECK(leader.rec.in_flight.size() == 2);
  size_t appends = 0;
  for (const auto& m : leader.rec.sent) appends += m.msg_type == MT::MsgAppend ? 1 : 0;
  CHECK(appends == 2);  // "a" and "b" both left before either was on the leader's disk
  // The follower acknowledges both, but with two voters the leader's own copy is needed.
  Pair::deliver(leader, p.follower);
  p.follower.run();
  Pair::deliver(p.follower, leader);
  leader.run();
  CHECK(leader.raw->raft().raft_log().committed() == before);
  leader.rec.complete(leader.driver, *leader.raw);
  leader.rec.complete(leader.driver, *leader.raw);
  leader.run();
  CHECK(leader.raw->raft().raft_log().committed() == before + 2);
  CHECK(leader.rec.applied.back() == before + 2);
}

TEST_CASE("driver: a failed write stops the Ready before anything that needed it", "[raft][driver]") {
  struct Failing final : DurableLog {
    WriteOutcome write(const WriteRequest&) override { return WriteOutcome::Failed; }
  } failing;
  DriverNode n(1, {1});
  ReadyDriver d(failing, n.rec, n.rec);
  REQUIRE(n.raw->campaign().ok());
  REQUIRE(n.raw->has_ready());
  CHECK_FALSE(d.handle_ready(*n.raw));
  CHECK(n.rec.sent.empty());  // the vote for itself and the new term never left
}
