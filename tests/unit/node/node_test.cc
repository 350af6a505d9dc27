// The node's event loop in-process: Node objects on the in-memory log store, each running
// its loop on its own thread, driven through the client library. This puts the Ready
// handling, the client service and the read path under the sanitizers of the unit tier.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <future>
#include <memory>
#include <thread>

#include <spdlog/spdlog.h>

#include "client/client.h"
#include "node/node.h"

using namespace std::chrono_literals;

namespace {

config::ClusterConfig make_cluster(int n, int base_port) {
  config::ClusterConfig c;
  c.path = "(test)";
  c.cluster_id = "unit";
  c.data_dir = "/nonexistent";  // in-memory: never touched
  c.tick_ms = 10;
  c.election_ticks = 10;
  c.heartbeat_ticks = 2;
  for (int id = 1; id <= n; ++id)
    c.nodes.push_back({static_cast<raft::NodeId>(id), "tcp://127.0.0.1:" + std::to_string(base_port + id),
                       "tcp://127.0.0.1:" + std::to_string(base_port + 50 + id)});
  return c;
}

// One node running its loop on a thread; the destructor stops it through its pipe.
class RunningNode {
 public:
  RunningNode(const config::ClusterConfig& cluster, raft::NodeId id) {
    REQUIRE(pipe2(pipe_, O_NONBLOCK | O_CLOEXEC) == 0);
    node::NodeOptions opts{cluster, id, true, true};
    auto created = node::Node::create(ctx_, std::move(opts));
    if (auto* err = std::get_if<std::string>(&created)) FAIL(*err);
    node_ = std::move(std::get<std::unique_ptr<node::Node>>(created));
    exit_code_ = std::async(std::launch::async, [this] { return node_->run(pipe_[0]); });
  }
  int stop() {
    if (!exit_code_.valid()) return -1;
    const char b = 1;
    REQUIRE(write(pipe_[1], &b, 1) == 1);
    return exit_code_.get();
  }
  ~RunningNode() {
    if (exit_code_.valid()) stop();
    node_.reset();
    close(pipe_[0]);
    close(pipe_[1]);
  }

 private:
  zmq::context_t ctx_{1};
  int pipe_[2] = {-1, -1};
  std::unique_ptr<node::Node> node_;
  std::future<int> exit_code_;
};

client::Options client_options(const config::ClusterConfig& c, uint64_t only = 0) {
  client::Options o;
  for (const auto& n : c.nodes) o.members.push_back({n.id, n.client});
  o.timeout = 10s;
  o.attempt_timeout = 500ms;
  o.only_node = only;
  return o;
}

}  // namespace

TEST_CASE("a single in-memory node serves writes and both kinds of reads", "[node]") {
  spdlog::set_level(spdlog::level::warn);
  const auto cluster = make_cluster(1, 26100);
  RunningNode n(cluster, 1);
  zmq::context_t ctx(1);
  client::Client c(ctx, client_options(cluster));
  REQUIRE(c.put("a", "1").outcome == client::Outcome::Ok);
  auto r = c.get("a", false);
  REQUIRE(r.outcome == client::Outcome::Ok);
  CHECK(r.value == "1");
  CHECK(c.get("a", true).value == "1");
  CHECK(c.get("b", false).outcome == client::Outcome::NotFound);
  CHECK(c.cas("a", "2", false, "3").outcome == client::Outcome::CasFailed);
  CHECK(c.cas("a", "1", false, "3").outcome == client::Outcome::Ok);
  CHECK(c.del("a").outcome == client::Outcome::Ok);
  CHECK(c.del("a").outcome == client::Outcome::NotFound);
  auto st = c.status_all(1s);
  REQUIRE(st.size() == 1);
  REQUIRE(st[0].reachable);
  CHECK(st[0].status.role == "leader");
  CHECK(st[0].status.applied == st[0].status.commit);
  CHECK(n.stop() == 0);
}

