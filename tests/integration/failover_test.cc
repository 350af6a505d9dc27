// Crashes and restarts: nothing acknowledged is lost, a new leader serves quickly, a lagging
// node catches up, and SIGTERM stops a node cleanly.
#include <catch2/catch.hpp>

#include <signal.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "tests/integration/background_writer.h"
#include "tests/integration/cluster_harness.h"

using namespace std::chrono_literals;
using harness::Cluster;
using Writer = harness::BackgroundWriter;
using Clock = std::chrono::steady_clock;

TEST_CASE("kill -9 of the leader under write load loses no acknowledged write", "[integration][failover]") {
  Cluster c("leader-kill", 3, 24400);
  c.start_all();
  auto leader = c.wait_for_leader(30 * c.election_timeout());
  REQUIRE(leader.has_value());
  Writer w(c);
  REQUIRE(harness::wait_until([&] { return w.acked() >= 30; }, 20s));
  const auto killed_at = Clock::now();
  c.kill(*leader, SIGKILL);
  // A new leader serves within a few election timeouts.
  REQUIRE(harness::wait_until([&] { return w.first_ack_after(killed_at).has_value(); }, 20 * c.election_timeout()));
  const size_t after = w.acked();
  INFO(w.problems());
  REQUIRE(harness::wait_until([&] { return w.acked() >= after + 30; }, 20s));
  w.stop();
  auto new_leader = c.wait_for_leader(30 * c.election_timeout());
  REQUIRE(new_leader.has_value());
  CHECK(*new_leader != *leader);
  harness::require_acked_readable(c, "w", w.acked_keys());
}

TEST_CASE("a killed follower catches up after restart", "[integration][failover]") {
  Cluster c("follower-catchup", 3, 24500);
  c.start_all();
  auto leader = c.wait_for_leader(30 * c.election_timeout());
  REQUIRE(leader.has_value());
  const uint64_t follower = *leader == 1 ? 2 : 1;
  c.kill(follower, SIGKILL);
  client::Client cl(c.zmq_context(), c.client_options(10s));
  for (int i = 0; i < 50; ++i) REQUIRE(cl.put("w" + std::to_string(i), "v" + std::to_string(i)).outcome == client::Outcome::Ok);
  const auto commit = c.statuses()[*leader].commit;
  c.start(follower, true);  // --bootstrap is ignored: the node has data
  REQUIRE(c.wait_applied(commit, 20s));
  client::Client local(c.zmq_context(), c.client_options(5s, follower));
  auto r = local.get("w49", true);
  REQUIRE(r.outcome == client::Outcome::Ok);
  CHECK(r.value == "v49");
  CHECK(c.log(follower).find("--bootstrap ignored") != std::string::npos);
}

TEST_CASE("every node killed and restarted keeps every acknowledged write", "[integration][failover]") {
  Cluster c("kill-all", 3, 24600);
  c.start_all();
  REQUIRE(c.wait_for_leader(30 * c.election_timeout()).has_value());
  std::vector<int> acked;
  {
    Writer w(c);
    REQUIRE(harness::wait_until([&] { return w.acked() >= 60; }, 30s));
    // Kill everything while writes are in flight.
    for (auto id : c.ids()) c.kill(id, SIGKILL);
    w.stop();
    acked = w.acked_keys();
  }
  c.start_all(false);
  REQUIRE(c.wait_for_leader(30 * c.election_timeout()).has_value());
  harness::require_acked_readable(c, "w", acked);
}

TEST_CASE("SIGTERM stops a node cleanly with exit code 0", "[integration][failover]") {
  Cluster c("sigterm", 3, 24700);
  c.start_all();
  auto leader = c.wait_for_leader(30 * c.election_timeout());
  REQUIRE(leader.has_value());
  client::Client cl(c.zmq_context(), c.client_options(10s));
  REQUIRE(cl.put("before", "stop").outcome == client::Outcome::Ok);
  for (auto id : c.ids()) {
    CAPTURE(id);
    REQUIRE(c.stop(id, 10s) == 0);
    CHECK(c.log(id).find("stopped (exit code 0)") != std::string::npos);
  }
  // And the data survives a clean stop.
  c.start_all(false);
  REQUIRE(c.wait_for_leader(30 * c.election_timeout()).has_value());
  auto r = cl.get("before", false);
  REQUIRE(r.outcome == client::Outcome::Ok);
  CHECK(r.value == "stop");
}

