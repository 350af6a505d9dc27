// Bad input against running nodes, beyond tests/integration/bad_input_test.cc (which sends raw
// garbage, truncated and oversized frames and a forged other-cluster heartbeat): here the
// frames are well-formed envelopes with random fields (every remote message type, random
// terms, indexes, entries, snapshots), sent from unknown node ids, to the wrong node id, of
// another cluster, or damaged after encoding; and random well-formed client requests (every
// kind but membership changes, which a legitimate client may make) plus damaged ones. After
// the barrage every node must still run and serve, the cluster must accept writes, and every
// write acknowledged before it must still be there.
#include <catch2/catch.hpp>

#include <random>
#include <thread>

#include "tests/integration/cluster_harness.h"
#include "transport/client_codec.h"
#include "transport/codec.h"

using namespace std::chrono_literals;

namespace {

class Sender {
 public:
  Sender(zmq::context_t& ctx, const std::string& endpoint, const std::string& routing_id)
      : s_(ctx, zmq::socket_type::dealer) {
    s_.set(zmq::sockopt::linger, 3000);
    s_.set(zmq::sockopt::sndhwm, 100000);
    if (!routing_id.empty()) s_.set(zmq::sockopt::routing_id, routing_id);
    s_.connect(endpoint);
  }
  void send(const std::string& frame) { (void)s_.send(zmq::buffer(frame), zmq::send_flags::none); }
  zmq::socket_t& socket() { return s_; }

 private:
  zmq::socket_t s_;
};

class Random {
 public:
  explicit Random(uint64_t seed) : rng_(seed) {}
  uint64_t u64() {
    // Mostly small numbers (plausible), sometimes anything (extremes).
    switch (rng_() % 4) {
      case 0: return rng_();
      case 1: return rng_() % 3;
      default: return rng_() % 1000;
    }
  }
  bool coin() { return rng_() % 2 == 0; }
  size_t below(size_t n) { return static_cast<size_t>(rng_() % n); }
  std::string bytes(size_t max) {
    std::string s(below(max + 1), '\0');
    for (auto& c : s) c = static_cast<char>(rng_());
    return s;
  }

  raft::Message message(uint64_t from, uint64_t to) {
    raft::Message m;
    do {
      m.msg_type = static_cast<raft::MessageType>(below(raft::kMessageTypeCount));
    } while (raft::is_local_msg(m.msg_type));
    m.from = from;
    m.to = to;
    m.term = u64();
    m.log_term = u64();
    m.index = u64();
    m.commit = u64();
    const size_t n = below(4);
    for (size_t i = 0; i < n; ++i)
      m.entries.push_back({coin() ? raft::EntryType::Normal : raft::EntryType::ConfChange, u64(), u64(), bytes(40), bytes(8)});
    if (m.msg_type == raft::MessageType::MsgSnapshot || below(8) == 0) {
      m.snapshot.data = bytes(64);
      m.snapshot.metadata.index = u64();
      m.snapshot.metadata.term = u64();
      m.snapshot.metadata.conf_state.voters = {u64(), u64()};
    }
    m.reject = coin();
    m.reject_hint = u64();
    m.context = bytes(8);
    return m;
  }

  transport::ClientRequest request() {
    transport::ClientRequest r;
    static const transport::RequestKind kinds[] = {transport::RequestKind::Put, transport::RequestKind::Get,
                                                   transport::RequestKind::Del, transport::RequestKind::Cas,
                                                   transport::RequestKind::Status,
                                                   transport::RequestKind::TransferLeader};
    r.kind = kinds[below(std::size(kinds))];
    r.request_id = u64();
    r.client_id = u64();
    r.seq = u64();
    // Random writes stay in their own key space: the acknowledged keys must survive intact.
    r.key = "fz/" + bytes(6);
    r.value = bytes(40);
    r.expected = bytes(4);
    r.expected_absent = coin();
    r.serializable = coin();
    r.target = 100 + below(1000);  // never a member: a transfer to it must be refused
    return r;
  }

  std::string damage(std::string s) {
    if (s.empty()) return s;
    switch (below(3)) {
      case 0: s.resize(below(s.size())); break;
      case 1: s[below(s.size())] = static_cast<char>(rng_()); break;
      default: s += bytes(16); break;
    }
    return s;
  }

 private:
  std::mt19937_64 rng_;
};

}  // namespace

