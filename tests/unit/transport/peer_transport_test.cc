#include "transport/peer_transport.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <random>

#include "tests/unit/transport/test_messages.h"
#include "transport/codec.h"

using namespace std::chrono_literals;
using transport::PeerTransport;
using transport_test::small_message;

namespace {

using Clock = std::chrono::steady_clock;
const std::string kCluster = "demo";
const std::string kAnyPort = "tcp://127.0.0.1:*";

// Polls `t` and collects what arrives until `done()` holds or `timeout` passes.
bool pump_until(PeerTransport& t, std::vector<raft::Message>& out, const std::function<bool()>& done,
                std::chrono::milliseconds timeout = 5000ms) {
  const auto deadline = Clock::now() + timeout;
  while (!done()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left <= 0ms) return false;
    zmq::pollitem_t items[] = {{t.socket().handle(), 0, ZMQ_POLLIN, 0}};
    zmq::poll(items, 1, std::min(left, 20ms));
    t.receive_all(out);
  }
  return true;
}

// Sends heartbeats from `a` to `b_id` until `b` receives one: connections are established
// asynchronously and, with ZMQ_IMMEDIATE, sends before that are dropped.
bool connect_through(PeerTransport& a, PeerTransport& b, std::vector<raft::Message>& got,
                     std::chrono::milliseconds timeout = 5000ms) {
  const auto deadline = Clock::now() + timeout;
  const size_t before = got.size();
  while (Clock::now() < deadline) {
    a.send(small_message(a.self(), b.self(), 0));
    if (pump_until(b, got, [&] { return got.size() > before; }, 50ms)) return true;
  }
  return false;
}

// Transport 1 sending to transport 2 on one context, already connected (a first message got
// through), with nothing received left over: the start of the fault-hook tests.
struct ConnectedPair {
  zmq::context_t ctx;
  PeerTransport a{ctx, 1, kCluster, kAnyPort};
  PeerTransport b{ctx, 2, kCluster, kAnyPort};
  std::vector<raft::Message> got;
  ConnectedPair() {
    a.set_peer(2, b.bound_endpoint());
    REQUIRE(connect_through(a, b, got));
    got.clear();
  }
};

// Binds a transport at a fixed endpoint, retrying while the port is still held by a socket
// that was just closed (ZeroMQ closes asynchronously).
std::unique_ptr<PeerTransport> bind_retry(zmq::context_t& ctx, raft::NodeId id, const std::string& endpoint) {
  const auto deadline = Clock::now() + 5s;
  while (true) {
    try {
      return std::make_unique<PeerTransport>(ctx, id, kCluster, endpoint);
    } catch (const std::runtime_error&) {
      if (Clock::now() > deadline) throw;
      zmq::pollitem_t none[] = {{nullptr, -1, 0, 0}};  // a bounded pause between attempts
      zmq::poll(none, 0, 20ms);
    }
  }
}

}  // namespace

TEST_CASE("two transports exchange messages in order", "[peer_transport]") {
  zmq::context_t ctx;
  PeerTransport a(ctx, 1, kCluster, kAnyPort);
  PeerTransport b(ctx, 2, kCluster, kAnyPort);
  CHECK(a.bound_endpoint().rfind("tcp://127.0.0.1:", 0) == 0);
  CHECK(a.bound_endpoint() != kAnyPort);
  a.set_peer(2, b.bound_endpoint());
  b.set_peer(1, a.bound_endpoint());
  CHECK(a.has_peer(2));
  CHECK_FALSE(a.has_peer(3));

  std::vector<raft::Message> at_b, at_a;
  REQUIRE(connect_through(a, b, at_b));
  at_b.clear();
  std::vector<raft::Message> sent;
  for (int i = 0; i < 100; ++i) {
    raft::Message m = transport_test::rich_message(raft::MessageType::MsgAppend);
    m.from = 1;
    m.to = 2;
    m.index = static_cast<raft::Index>(i);
    REQUIRE(a.send(m));
    sent.push_back(m);
  }
  REQUIRE(pump_until(b, at_b, [&] { return at_b.size() >= sent.size(); }));
  CHECK(at_b == sent);

  REQUIRE(connect_through(b, a, at_a));
  CHECK(at_a.back().from == 2);
  CHECK(at_a.back().to == 1);
  CHECK(b.stats().received >= 101);
  CHECK(b.stats().dropped_decode == 0);
}