TEST_CASE("a cleanly stopped follower restarted alone serves every write it had applied", "[integration][failover]") {
  // A change of the commit index alone is not written by itself (it rides on the next
  // write), so a clean stop must leave the latest one on disk: restarted without a quorum,
  // the follower can learn nothing from a leader and serves only what its disk says.
  Cluster c("stop-commit", 3, 25700);
  c.start_all();
  auto leader = c.wait_for_leader(30 * c.election_timeout());
  REQUIRE(leader.has_value());
  client::Client cl(c.zmq_context(), c.client_options(10s));
  for (int i = 0; i < 20; ++i) REQUIRE(cl.put("s" + std::to_string(i), "v" + std::to_string(i)).outcome == client::Outcome::Ok);
  REQUIRE(c.wait_applied(c.statuses()[*leader].commit, 20s));
  for (auto id : c.ids()) REQUIRE(c.stop(id, 10s) == 0);
  const uint64_t follower = *leader == 1 ? 2 : 1;
  c.start(follower, false);
  client::Client local(c.zmq_context(), c.client_options(2s, follower));
  client::Result r;
  REQUIRE(harness::wait_until(
      [&] {
        r = local.get("s19", true);
        return r.outcome == client::Outcome::Ok || r.outcome == client::Outcome::NotFound;
      },
      20s));
  CHECK(r.outcome == client::Outcome::Ok);
  CHECK(r.value == "v19");
}

TEST_CASE("a follower that missed compacted entries is caught up by a snapshot", "[integration][failover]") {
  harness::ClusterOptions opts;
  opts.snapshot_entries = 20;  // snapshot and compact often, keeping only 20 entries
  Cluster c("snapshot-catchup", 3, 25400, opts);
  c.start_all();
  auto leader = c.wait_for_leader(30 * c.election_timeout());
  REQUIRE(leader.has_value());
  const uint64_t follower = *leader == 1 ? 2 : 1;
  c.kill(follower, SIGKILL);
  client::Client cl(c.zmq_context(), c.client_options(10s));
  for (int i = 0; i < 150; ++i) REQUIRE(cl.put("w" + std::to_string(i), "v" + std::to_string(i)).outcome == client::Outcome::Ok);
  auto st = c.statuses();
  REQUIRE(st[*leader].first_index > 2);  // the log was compacted past what the follower has
  c.start(follower, false);
  REQUIRE(c.wait_applied(st[*leader].commit, 20s));
  CHECK(c.log(follower).find("restored a snapshot") != std::string::npos);
  client::Client local(c.zmq_context(), c.client_options(5s, follower));
  for (int i : {0, 77, 149}) {
    auto r = local.get("w" + std::to_string(i), true);
    REQUIRE(r.outcome == client::Outcome::Ok);
    CHECK(r.value == "v" + std::to_string(i));
  }
  // The restored node restarts from its own snapshot too.
  REQUIRE(c.stop(follower) == 0);
  c.start(follower, false);
  REQUIRE(c.wait_for_leader(30 * c.election_timeout()).has_value());
  client::Client again(c.zmq_context(), c.client_options(5s, follower));
  REQUIRE(harness::wait_until([&] { return again.get("w149", true).value == "v149"; }, 10s));
}

TEST_CASE("a paused leader is replaced and follows the new leader once resumed", "[integration][failover]") {
  Cluster c("pause-leader", 3, 25500);
  c.start_all();
  auto leader = c.wait_for_leader(30 * c.election_timeout());
  REQUIRE(leader.has_value());
  Writer w(c);
  REQUIRE(harness::wait_until([&] { return w.acked() >= 20; }, 20s));
  c.kill(*leader, SIGSTOP);
  const size_t at_pause = w.acked();
  // The two others elect a leader and writes resume while the old one is frozen.
  REQUIRE(harness::wait_until([&] { return w.acked() >= at_pause + 20; }, 20s));
  c.kill(*leader, SIGCONT);
  const size_t at_resume = w.acked();
  REQUIRE(harness::wait_until([&] { return w.acked() >= at_resume + 20; }, 20s));
  w.stop();
  auto now_leader = c.wait_for_leader(30 * c.election_timeout());
  REQUIRE(now_leader.has_value());
  REQUIRE(c.wait_applied(c.statuses()[*now_leader].commit, 20s));
  harness::require_acked_readable(c, "w", w.acked_keys());
}
