// Operator mistakes end in a clear refusal and change no data (docs/membership.md
// "Operator mistakes"): a second raft-node on a running node's folder, a folder of another
// node id or another cluster, and a voter whose data was wiped and which is started again.
// Ports 26100..26400, ticks of 20 ms.
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>

#include <catch2/catch.hpp>

#include "client/client.h"
#include "tests/integration/background_writer.h"
#include "tests/integration/cluster_harness.h"

namespace {

using harness::Cluster;
using harness::wait_until;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Every file under `dir` (except `skip`) -> its bytes and modification time: equal before and
// after means nothing in the folder was written, created, removed or touched.
std::map<std::string, std::pair<std::string, int64_t>> folder_state(const std::string& dir,
                                                                    const std::string& skip = "") {
  std::map<std::string, std::pair<std::string, int64_t>> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    const std::string p = e.path().string();
    if (!skip.empty() && e.path().filename() == skip) continue;
    struct stat st {};
    REQUIRE(stat(p.c_str(), &st) == 0);
    const int64_t mtime_ns = int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec;
    out[p] = {e.is_regular_file() ? read_file(p) : std::string("<dir>"), mtime_ns};
  }
  return out;
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

harness::RunResult run_node(const std::string& config, uint64_t id) {
  return harness::run({RAFT_NODE_BIN, "--config", config, "--id", std::to_string(id)}, "", 20s);
}

// The line of `out` that carries the refusal (raft-node prints its logs on stdout too).
std::string refusal_line(const std::string& out) {
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("raft-node: cannot start: ", 0) == 0) return line;
  return "";
}

// The leader that every running node but `except` agrees on (the harness's wait_for_leader
// also asks `except`, a wiped node that follows nobody).
std::optional<uint64_t> wait_for_leader_except(Cluster& c, uint64_t except, std::chrono::milliseconds timeout) {
  std::optional<uint64_t> found;
  wait_until(
      [&] {
        std::set<uint64_t> leaders;
        for (auto& [id, s] : c.statuses())
          if (id != except) leaders.insert(s.leader);
        found.reset();
        if (leaders.size() == 1 && *leaders.begin() != 0) found = *leaders.begin();
        return found.has_value();
      },
      timeout);
  return found;
}

}  // namespace

TEST_CASE("a second raft-node on a running node's folder is refused, names the holder and writes nothing",
          "[operator_mistakes]") {
  Cluster c("second_process", 1, 26100);
  c.start(1, true);
  REQUIRE(c.wait_for_leader(10s));
  // Once the leader recorded its own incarnation (its first entry after the election), an idle
  // single node writes nothing but its own output, node.log.
  REQUIRE(wait_until([&] { return contains(c.log(1), "recorded incarnation"); }, 10s));
  REQUIRE(c.wait_applied(3, 10s));
  const auto before = folder_state(c.node_dir(1), "node.log");
  const auto r = run_node(c.config_path(), 1);
  CHECK(r.exit_code == 1);
  INFO(r.out);
  CHECK(refusal_line(r.out) == "raft-node: cannot start: " + c.node_dir(1) + " is in use by another raft-node (pid " +
                                   std::to_string(c.pid(1)) + ", see " + c.node_dir(1) + "/LOCK)");
  CHECK(folder_state(c.node_dir(1), "node.log") == before);
  CHECK(c.running(1));

  // check-data refuses the folder while the node holds it, and names the node's pid.
  const auto check = c.raftctl({"check-data", c.node_dir(1)});
  CHECK(check.exit_code == 4);
  CHECK(contains(check.out, "in use by a running raft-node (pid " + std::to_string(c.pid(1)) + ","));

  // Stopped, the folder is the next process's: the stale LOCK file blocks nothing.
  REQUIRE(c.stop(1) == 0);
  const auto clean = c.raftctl({"check-data", c.node_dir(1)});
  CHECK(clean.exit_code == 0);
  CHECK(contains(clean.out, "identity: node 1 of cluster 'it', incarnation "));
}

TEST_CASE("a folder of another node id or another cluster is refused, naming both, and nothing changes",
          "[operator_mistakes]") {
  Cluster c("foreign_folder", 2, 26200);
  c.start(1, true);
  REQUIRE(wait_until([&] { return fs::exists(c.node_dir(1) + "/IDENTITY") && fs::exists(c.node_dir(1) + "/wal"); },
                     10s));
  REQUIRE(c.stop(1) == 0);

  SECTION("node 1's folder copied to node 2") {
    fs::copy(c.node_dir(1), c.node_dir(2), fs::copy_options::recursive);
    fs::remove(c.node_dir(2) + "/node.log");
    const auto before = folder_state(c.node_dir(2));
    const auto r = run_node(c.config_path(), 2);
    INFO(r.out);
    CHECK(r.exit_code == 1);
    CHECK(refusal_line(r.out) == "raft-node: cannot start: " + c.node_dir(2) +
                                     " holds node 1 of cluster 'it' (see its IDENTITY), not node 2 of cluster 'it': "
                                     "refusing to start on it");
    CHECK(folder_state(c.node_dir(2)) == before);
  }
  SECTION("another cluster's file pointing at the same folder") {
    std::string text = read_file(c.config_path());
    text.replace(text.find("cluster_id: it"), 14, "cluster_id: other");
    const std::string other = c.dir() + "/other.yaml";
    std::ofstream(other) << text;
    const auto before = folder_state(c.node_dir(1));
    const auto r = run_node(other, 1);
    INFO(r.out);
    CHECK(r.exit_code == 1);
    CHECK(refusal_line(r.out) == "raft-node: cannot start: " + c.node_dir(1) +
                                     " holds node 1 of cluster 'it' (see its IDENTITY), not node 1 of cluster "
                                     "'other': refusing to start on it");
    CHECK(folder_state(c.node_dir(1)) == before);
  }
}