TEST_CASE("binding a port in use throws a clear error", "[peer_transport]") {
  zmq::context_t ctx;
  PeerTransport a(ctx, 1, kCluster, kAnyPort);
  try {
    PeerTransport b(ctx, 2, kCluster, a.bound_endpoint());
    FAIL("binding the same endpoint twice succeeded");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()).find(a.bound_endpoint()) != std::string::npos);
  }
}

TEST_CASE("garbage frames from a raw dealer are dropped and counted, and the transport keeps working",
          "[peer_transport]") {
  zmq::context_t ctx;
  PeerTransport a(ctx, 1, kCluster, kAnyPort);
  PeerTransport b(ctx, 2, kCluster, kAnyPort);
  a.set_peer(2, b.bound_endpoint());

  zmq::socket_t raw(ctx, zmq::socket_type::dealer);
  raw.set(zmq::sockopt::linger, 0);
  raw.connect(b.bound_endpoint());
  std::mt19937_64 rng(5);
  int garbage = 0;
  for (int i = 0; i < 200; ++i) {
    std::string junk(rng() % 300, '\0');
    for (char& c : junk) c = static_cast<char>(rng());
    (void)raw.send(zmq::buffer(junk), zmq::send_flags::none);
    ++garbage;
  }
  (void)raw.send(zmq::str_buffer(""), zmq::send_flags::none);  // empty frame
  ++garbage;
  (void)raw.send(zmq::str_buffer("a"), zmq::send_flags::sndmore);  // three-part message
  (void)raw.send(zmq::str_buffer("b"), zmq::send_flags::sndmore);
  (void)raw.send(zmq::str_buffer("c"), zmq::send_flags::none);
  ++garbage;
  raft::Message hup = small_message(7, 2, 0);
  hup.msg_type = raft::MessageType::MsgHup;  // local-only: must not be accepted from the network
  (void)raw.send(zmq::buffer(transport::encode_message(kCluster, hup)), zmq::send_flags::none);
  ++garbage;

  std::vector<raft::Message> got;
  REQUIRE(pump_until(b, got, [&] { return b.stats().dropped_decode >= static_cast<uint64_t>(garbage); }));
  CHECK(got.empty());
  CHECK(b.stats().dropped_decode == static_cast<uint64_t>(garbage));
  CHECK_FALSE(b.last_problem().empty());

  // An oversized frame makes ZeroMQ drop that connection (ZMQ_MAXMSGSIZE); others are unaffected.
  zmq::socket_t big(ctx, zmq::socket_type::dealer);
  big.set(zmq::sockopt::linger, 0);
  big.connect(b.bound_endpoint());
  (void)big.send(zmq::buffer(std::string(transport::kMaxFrameBytes + 1, 'x')), zmq::send_flags::none);

  REQUIRE(connect_through(a, b, got));
  CHECK(got.back().from == 1);
}

TEST_CASE("messages of another cluster and for another node are dropped and counted", "[peer_transport]") {
  zmq::context_t ctx;
  PeerTransport b(ctx, 2, kCluster, kAnyPort);
  PeerTransport stranger(ctx, 3, "other", kAnyPort);
  PeerTransport confused(ctx, 4, kCluster, kAnyPort);
  PeerTransport a(ctx, 1, kCluster, kAnyPort);
  stranger.set_peer(2, b.bound_endpoint());
  confused.set_peer(7, b.bound_endpoint());  // believes node 7 lives at b's address
  a.set_peer(2, b.bound_endpoint());

  std::vector<raft::Message> got;
  const bool dropped = pump_until(b, got, [&] {
    stranger.send(small_message(3, 2, 0));
    confused.send(small_message(4, 7, 0));
    return b.stats().dropped_wrong_cluster > 0 && b.stats().dropped_wrong_target > 0;
  });
  REQUIRE(dropped);
  CHECK(got.empty());
  CHECK(b.stats().received == 0);
  REQUIRE(connect_through(a, b, got));  // the right cluster and target still get through
}

