// Membership changes with real raft-node processes, driven by `raftctl push-config`
// (docs/membership.md). Every case starts a three-node cluster (ids 1..3) from a file that
// lists only those three, then writes a second file with the desired members and pushes it.
// New members are started empty, without --bootstrap, from a file that lists them.
// Ports 28100..29000 (one multiple of 100 per case), ticks of 20 ms.
#include <atomic>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include <catch2/catch.hpp>

#include "client/client.h"
#include "tests/integration/cluster_harness.h"

namespace {

using harness::Cluster;
using harness::ClusterOptions;
using harness::wait_until;
using namespace std::chrono_literals;

// Writes a cluster file listing `ids` (addresses of `c`'s port range, same data dir); an
// empty name is the cluster's own file.
std::string write_file(const Cluster& c, const std::string& name, const std::vector<uint64_t>& ids,
                       const ClusterOptions& o) {
  const std::string path = name.empty() ? c.config_path() : c.dir() + "/" + name;
  c.write_config(path, ids, o);
  return path;
}

// A cluster of `total` possible ids whose initial voters are 1..3 (bootstrapped); the
// harness's own file then lists every id, so that any of them can be started later.
struct Fixture {
  ClusterOptions opts;
  Cluster c;
  Fixture(const std::string& name, int base, ClusterOptions o = {}, int total = 6)
      : opts(o), c(name, total, base, o) {
    write_file(c, "", {1, 2, 3}, opts);
    for (uint64_t id = 1; id <= 3; ++id) c.start(id, true);
    REQUIRE(c.wait_for_leader(10s));
    std::vector<uint64_t> all;
    for (int id = 1; id <= total; ++id) all.push_back(static_cast<uint64_t>(id));
    write_file(c, "", all, opts);
  }
  std::string file(const std::string& name, const std::vector<uint64_t>& ids) { return write_file(c, name, ids, opts); }
  harness::RunResult push(const std::string& path, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"--timeout", "40", "push-config", path};
    args.insert(args.end(), extra.begin(), extra.end());
    return c.raftctl(args, "", 60s);
  }
  // The leader's view: voters, learners, outgoing voters. (Not Cluster::wait_for_leader: a
  // removed node that never learned its removal still runs and names no leader.)
  std::optional<transport::NodeStatus> leader_status() {
    std::optional<transport::NodeStatus> out;
    wait_until(
        [&] {
          out.reset();
          for (auto& [id, s] : c.statuses())
            if (s.role == "leader" && (!out || s.term > out->term)) out = s;
          return out.has_value();
        },
        10s);
    return out;
  }
  std::set<uint64_t> voters() {
    auto s = leader_status();
    if (!s) return {};
    if (!s->voters_outgoing.empty() || !s->learners.empty()) return {0};
    return {s->voters.begin(), s->voters.end()};
  }
  bool put(const std::string& k, const std::string& v) {
    client::Client cl(c.zmq_context(), c.client_options(5s));
    return cl.put(k, v).outcome == client::Outcome::Ok;
  }
  std::optional<std::string> get_from(uint64_t id, const std::string& k) {
    client::Client cl(c.zmq_context(), c.client_options(3s, id));
    auto r = cl.get(k, true);
    if (r.outcome != client::Outcome::Ok) return std::nullopt;
    return r.value;
  }
};

std::string info(const harness::RunResult& r) { return "exit " + std::to_string(r.exit_code) + "\n" + r.out; }

}  // namespace

TEST_CASE("growing from three to five voters, a dry run changes nothing and a second push is a no-op",
          "[integration][membership]") {
  Fixture f("grow", 28100);
  REQUIRE(f.put("before", "1"));
  f.c.start(4, false);
  f.c.start(5, false);
  const auto path = f.file("five.yaml", {1, 2, 3, 4, 5});

  auto dry = f.push(path, {"--dry-run"});
  INFO(info(dry));
  REQUIRE(dry.exit_code == 0);
  CHECK(dry.out.find("add node 4") != std::string::npos);
  CHECK(dry.out.find("nothing was changed") != std::string::npos);
  CHECK(f.voters() == std::set<uint64_t>{1, 2, 3});

  auto r = f.push(path);
  INFO(info(r));
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("done") != std::string::npos);
  CHECK(f.voters() == std::set<uint64_t>{1, 2, 3, 4, 5});
  CHECK(f.get_from(5, "before") == "1");

  auto again = f.push(path);
  INFO(info(again));
  CHECK(again.exit_code == 0);
  CHECK(again.out.find("membership already matches") != std::string::npos);

  auto st = f.c.raftctl({"status"});
  CHECK(st.out.find("voters (1 2 3 4 5)") != std::string::npos);
}

