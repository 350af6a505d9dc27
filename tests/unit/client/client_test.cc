// The client library against scripted fake nodes (a ROUTER on loopback answering from a
// function): leader discovery, retries that keep the write's identity, and the mapping of
// every outcome to the exit codes of the README's raftctl reference.
#include <catch2/catch.hpp>

#include <atomic>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include "client/client.h"
#include "client/shell.h"

using namespace std::chrono_literals;
using transport::ClientReply;
using transport::ClientRequest;
using transport::ReplyCode;

namespace {

// A node that answers each request with handler(request) (no answer when nullopt) and
// records every request it received. Status requests (the client's leader discovery) are
// answered "no leader known" and neither recorded nor passed to the handler.
class FakeNode {
 public:
  using Handler = std::function<std::optional<ClientReply>(const ClientRequest&)>;
  explicit FakeNode(Handler h, raft::NodeId status_leader = 0, bool silent = false)
      : handler_(std::move(h)), status_leader_(status_leader), silent_(silent) {
    std::promise<std::string> bound;
    auto endpoint = bound.get_future();
    thread_ = std::thread([this, p = std::move(bound)]() mutable { loop(std::move(p)); });
    endpoint_ = endpoint.get();
  }
  ~FakeNode() {
    stop_ = true;
    thread_.join();
  }
  const std::string& endpoint() const { return endpoint_; }
  std::vector<ClientRequest> requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

 private:
  void loop(std::promise<std::string> bound) {
    zmq::context_t ctx(1);
    zmq::socket_t router(ctx, zmq::socket_type::router);
    router.set(zmq::sockopt::linger, 0);
    router.bind("tcp://127.0.0.1:*");
    bound.set_value(router.get(zmq::sockopt::last_endpoint));
    while (!stop_) {
      zmq::pollitem_t item{router.handle(), 0, ZMQ_POLLIN, 0};
      zmq::poll(&item, 1, 20ms);
      if (!(item.revents & ZMQ_POLLIN)) continue;
      zmq::message_t id, body;
      (void)router.recv(id);
      (void)router.recv(body);
      auto decoded = transport::decode_request(std::string_view(static_cast<const char*>(body.data()), body.size()));
      if (!std::holds_alternative<ClientRequest>(decoded)) continue;  // no Catch2 asserts off the main thread
      auto req = std::get<ClientRequest>(decoded);
      if (req.kind == transport::RequestKind::Status) {
        if (silent_) continue;
        ClientReply st;
        st.request_id = req.request_id;
        st.status.leader = status_leader_;
        const std::string bytes = transport::encode_reply(st);
        (void)router.send(id, zmq::send_flags::sndmore);
        (void)router.send(zmq::buffer(bytes));
        continue;
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        requests_.push_back(req);
      }
      auto reply = handler_(req);
      if (!reply) continue;
      reply->request_id = req.request_id;
      const std::string bytes = transport::encode_reply(*reply);
      (void)router.send(id, zmq::send_flags::sndmore);
      (void)router.send(zmq::buffer(bytes));
    }
  }

  Handler handler_;
  raft::NodeId status_leader_;
  bool silent_;
  std::string endpoint_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::vector<ClientRequest> requests_;
  std::thread thread_;
};

ClientReply reply(ReplyCode code, std::string value = "", raft::NodeId leader = 0, std::string leader_client = "") {
  ClientReply r;
  r.code = code;
  r.value = std::move(value);
  r.value_present = !r.value.empty();
  r.leader_id = leader;
  r.leader_client = std::move(leader_client);
  return r;
}

client::Options options(std::vector<client::Member> members, std::chrono::milliseconds timeout = 2s) {
  client::Options o;
  o.members = std::move(members);
  o.timeout = timeout;
  o.attempt_timeout = 200ms;
  return o;
}

}  // namespace

TEST_CASE("outcomes map to the design's exit codes", "[client]") {
  CHECK(client::exit_code(client::Outcome::Ok) == 0);
  CHECK(client::exit_code(client::Outcome::NotFound) == 1);
  CHECK(client::exit_code(client::Outcome::CasFailed) == 1);
  CHECK(client::exit_code(client::Outcome::Unknown) == 3);
  CHECK(client::exit_code(client::Outcome::Unavailable) == 3);
  CHECK(client::exit_code(client::Outcome::Rejected) == 4);
}