TEST_CASE("a peer that is down does not block send", "[peer_transport]") {
  zmq::context_t ctx;
  // A loopback port where nothing listens: taken from the kernel by a plain socket that never
  // listens and is closed at once. (A closed ZMQ ROUTER is no good here: libzmq closes its
  // listener asynchronously, so a quick connect may still be accepted.)
  std::string dead_endpoint;
  {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    ::close(fd);
    dead_endpoint = "tcp://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  }
  PeerTransport a(ctx, 1, kCluster, kAnyPort);
  a.set_peer(9, dead_endpoint);
  const auto start = Clock::now();
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) accepted += a.send(small_message(1, 9, i)) ? 1 : 0;
  CHECK(Clock::now() - start < 2s);
  CHECK(accepted == 0);  // ZMQ_IMMEDIATE: nothing is queued for an unconnected peer
  CHECK(a.stats().dropped_send == 20000);
  CHECK_FALSE(a.send(small_message(1, 4, 0)));  // unknown peer
  CHECK(a.stats().dropped_send == 20001);
}

TEST_CASE("the queue to a connected peer that does not read is bounded", "[peer_transport]") {
  zmq::context_t ctx;
  zmq::socket_t sink(ctx, zmq::socket_type::router);  // accepts, never reads
  sink.set(zmq::sockopt::linger, 0);
  sink.set(zmq::sockopt::rcvhwm, 10);
  sink.bind(kAnyPort);
  const std::string sink_endpoint = sink.get(zmq::sockopt::last_endpoint);

  transport::PeerTransportOptions options;
  options.send_hwm = 100;
  PeerTransport a(ctx, 1, kCluster, kAnyPort, options);
  a.set_peer(2, sink_endpoint);
  raft::Message m = small_message(1, 2, 0);
  m.msg_type = raft::MessageType::MsgAppend;
  m.entries.push_back(transport_test::entry(1, 1, std::string(8192, 'p')));

  // Until the connection is up every send is refused; then the queue fills and sends are
  // refused again, and stay refused while ZeroMQ moves what it can into the kernel's buffers.
  const auto deadline = Clock::now() + 20s;
  bool connected = false;
  int refused_in_a_row = 0;
  uint64_t accepted = 0;
  while (Clock::now() < deadline && refused_in_a_row < 200) {
    const bool ok = a.send(m);
    accepted += ok ? 1 : 0;
    connected = connected || ok;
    refused_in_a_row = connected && !ok ? refused_in_a_row + 1 : 0;
    if (!ok) {
      zmq::pollitem_t none[] = {{nullptr, -1, 0, 0}};  // give the I/O thread time to drain
      zmq::poll(none, 0, 1ms);
    }
  }
  REQUIRE(connected);
  CHECK(refused_in_a_row == 200);
  // HWMs plus the kernel's socket buffers: far less than what an unbounded queue would take.
  CHECK(accepted < 20000);
  WARN("accepted " << accepted << " messages of 8 KiB before the queue stayed full");
}

