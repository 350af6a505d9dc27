// PeerTransport with CURVE: key holders exchange messages; a key not in keys_dir and a plain
// socket get nothing through; the ZAP authenticator picks up a key added later.
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <thread>

#include "tests/unit/transport/test_messages.h"
#include "transport/codec.h"
#include "transport/curve_keys.h"
#include "transport/peer_transport.h"
#include "transport/zap_authenticator.h"

using namespace std::chrono_literals;
using transport::PeerTransport;
using transport::PeerTransportOptions;
using transport_test::small_message;

namespace {

using Clock = std::chrono::steady_clock;
const std::string kCluster = "demo";
const std::string kAnyPort = "tcp://127.0.0.1:*";

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/raftkv-curve-XXXXXX";
    REQUIRE(mkdtemp(tmpl));
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

void make_keys(const std::string& dir, raft::NodeId id) {
  auto p = transport::generate_key_pair();
  REQUIRE(std::holds_alternative<transport::CurveKeyPair>(p));
  auto w = transport::write_key_pair(dir, transport::node_key_name(id), std::get<transport::CurveKeyPair>(p), "t");
  REQUIRE(std::holds_alternative<std::monostate>(w));
}

void copy_pub(const std::string& from, const std::string& to, raft::NodeId id) {
  const std::string name = "/" + transport::node_key_name(id) + ".pub";
  std::filesystem::copy_file(from + name, to + name, std::filesystem::copy_options::overwrite_existing);
}

std::unique_ptr<PeerTransport> curve_transport(zmq::context_t& ctx, raft::NodeId id, const std::string& keys_dir) {
  return std::make_unique<PeerTransport>(ctx, id, kCluster, kAnyPort, PeerTransportOptions::with_curve(true, keys_dir));
}

// Sends from `a` to `b` every 50 ms until `b` receives something or `timeout` passes.
bool gets_through(PeerTransport& a, PeerTransport& b, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  std::vector<raft::Message> got;
  while (Clock::now() < deadline) {
    a.send(small_message(a.self(), b.self(), 0));
    const auto until = std::min(deadline, Clock::now() + 50ms);
    while (Clock::now() < until) {
      zmq::pollitem_t items[] = {{b.socket().handle(), 0, ZMQ_POLLIN, 0}};
      zmq::poll(items, 1, 10ms);
      b.receive_all(got);
      if (!got.empty()) return true;
    }
  }
  return false;
}

}  // namespace

TEST_CASE("CURVE peers with keys in keys_dir exchange messages both ways", "[curve_transport]") {
  TempDir keys;
  make_keys(keys.path, 1);
  make_keys(keys.path, 2);
  zmq::context_t ctx(1);
  auto a = curve_transport(ctx, 1, keys.path);
  auto b = curve_transport(ctx, 2, keys.path);
  a->set_peer(2, b->bound_endpoint());
  b->set_peer(1, a->bound_endpoint());
  REQUIRE(a->has_peer(2));
  REQUIRE(gets_through(*a, *b, 5s));
  REQUIRE(gets_through(*b, *a, 5s));
}

TEST_CASE("a CURVE peer whose key is not in keys_dir is refused until its .pub is added", "[curve_transport]") {
  TempDir keys, outsider_keys;
  make_keys(keys.path, 1);
  make_keys(outsider_keys.path, 3);
  copy_pub(keys.path, outsider_keys.path, 1);  // the outsider knows node 1's public key
  zmq::context_t ctx(1);
  auto zap = transport::ZapAuthenticator::for_context(ctx);
  auto a = curve_transport(ctx, 1, keys.path);
  auto outsider = curve_transport(ctx, 3, outsider_keys.path);
  const auto refused_before = zap->counts().refused;
  outsider->set_peer(1, a->bound_endpoint());
  REQUIRE(outsider->has_peer(1));
  REQUIRE_FALSE(gets_through(*outsider, *a, 1500ms));
  REQUIRE(zap->counts().refused > refused_before);  // refused by the authenticator, not lost
  REQUIRE(a->stats().received == 0);

  // Once its public key is in node 1's keys_dir, the next handshake (after the rescan
  // interval) is admitted without restarting node 1.
  copy_pub(outsider_keys.path, keys.path, 3);
  REQUIRE(gets_through(*outsider, *a, 10s));
}