TEST_CASE("a wiped voter started again never votes, no term has two leaders, and it is re-added by push-config",
          "[operator_mistakes]") {
  Cluster c("wiped_voter", 5, 26300);
  c.start_all(true);
  auto leader = c.wait_for_leader(10s);
  REQUIRE(leader);
  client::Client cl(c.zmq_context(), c.client_options());
  for (int i = 0; i < 20; ++i) REQUIRE(cl.put("k" + std::to_string(i), "v").outcome == client::Outcome::Ok);

  // Wipe a follower (it voted in earlier terms) and start it empty, without --bootstrap.
  const uint64_t wiped = *leader == 5 ? 4 : 5;
  c.kill(wiped);
  fs::remove_all(c.node_dir(wiped));
  c.start(wiped, false);
  REQUIRE(wait_until(
      [&] {
        auto st = c.statuses();
        return st.count(wiped) && contains(st[wiped].problem, "must be re-added");
      },
      10s));

  // Elections under load: a client writes all along while the leader is killed and restarted
  // three times.
  harness::BackgroundWriter writer(c);
  for (int round = 0; round < 3; ++round) {
    auto l = wait_for_leader_except(c, wiped, 10s);
    REQUIRE(l);
    REQUIRE(*l != wiped);
    c.kill(*l);
    auto next = wait_for_leader_except(c, wiped, 10s);
    REQUIRE(next);
    CHECK(*next != wiped);
    REQUIRE(cl.put("round" + std::to_string(round), "v").outcome == client::Outcome::Ok);
    c.start(*l, false);
  }
  REQUIRE(wait_for_leader_except(c, wiped, 10s));
  writer.stop();
  REQUIRE(writer.acked() > 0);
  harness::require_acked_readable(c, "w", writer.acked_keys());

  // The wiped node was asked for votes and gave none; the others refused what it sent.
  const std::string wiped_log = c.log(wiped);
  CHECK(std::regex_search(wiped_log, std::regex("ignored MsgRequest(Pre)?Vote from node")));
  CHECK_FALSE(contains(wiped_log, "became the leader"));
  bool refused_somewhere = false;
  for (auto id : c.ids())
    if (id != wiped && contains(c.log(id), "node " + std::to_string(wiped) + " speaks as incarnation "))
      refused_somewhere = true;
  CHECK(refused_somewhere);
  // No term has two leaders (every node logs "became the leader of term T").
  std::map<uint64_t, std::set<uint64_t>> leaders_of_term;
  const std::regex became("became the leader of term ([0-9]+)");
  for (auto id : c.ids()) {
    const std::string log = c.log(id);
    for (auto it = std::sregex_iterator(log.begin(), log.end(), became); it != std::sregex_iterator(); ++it)
      leaders_of_term[std::stoull((*it)[1])].insert(id);
  }
  REQUIRE(leaders_of_term.size() >= 3);
  for (const auto& [term, ids] : leaders_of_term) {
    CAPTURE(term);
    CHECK(ids.size() == 1);
  }

  // The documented procedure: push the file without it, then with it.
  std::string full = read_file(c.config_path());
  const std::string entry = "  - id: " + std::to_string(wiped) + "\n";
  const size_t at = full.find(entry);
  REQUIRE(at != std::string::npos);
  const size_t end = full.find("  - id: ", at + entry.size());
  std::string without = full;
  without.erase(at, end == std::string::npos ? std::string::npos : end - at);
  const std::string without_path = c.dir() + "/without.yaml";
  std::ofstream(without_path) << without;
  auto removed = c.raftctl({"--timeout", "40", "push-config", without_path}, "", 60s);
  INFO(removed.out);
  REQUIRE(removed.exit_code == 0);
  auto added = c.raftctl({"--timeout", "40", "push-config", c.config_path()}, "", 60s);
  INFO(added.out);
  REQUIRE(added.exit_code == 0);
  REQUIRE(wait_until(
      [&] {
        auto st = c.statuses();
        return st.count(wiped) && st[wiped].problem.empty() && st[wiped].applied >= st.begin()->second.commit &&
               std::count(st[wiped].voters.begin(), st[wiped].voters.end(), wiped) == 1;
      },
      20s));
  CHECK(contains(c.log(wiped), "holds its place in the membership"));
}