TEST_CASE("a restarted peer with the same id gets messages again", "[peer_transport]") {
  zmq::context_t ctx;
  auto a = std::make_unique<PeerTransport>(ctx, 1, kCluster, kAnyPort);
  auto b = std::make_unique<PeerTransport>(ctx, 2, kCluster, kAnyPort);
  const std::string b_endpoint = b->bound_endpoint();
  a->set_peer(2, b_endpoint);
  std::vector<raft::Message> got;
  REQUIRE(connect_through(*a, *b, got));

  SECTION("the receiver restarts at the same address") {
    b.reset();
    b = bind_retry(ctx, 2, b_endpoint);
    got.clear();
    REQUIRE(connect_through(*a, *b, got, 10000ms));
    CHECK(got.back().from == 1);
  }
  SECTION("a second sender with the same routing id takes over (router handover)") {
    // The old sender is still connected, as a crashed process can be until heartbeats expire.
    PeerTransport a2(ctx, 1, kCluster, kAnyPort);
    a2.set_peer(2, b_endpoint);
    got.clear();
    REQUIRE(connect_through(a2, *b, got));
    CHECK(got.back().from == 1);
  }
}

TEST_CASE("the drop-rate hook loses messages silently and can be turned off", "[peer_transport]") {
  ConnectedPair pair;
  PeerTransport& a = pair.a;
  PeerTransport& b = pair.b;
  std::vector<raft::Message>& got = pair.got;
  a.set_drop_rate(1.0, 1);
  for (int i = 0; i < 50; ++i) CHECK(a.send(small_message(1, 2, 1000 + i)));
  CHECK(a.stats().dropped_fault == 50);
  a.set_drop_rate(0, 1);
  raft::Message marker = small_message(1, 2, 4242);
  REQUIRE(a.send(marker));
  REQUIRE(pump_until(b, got, [&] { return !got.empty(); }));
  REQUIRE(got.size() == 1);  // one connection is FIFO: nothing dropped arrived before the marker
  CHECK(got[0] == marker);
}

TEST_CASE("set_peer with a malformed endpoint does not throw and adds no peer", "[peer_transport]") {
  zmq::context_t ctx;
  PeerTransport a(ctx, 1, kCluster, kAnyPort);
  a.set_peer(3, "nonsense://x");
  CHECK_FALSE(a.has_peer(3));
  CHECK(a.last_problem().find("peer 3") != std::string::npos);
  a.set_peer(3, "tcp://127.0.0.1:1");
  CHECK(a.has_peer(3));
  a.remove_peer(3);
  CHECK_FALSE(a.has_peer(3));
}

TEST_CASE("the delay hook holds messages until they are due, delivers them all and reorders them",
          "[peer_transport]") {
  ConnectedPair pair;
  PeerTransport& a = pair.a;
  PeerTransport& b = pair.b;
  std::vector<raft::Message>& got = pair.got;
  a.set_delay(30ms);
  const auto sent_at = Clock::now();
  for (int i = 0; i < 100; ++i) REQUIRE(a.send(small_message(1, 2, 1000 + i)));
  REQUIRE(a.next_delayed_due().has_value());
  CHECK(*a.next_delayed_due() <= sent_at + 31ms);
  // Nothing leaves before it is flushed (even when due), then everything does.
  CHECK_FALSE(pump_until(b, got, [&] { return !got.empty(); }, 50ms));
  const uint64_t sent_before = a.stats().sent;
  REQUIRE(pump_until(b, got, [&] { return a.flush_delayed() == 0 && got.size() == 100; }));
  CHECK(a.stats().sent == sent_before + 100);
  std::vector<raft::Index> order;
  for (auto& m : got) order.push_back(m.commit);
  // Independent random delays: 100 messages arriving in sending order would be a 1-in-100!
  // coincidence.
  CHECK_FALSE(std::is_sorted(order.begin(), order.end()));
  std::sort(order.begin(), order.end());
  for (int i = 0; i < 100; ++i) CHECK(order[i] == raft::Index(1000 + i));
  // Off again: the next message leaves at once.
  a.set_delay(0ms);
  got.clear();
  REQUIRE(a.send(small_message(1, 2, 7)));
  CHECK_FALSE(a.next_delayed_due().has_value());
  REQUIRE(pump_until(b, got, [&] { return !got.empty(); }));
  CHECK(got[0].commit == 7);
}