TEST_CASE("shrinking from five to three voters stops the removed nodes",
          "[integration][membership]") {
  Fixture f("shrink", 28200);
  f.c.start(4, false);
  f.c.start(5, false);
  REQUIRE(f.push(f.file("five.yaml", {1, 2, 3, 4, 5})).exit_code == 0);
  const auto term = f.leader_status()->term;

  auto r = f.push(f.file("three.yaml", {1, 2, 3}));
  INFO(info(r));
  REQUIRE(r.exit_code == 0);
  CHECK(f.voters() == std::set<uint64_t>{1, 2, 3});
  REQUIRE(f.put("after", "x"));
  // The remaining cluster keeps serving in the same term (the removed nodes never disrupt it).
  const auto st = f.leader_status();
  REQUIRE(st);
  CHECK(st->term == term);
  // Told of the commit of their removal, the removed nodes stop themselves, saying why.
  CHECK(wait_until([&] { return !f.c.running(4) && !f.c.running(5); }, 10s));
  CHECK(f.c.log(4).find("removed from the cluster") != std::string::npos);
  CHECK(f.c.log(5).find("removed from the cluster") != std::string::npos);
}

TEST_CASE("one push replaces node 3 by node 6", "[integration][membership]") {
  Fixture f("replace", 28300);
  REQUIRE(f.put("k", "v"));
  f.c.start(6, false);
  auto r = f.push(f.file("replace.yaml", {1, 2, 6}));
  INFO(info(r));
  REQUIRE(r.exit_code == 0);
  CHECK(f.voters() == std::set<uint64_t>{1, 2, 6});
  CHECK(f.get_from(6, "k") == "v");
  REQUIRE(f.put("k2", "v2"));
  CHECK(wait_until([&] { return !f.c.running(3); }, 10s));
  CHECK(f.c.log(3).find("removed from the cluster") != std::string::npos);
}

TEST_CASE("removing the current leader hands leadership over first", "[integration][membership]") {
  Fixture f("remove-leader", 28400);
  const auto leader = f.c.wait_for_leader(10s);
  REQUIRE(leader);
  std::vector<uint64_t> rest;
  for (uint64_t id = 1; id <= 3; ++id)
    if (id != *leader) rest.push_back(id);
  auto r = f.push(f.file("no-leader.yaml", rest));
  INFO(info(r));
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("transferring leadership") != std::string::npos);
  CHECK(f.voters() == std::set<uint64_t>(rest.begin(), rest.end()));
  REQUIRE(f.put("after", "1"));
  // The old leader applied its removal: it stops itself, saying why.
  CHECK(wait_until([&] { return !f.c.running(*leader); }, 10s));
  CHECK(f.c.log(*leader).find("removed from the cluster") != std::string::npos);
}

TEST_CASE("a push under a steady write load loses no acknowledged write", "[integration][membership]") {
  Fixture f("push-under-load", 28500);
  f.c.start(4, false);
  f.c.start(5, false);
  std::atomic<bool> stop{false};
  std::vector<int> acked;
  std::thread writer([&] {
    client::Client cl(f.c.zmq_context(), f.c.client_options(5s));
    for (int i = 0; !stop; ++i)
      if (cl.put("w" + std::to_string(i), std::to_string(i)).outcome == client::Outcome::Ok) acked.push_back(i);
  });
  auto r = f.push(f.file("five.yaml", {1, 2, 3, 4, 5}));
  auto r2 = f.push(f.file("replace.yaml", {1, 2, 4, 5}));
  stop = true;
  writer.join();
  INFO(info(r) + info(r2));
  REQUIRE(r.exit_code == 0);
  REQUIRE(r2.exit_code == 0);
  REQUIRE(acked.size() > 10);
  client::Client cl(f.c.zmq_context(), f.c.client_options(5s));
  for (int i : acked) {
    auto g = cl.get("w" + std::to_string(i), false);
    REQUIRE(g.outcome == client::Outcome::Ok);
    CHECK(g.value == std::to_string(i));
  }
}

TEST_CASE("a push interrupted by the leader's death is finished by pushing again", "[integration][membership]") {
  Fixture f("leader-dies", 28600);
  const auto leader = f.c.wait_for_leader(10s);  // before 4 and 5 run (they name no leader yet)
  REQUIRE(leader);
  f.c.start(4, false);
  f.c.start(5, false);
  const auto path = f.file("five.yaml", {1, 2, 3, 4, 5});
  harness::RunResult first;
  std::thread pusher([&] { first = f.c.raftctl({"--timeout", "4", "push-config", path}, "", 30s); });
  // Kill the leader as soon as the change has begun (learners added).
  const bool began = wait_until(
      [&] {
        auto st = f.c.statuses(200ms);
        auto it = st.find(*leader);
        return it != st.end() && (!it->second.learners.empty() || it->second.voters.size() > 3);
      },
      15s);
  f.c.kill(*leader);
  pusher.join();
  CHECK(began);
  f.c.start(*leader, false);
  auto r = f.push(path);
  INFO(info(first) + info(r));
  REQUIRE(r.exit_code == 0);
  CHECK(f.voters() == std::set<uint64_t>{1, 2, 3, 4, 5});
}