TEST_CASE("random well-formed peer messages and client requests from strangers leave the cluster serving",
          "[chaos][bad_input]") {
  harness::Cluster c("hostile-peers", 3, 26400);
  c.start_all();
  REQUIRE(c.wait_for_leader(30 * c.election_timeout()));

  client::Client cl(c.zmq_context(), c.client_options(10s));
  for (int i = 0; i < 20; ++i) REQUIRE(cl.put("acked/" + std::to_string(i), "v" + std::to_string(i)).outcome == client::Outcome::Ok);

  Random rnd(Catch::rngSeed() ? Catch::rngSeed() : 7);
  for (auto id : c.ids()) {
    // Peer socket: from unknown ids (they claim to be node 100+), to wrong targets, of another
    // cluster, and damaged after encoding.
    Sender peer(c.zmq_context(), c.raft_address(id), "stranger");
    for (int i = 0; i < 600; ++i) {
      const uint64_t stranger = 100 + rnd.below(1000);
      switch (i % 4) {
        case 0: peer.send(transport::encode_message("it", rnd.message(stranger, id))); break;
        case 1: peer.send(transport::encode_message("it", rnd.message(stranger, id + 10))); break;
        case 2: peer.send(transport::encode_message("other-" + rnd.bytes(3), rnd.message(1 + rnd.below(3), id))); break;
        default: peer.send(rnd.damage(transport::encode_message("it", rnd.message(stranger, id)))); break;
      }
    }
    // Client socket: random requests and damaged ones; replies are read and ignored.
    Sender cli(c.zmq_context(), c.client_address(id), "");
    for (int i = 0; i < 300; ++i) {
      const std::string req = transport::encode_request(rnd.request());
      cli.send(i % 3 == 2 ? rnd.damage(req) : req);
    }
    // Give the node time to chew, draining replies so that nothing queues up here.
    const auto until = std::chrono::steady_clock::now() + 3s;
    while (std::chrono::steady_clock::now() < until) {
      zmq::message_t m;
      if (!cli.socket().recv(m, zmq::recv_flags::dontwait)) std::this_thread::sleep_for(10ms);
    }
  }

  for (auto id : c.ids()) {
    CAPTURE(id);
    REQUIRE(c.running(id));
  }
  auto leader = c.wait_for_leader(30 * c.election_timeout());
  REQUIRE(leader.has_value());
  REQUIRE(cl.put("after", "barrage").outcome == client::Outcome::Ok);
  for (int i = 0; i < 20; ++i) {
    auto r = cl.get("acked/" + std::to_string(i), false);
    REQUIRE(r.outcome == client::Outcome::Ok);
    CHECK(r.value == "v" + std::to_string(i));
  }
  // Every member answers and none adopted a stranger as leader or member.
  auto st = c.statuses(1s);
  CHECK(st.size() == 3);
  for (auto& [id, s] : st) {
    CAPTURE(id);
    CHECK(s.leader <= 3);
    CHECK(s.voters.size() == 3);
    for (auto v : s.voters) CHECK(v <= 3);
  }
}

// The minimal forms of what the barrage above found: one forged message from a node id that is
// not a member must change nothing (the transport checks the cluster id and the target; the
// sender must be checked against the membership too, before the message reaches Raft).
TEST_CASE("a single message from an unknown node id changes nothing", "[chaos][bad_input]") {
  harness::Cluster c("stranger", 3, 26500);
  c.start_all();
  auto leader = c.wait_for_leader(30 * c.election_timeout());
  REQUIRE(leader.has_value());
  const uint64_t follower = *leader == 1 ? 2 : 1;
  auto before = c.statuses(1s);
  REQUIRE(before.count(follower));
  const auto term = before[follower].term;
  const auto last = before[follower].last_index;
  raft::Message m;
  m.from = 99;  // not a member
  m.to = follower;
  m.term = term + 5;
  std::string what;
  SECTION("a heartbeat of a higher term with a commit index beyond the follower's log") {
    what = "heartbeat";
    m.msg_type = raft::MessageType::MsgHeartbeat;
    m.commit = last + 1000;
  }
  SECTION("a snapshot of a higher term") {
    what = "snapshot";
    m.msg_type = raft::MessageType::MsgSnapshot;
    m.snapshot.data = "not a kv snapshot";
    m.snapshot.metadata.index = last + 1000;
    m.snapshot.metadata.term = term + 5;
    m.snapshot.metadata.conf_state.voters = {99};
  }
  SECTION("a TimeoutNow (forced election)") {
    what = "timeout-now";
    m.msg_type = raft::MessageType::MsgTimeoutNow;
    m.term = term;
  }
  INFO("forged " << what << " from node 99 to node " << follower << " at term " << m.term);
  {
    Sender s(c.zmq_context(), c.raft_address(follower), "stranger");
    s.send(transport::encode_message("it", m));
  }
  // Watched for several election timeouts: the forged message must have no effect at all.
  const bool disturbed = harness::wait_until(
      [&] {
        if (!c.running(follower)) return true;
        auto st = c.statuses(500ms);
        return st.count(follower) && (st[follower].term >= term + 5 || st[follower].leader == 99);
      },
      5 * c.election_timeout());
  CHECK_FALSE(disturbed);
  REQUIRE(c.running(follower));
  auto after = c.statuses(1s);
  REQUIRE(after.count(follower));
  CHECK(after[follower].term < term + 5);
  CHECK(after[follower].leader != 99);
  client::Client cl(c.zmq_context(), c.client_options(10s));
  CHECK(cl.put("after", what).outcome == client::Outcome::Ok);
}