TEST_CASE("a write follows the NotLeader hint and keeps its client id and sequence number", "[client]") {
  FakeNode leader([](const ClientRequest&) { return reply(ReplyCode::Ok); });
  FakeNode follower([&](const ClientRequest&) { return reply(ReplyCode::NotLeader, "", 2, leader.endpoint()); });
  zmq::context_t ctx(1);
  // Node 2 is not in the client's list: it is reached through the hint's address.
  client::Client c(ctx, options({{1, follower.endpoint()}}));
  auto r = c.put("k", "v");
  REQUIRE(r.outcome == client::Outcome::Ok);
  CHECK(r.served_by == 2);
  auto f = follower.requests();
  auto l = leader.requests();
  REQUIRE(f.size() == 1);
  REQUIRE(l.size() == 1);
  CHECK(f[0].client_id == c.client_id());
  CHECK(l[0].client_id == c.client_id());
  CHECK(f[0].seq == l[0].seq);
  // The next write goes straight to the leader, with the next sequence number.
  REQUIRE(c.put("k", "w").outcome == client::Outcome::Ok);
  CHECK(follower.requests().size() == 1);
  CHECK(leader.requests().back().seq == l[0].seq + 1);
}

TEST_CASE("the leader is found by asking every member at once, not by trying them in turn", "[client]") {
  FakeNode dead([](const ClientRequest&) { return std::nullopt; }, 0, true);
  FakeNode follower([](const ClientRequest&) { return reply(ReplyCode::NotLeader, "", 3); }, 3);
  FakeNode leader([](const ClientRequest&) { return reply(ReplyCode::Ok); }, 3);
  zmq::context_t ctx(1);
  auto o = options({{1, dead.endpoint()}, {2, follower.endpoint()}, {3, leader.endpoint()}});
  o.attempt_timeout = 2s;  // trying the dead node 1 first would cost this much
  client::Client c(ctx, o);
  const auto t0 = std::chrono::steady_clock::now();
  auto r = c.put("k", "v");
  REQUIRE(r.outcome == client::Outcome::Ok);
  CHECK(r.served_by == 3);
  CHECK(std::chrono::steady_clock::now() - t0 < 1s);
  CHECK(dead.requests().empty());
  CHECK(follower.requests().empty());
}

TEST_CASE("a silent node is skipped and an Unknown answer is retried with the same sequence number", "[client]") {
  FakeNode silent([](const ClientRequest&) { return std::nullopt; });
  std::atomic<int> calls{0};
  FakeNode flaky([&](const ClientRequest&) {
    return ++calls == 1 ? reply(ReplyCode::Unknown) : reply(ReplyCode::CasFailed, "current");
  });
  zmq::context_t ctx(1);
  client::Client c(ctx, options({{1, silent.endpoint()}, {2, flaky.endpoint()}}));
  auto r = c.cas("k", "old", false, "new");
  REQUIRE(r.outcome == client::Outcome::CasFailed);
  CHECK(r.value == "current");
  auto reqs = flaky.requests();
  REQUIRE(reqs.size() == 2);
  CHECK(reqs[0].seq == reqs[1].seq);
  CHECK(reqs[0].client_id == reqs[1].client_id);
  CHECK(reqs[0].expected == "old");
}

TEST_CASE("when no node answers a write is Unknown and a read Unavailable", "[client]") {
  FakeNode silent([](const ClientRequest&) { return std::nullopt; });
  zmq::context_t ctx(1);
  client::Client c(ctx, options({{1, silent.endpoint()}}, 500ms));
  const auto t0 = std::chrono::steady_clock::now();
  CHECK(c.put("k", "v").outcome == client::Outcome::Unknown);
  CHECK(c.get("k", false).outcome == client::Outcome::Unavailable);
  CHECK(std::chrono::steady_clock::now() - t0 < 5s);  // bounded by the timeouts, not stuck
}

TEST_CASE("a rejection is final and --node does not follow hints", "[client]") {
  FakeNode rejecting([](const ClientRequest&) {
    ClientReply r = reply(ReplyCode::Rejected);
    r.error = "no";
    return r;
  });
  FakeNode follower([](const ClientRequest&) { return reply(ReplyCode::NotLeader, "", 1, "tcp://127.0.0.1:1"); });
  zmq::context_t ctx(1);
  client::Client c(ctx, options({{1, rejecting.endpoint()}}));
  auto r = c.del("k");
  CHECK(r.outcome == client::Outcome::Rejected);
  CHECK(r.error == "no");
  CHECK(rejecting.requests().size() == 1);
  auto o = options({{1, rejecting.endpoint()}, {2, follower.endpoint()}});
  o.only_node = 2;
  client::Client only(ctx, o);
  CHECK(only.put("k", "v").outcome == client::Outcome::Rejected);
  CHECK(rejecting.requests().size() == 1);
}