TEST_CASE("a node added after the log was compacted is caught up by snapshot", "[integration][membership]") {
  ClusterOptions o;
  o.snapshot_entries = 50;
  Fixture f("snapshot-join", 28700, o);
  client::Client cl(f.c.zmq_context(), f.c.client_options(5s));
  for (int i = 0; i < 300; ++i) REQUIRE(cl.put("s" + std::to_string(i), std::to_string(i)).outcome == client::Outcome::Ok);
  const auto first = f.leader_status()->first_index;
  CHECK(first > 2);  // the log was compacted
  f.c.start(4, false);
  auto r = f.push(f.file("four.yaml", {1, 2, 3, 4}));
  INFO(info(r));
  REQUIRE(r.exit_code == 0);
  CHECK(f.voters() == std::set<uint64_t>{1, 2, 3, 4});
  CHECK(f.get_from(4, "s0") == "0");
  CHECK(f.get_from(4, "s299") == "299");
  CHECK(f.c.log(4).find("restored a snapshot") != std::string::npos);
}

TEST_CASE("a removed node that is restarted exits at once and does not disrupt the cluster",
          "[integration][membership]") {
  Fixture f("removed-restart", 28800);
  auto r = f.push(f.file("two.yaml", {1, 2}));
  INFO(info(r));
  REQUIRE(r.exit_code == 0);
  const auto term = f.leader_status()->term;
  // Node 3 stops itself once it applies its removal; then it is restarted on its data.
  CHECK(wait_until([&] { return !f.c.running(3); }, 10s));
  f.c.stop(3);
  f.c.start(3, false);
  CHECK(wait_until([&] { return !f.c.running(3); }, 5s));
  CHECK(f.c.log(3).find("its data dir says it was removed from the cluster; start with an empty data dir to re-add "
                        "it") != std::string::npos);
  // The cluster keeps its leader and term.
  for (int i = 0; i < 20; ++i) REQUIRE(f.put("r" + std::to_string(i), "x"));
  CHECK(f.leader_status()->term == term);
  CHECK(f.voters() == std::set<uint64_t>{1, 2});
}

TEST_CASE("a push naming an unreachable new member is refused before anything changes",
          "[integration][membership]") {
  Fixture f("unreachable", 28900);
  auto r = f.push(f.file("five.yaml", {1, 2, 3, 4, 5}));  // 4 and 5 never started
  INFO(info(r));
  CHECK(r.exit_code == 4);
  CHECK(r.out.find("does not answer") != std::string::npos);
  const auto st = f.leader_status();
  REQUIRE(st);
  CHECK(st->learners.empty());
  CHECK(std::set<uint64_t>(st->voters.begin(), st->voters.end()) == std::set<uint64_t>{1, 2, 3});
  // Another cluster's file is refused too.
  ClusterOptions other = f.opts;
  other.cluster_id = "someone-else";
  auto wrong = f.push(write_file(f.c, "other.yaml", {1, 2, 3}, other));
  CHECK(wrong.exit_code == 4);
  auto bad = f.c.raftctl({"push-config", f.c.dir() + "/missing.yaml"});
  CHECK(bad.exit_code == 2);
}

TEST_CASE("a member removed, wiped and added back under the same id replays its old removal and stays",
          "[integration][membership]") {
  // The new incarnation of node 3 receives the log from the start, removal included: it must
  // not take that removal for its own (found by the chaos suite's replace_member fault).
  Fixture f("re-add-same-id", 29000);
  for (int i = 0; i < 20; ++i) REQUIRE(f.put("a" + std::to_string(i), "x"));
  auto r = f.push(f.file("two.yaml", {1, 2}));
  INFO(info(r));
  REQUIRE(r.exit_code == 0);
  REQUIRE(wait_until([&] { return !f.c.running(3); }, 10s));
  f.c.stop(3);
  std::filesystem::remove_all(f.c.node_dir(3));
  f.c.start(3, false);
  r = f.push(f.file("three.yaml", {1, 2, 3}));
  INFO(info(r));
  REQUIRE(r.exit_code == 0);
  CHECK(f.voters() == std::set<uint64_t>{1, 2, 3});
  REQUIRE(f.put("after", "re-added"));
  CHECK(wait_until([&] { return f.get_from(3, "after") == std::optional<std::string>("re-added"); }, 10s));
  // Longer than the grace a removed node waits before stopping (two election timeouts).
  const auto grace = std::chrono::milliseconds(4 * f.opts.tick_ms * f.opts.election_ticks);
  CHECK_FALSE(wait_until([&] { return !f.c.running(3); }, grace));
  CHECK(f.c.log(3).find("is a member again") != std::string::npos);
  CHECK(f.put("later", "y"));
}