TEST_CASE("three in-memory nodes replicate, redirect followers and survive losing one node", "[node]") {
  spdlog::set_level(spdlog::level::warn);
  const auto cluster = make_cluster(3, 26200);
  std::vector<std::unique_ptr<RunningNode>> nodes;
  for (raft::NodeId id = 1; id <= 3; ++id) nodes.push_back(std::make_unique<RunningNode>(cluster, id));
  zmq::context_t ctx(1);
  client::Client c(ctx, client_options(cluster));
  for (int i = 0; i < 50; ++i) REQUIRE(c.put("k" + std::to_string(i), std::to_string(i)).outcome == client::Outcome::Ok);
  auto served_by = c.put("last", "x").served_by;
  // A follower answers a serializable read from its own state once it has applied.
  const raft::NodeId follower = served_by == 1 ? 2 : 1;
  client::Client local(ctx, client_options(cluster, follower));
  bool seen = false;
  for (int attempt = 0; attempt < 200 && !seen; ++attempt) {
    seen = local.get("last", true).value == "x";
    if (!seen) std::this_thread::sleep_for(10ms);
  }
  CHECK(seen);
  // Writes sent only to a follower are refused (NotLeader), definitely not applied.
  CHECK(local.put("nope", "x").outcome == client::Outcome::Rejected);
  // Lose the leader: the two others elect a new one and keep every acknowledged write.
  CHECK(nodes[served_by - 1]->stop() == 0);
  REQUIRE(c.put("after", "y").outcome == client::Outcome::Ok);
  for (int i : {0, 25, 49}) CHECK(c.get("k" + std::to_string(i), false).value == std::to_string(i));
  CHECK(c.get("last", false).value == "x");
}

TEST_CASE("the node refuses keys and values over the cluster file's limits", "[node]") {
  spdlog::set_level(spdlog::level::warn);
  auto cluster = make_cluster(1, 26300);
  cluster.max_key_bytes = 10;
  cluster.max_value_bytes = 1000;
  RunningNode n(cluster, 1);
  zmq::context_t ctx(1);
  auto o = client_options(cluster);
  o.max_key_bytes = 1 << 20;  // a client that does not check (older, or another cluster file)
  o.max_value_bytes = 1 << 20;
  client::Client c(ctx, o);
  REQUIRE(c.put("a", std::string(1000, 'v')).outcome == client::Outcome::Ok);
  auto r = c.put("a", std::string(1001, 'v'));
  CHECK(r.outcome == client::Outcome::Rejected);
  CHECK(r.error == "value too large: 1001 bytes, limit 1000");
  r = c.put("12345678901", "v");
  CHECK(r.outcome == client::Outcome::Rejected);
  CHECK(r.error == "key too large: 11 bytes, limit 10");
  CHECK(c.get("12345678901", true).outcome == client::Outcome::Rejected);
  CHECK(c.cas("a", std::string(1001, 'e'), false, "v").error == "expected value too large: 1001 bytes, limit 1000");
  CHECK(c.get("a", false).value == std::string(1000, 'v'));
  CHECK(n.stop() == 0);
}

TEST_CASE("past max_state_mb writes that grow the state are refused, reads and deletes work", "[node]") {
  spdlog::set_level(spdlog::level::warn);
  auto cluster = make_cluster(1, 26400);
  cluster.max_state_mb = 1;
  cluster.max_value_bytes = 300 << 10;
  RunningNode n(cluster, 1);
  zmq::context_t ctx(1);
  client::Client c(ctx, client_options(cluster));
  const std::string value(256 << 10, 'v');  // four of them fill the quota (keys add a few bytes)
  for (int i = 0; i < 3; ++i) REQUIRE(c.put("k" + std::to_string(i), value).outcome == client::Outcome::Ok);
  auto r = c.put("k3", value);
  CHECK(r.outcome == client::Outcome::Rejected);
  CHECK(r.error.rfind("state quota exceeded: the state holds ", 0) == 0);
  CHECK(r.error.find("max_state_mb is 1") != std::string::npos);
  CHECK(c.cas("k3", "", true, value).outcome == client::Outcome::Rejected);
  // Writes that do not grow the state still work: same size, smaller.
  CHECK(c.put("k0", std::string(256 << 10, 'w')).outcome == client::Outcome::Ok);
  CHECK(c.put("k1", "small").outcome == client::Outcome::Ok);
  // Reads and deletes work.
  CHECK(c.get("k0", false).value == std::string(256 << 10, 'w'));
  CHECK(c.del("k2").outcome == client::Outcome::Ok);
  // With room made, growth is allowed again.
  CHECK(c.put("k3", value).outcome == client::Outcome::Ok);
  auto st = c.status_all(1s);
  REQUIRE(st.size() == 1);
  REQUIRE(st[0].reachable);
  CHECK(st[0].status.state_bytes == 2 * (value.size() + 2) + 5 + 2);
  CHECK(st[0].status.rss_bytes > 0);
  CHECK(n.stop() == 0);
}
