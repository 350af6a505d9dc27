// The reference program's story (raft-rs examples/five_mem_node) on real processes, and the
// ways a fresh cluster may come to life.
#include <catch2/catch.hpp>

#include <algorithm>
#include <random>
#include <thread>

#include "tests/integration/cluster_harness.h"

using namespace std::chrono_literals;
using harness::Cluster;

namespace {

// Every running node must hold `value` under every key, read from its own state.
void require_everywhere(Cluster& c, const std::vector<std::string>& keys, const std::string& value) {
  for (auto id : c.ids()) {
    if (!c.running(id)) continue;
    client::Client local(c.zmq_context(), c.client_options(5s, id));
    for (const auto& k : keys) {
      auto r = local.get(k, true);
      CAPTURE(id, k, r.error);
      REQUIRE(r.outcome == client::Outcome::Ok);
      REQUIRE(r.value == value);
    }
  }
}

}  // namespace

TEST_CASE("five nodes elect a leader and apply 100 puts of hello world on every node", "[integration][story]") {
  Cluster c("story", 5, 24100);
  c.start_all();
  auto leader = c.wait_for_leader(30 * c.election_timeout());
  REQUIRE(leader.has_value());
  client::Client cl(c.zmq_context(), c.client_options(10s));
  std::vector<std::string> keys;
  for (int i = 0; i < 100; ++i) {
    keys.push_back("key" + std::to_string(i));
    auto r = cl.put(keys.back(), "hello, world");
    CAPTURE(i, r.error);
    REQUIRE(r.outcome == client::Outcome::Ok);
  }
  const auto commit = c.statuses()[*leader].commit;
  REQUIRE(commit >= 101);
  REQUIRE(c.wait_applied(commit, 10s));
  require_everywhere(c, keys, "hello, world");
}

TEST_CASE("nodes started one by one in random order form one cluster", "[integration][story]") {
  Cluster c("one-by-one", 5, 24200);
  auto ids = c.ids();
  const auto seed = std::random_device{}();
  CAPTURE(seed);
  std::mt19937 rng(seed);
  std::shuffle(ids.begin(), ids.end(), rng);
  for (auto id : ids) {
    c.start(id, true);
    // Up to one election timeout between starts: some nodes campaign before others exist.
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % c.election_timeout().count()));
  }
  auto leader = c.wait_for_leader(30 * c.election_timeout());
  REQUIRE(leader.has_value());
  auto st = c.statuses();
  REQUIRE(st.size() == 5);
  for (auto& [id, s] : st) {
    CHECK(s.leader == *leader);
    CHECK(s.term == st[*leader].term);
    CHECK(s.voters.size() == 5);
  }
  client::Client cl(c.zmq_context(), c.client_options(10s));
  REQUIRE(cl.put("joined", "yes").outcome == client::Outcome::Ok);
  REQUIRE(c.wait_applied(c.statuses()[*leader].commit, 10s));
  require_everywhere(c, {"joined"}, "yes");
}

TEST_CASE("an empty node started without --bootstrap is brought up to date by the leader", "[integration][story]") {
  Cluster c("empty-joiner", 3, 24300);
  c.start(1, true);
  c.start(2, true);
  REQUIRE(c.wait_for_leader(30 * c.election_timeout()).has_value());
  client::Client cl(c.zmq_context(), c.client_options(10s));
  for (int i = 0; i < 20; ++i) REQUIRE(cl.put("k" + std::to_string(i), "v").outcome == client::Outcome::Ok);
  // Node 3 is a voter of the initial membership but has no data: its Raft state is created
  // by the leader's messages (a snapshot, since its log starts empty).
  c.start(3, false);
  auto leader = c.wait_for_leader(30 * c.election_timeout());
  REQUIRE(leader.has_value());
  REQUIRE(c.wait_applied(c.statuses()[*leader].commit, 20s));
  REQUIRE(c.log(3).find("waiting to be added") != std::string::npos);
  require_everywhere(c, {"k0", "k19"}, "v");
}