TEST_CASE("a CURVE peer whose .pub is deleted from keys_dir is refused from its next handshake", "[curve_transport]") {
  TempDir keys, member_keys;
  make_keys(keys.path, 1);
  make_keys(member_keys.path, 3);
  copy_pub(keys.path, member_keys.path, 1);
  copy_pub(member_keys.path, keys.path, 3);
  zmq::context_t ctx(1);
  auto zap = transport::ZapAuthenticator::for_context(ctx);
  auto a = curve_transport(ctx, 1, keys.path);
  auto member = curve_transport(ctx, 3, member_keys.path);
  member->set_peer(1, a->bound_endpoint());
  REQUIRE(gets_through(*member, *a, 5s));

  // Revoked: its .pub leaves node 1's keys_dir. The next connection, made after the rescan
  // interval, is refused by the authenticator without restarting node 1.
  std::filesystem::remove(keys.path + "/" + transport::node_key_name(3) + ".pub");
  const auto refused_before = zap->counts().refused;
  // Not a synchronisation: the authenticator's cache must be older than the interval.
  std::this_thread::sleep_for(transport::ZapAuthenticator::kRescanInterval + 100ms);
  member->remove_peer(1);
  member->set_peer(1, a->bound_endpoint());
  const auto received_before = a->stats().received;
  REQUIRE_FALSE(gets_through(*member, *a, 1500ms));
  CHECK(zap->counts().refused > refused_before);
  CHECK(a->stats().received == received_before);
}

TEST_CASE("a peer without the server's public key is absent and says why", "[curve_transport]") {
  TempDir keys;
  make_keys(keys.path, 1);
  zmq::context_t ctx(1);
  auto a = curve_transport(ctx, 1, keys.path);
  a->set_peer(9, "tcp://127.0.0.1:1");
  REQUIRE_FALSE(a->has_peer(9));
  REQUIRE(a->last_problem().find("node-9.pub") != std::string::npos);
}

TEST_CASE("a plain DEALER frame reaches a plain PeerTransport but not a CURVE one", "[curve_transport]") {
  TempDir keys;
  make_keys(keys.path, 1);
  zmq::context_t ctx(1);
  auto secure = curve_transport(ctx, 1, keys.path);
  PeerTransport plain(ctx, 1, kCluster, kAnyPort);
  auto deliveries = [&](PeerTransport& target) {
    zmq::socket_t d(ctx, zmq::socket_type::dealer);
    d.set(zmq::sockopt::linger, 0);
    d.set(zmq::sockopt::routing_id, "2");
    d.connect(target.bound_endpoint());
    const std::string frame = transport::encode_message(kCluster, small_message(2, 1, 0));
    std::vector<raft::Message> got;
    const auto deadline = Clock::now() + 1500ms;
    while (Clock::now() < deadline && got.empty()) {
      (void)d.send(zmq::buffer(frame), zmq::send_flags::dontwait);
      zmq::pollitem_t items[] = {{target.socket().handle(), 0, ZMQ_POLLIN, 0}};
      zmq::poll(items, 1, 50ms);
      target.receive_all(got);
    }
    return got.size();
  };
  REQUIRE(deliveries(plain) > 0);  // the same frame is well-formed
  REQUIRE(deliveries(*secure) == 0);
}

TEST_CASE("a missing or exposed node key stops the transport with the file named", "[curve_transport]") {
  TempDir keys;
  zmq::context_t ctx(1);
  REQUIRE_THROWS_WITH(curve_transport(ctx, 1, keys.path), Catch::Contains("node-1.key: no such key file"));
  make_keys(keys.path, 1);
  REQUIRE(::chmod((keys.path + "/node-1.key").c_str(), 0644) == 0);
  REQUIRE_THROWS_WITH(curve_transport(ctx, 1, keys.path), Catch::Contains("accessible by group or others"));
}