TEST_CASE("shell lines become requests and answers follow the shell protocol", "[client][shell]") {
  FakeNode node([](const ClientRequest& req) -> std::optional<ClientReply> {
    switch (req.kind) {
      case transport::RequestKind::Get:
        return req.key == "k" ? reply(ReplyCode::Ok, "a value") : reply(ReplyCode::NotFound);
      case transport::RequestKind::Cas:
        return req.expected_absent ? reply(ReplyCode::Ok) : ClientReply{reply(ReplyCode::CasFailed)};
      default:
        return reply(ReplyCode::Ok);
    }
  });
  zmq::context_t ctx(1);
  client::Client c(ctx, options({{1, node.endpoint()}}));
  CHECK(client::shell_answer(c, "put k a value with  spaces") == "OK");
  CHECK(node.requests().back().value == "a value with  spaces");
  CHECK(client::shell_answer(c, "get k") == "VALUE a value");
  CHECK(client::shell_answer(c, "get other") == "NOT_FOUND");
  CHECK(client::shell_answer(c, "cas k - fresh") == "OK");
  CHECK(node.requests().back().expected_absent);
  CHECK(client::shell_answer(c, "cas k old new value") == "CAS_FAIL -");
  CHECK(node.requests().back().value == "new value");
  CHECK(client::shell_answer(c, "") == "");
  CHECK(client::shell_answer(c, "# comment") == "");
  CHECK(client::shell_answer(c, "get") == "FAIL usage: get KEY");
  CHECK(client::shell_answer(c, "get a b") == "FAIL usage: get KEY");
  CHECK(client::shell_answer(c, "cas k") == "FAIL usage: cas KEY OLD NEW");
  CHECK(client::shell_answer(c, "del k\r") == "OK");
  std::istringstream in("put a b\nget k\n");
  std::ostringstream out;
  CHECK(client::run_shell(c, in, out) == 0);
  CHECK(out.str() == "OK\nVALUE a value\n");
}

TEST_CASE("a key or value over the limits is refused before sending, without retrying", "[client]") {
  // No member listens: a request that were sent would wait for the whole timeout.
  zmq::context_t ctx(1);
  client::Options o;
  o.members = {{1, "tcp://127.0.0.1:1"}};
  o.timeout = 10s;
  o.max_key_bytes = 8;
  o.max_value_bytes = 100;
  client::Client c(ctx, o);
  const auto started = std::chrono::steady_clock::now();
  auto r = c.put("k", std::string(101, 'v'));
  CHECK(r.outcome == client::Outcome::Rejected);
  CHECK(r.error == "value too large: 101 bytes, limit 100");
  CHECK(client::exit_code(r.outcome) == 4);
  r = c.put("123456789", "v");
  CHECK(r.outcome == client::Outcome::Rejected);
  CHECK(r.error == "key too large: 9 bytes, limit 8");
  CHECK(c.get("123456789", false).error == "key too large: 9 bytes, limit 8");
  CHECK(c.del("123456789").outcome == client::Outcome::Rejected);
  r = c.cas("k", std::string(200, 'e'), false, "v");
  CHECK(r.outcome == client::Outcome::Rejected);
  CHECK(r.error == "expected value too large: 200 bytes, limit 100");
  CHECK(std::chrono::steady_clock::now() - started < 5s);
}

TEST_CASE("a request over the node's client frame limit is refused, whatever the limits say", "[client]") {
  zmq::context_t ctx(1);
  client::Options o;
  o.members = {{1, "tcp://127.0.0.1:1"}};
  o.timeout = 10s;
  o.max_value_bytes = 64u << 20;  // a hand-made Options that lets a value outgrow the frame
  client::Client c(ctx, o);
  const auto started = std::chrono::steady_clock::now();
  auto r = c.put("k", std::string(config::kMaxClientRequestBytes + 1, 'v'));
  CHECK(r.outcome == client::Outcome::Rejected);
  CHECK(r.error.rfind("request too large: ", 0) == 0);
  CHECK(r.error.find("the client frame limit") != std::string::npos);
  CHECK(std::chrono::steady_clock::now() - started < 5s);
  // Just under the limit it would be sent (and here time out: nobody listens).
  transport::ClientRequest fits;
  fits.kind = transport::RequestKind::Put;
  fits.key = "k";
  fits.value = std::string(config::kMaxClientRequestBytes - config::kClientRequestOverheadBytes, 'v');
  CHECK(client::oversized_request(fits, o).empty());
}
