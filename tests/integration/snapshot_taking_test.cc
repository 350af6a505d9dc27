// Snapshots taken off the loop (docs/snapshots-taking.md): a member whose state takes
// seconds to write keeps answering and applying while its snapshot child writes, and a
// member killed in the middle of a snapshot restarts from a recoverable folder.
//
// The snapshot child is slowed to 4 MiB/s (RAFT_TEST_SNAPSHOT_KB_S) so that a state of a
// few tens of MiB, quick to fill, takes several seconds to write.
#include <catch2/catch.hpp>

#include <dirent.h>
#include <signal.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "cluster_harness.h"

using namespace harness;
namespace fs = std::filesystem;

namespace {

constexpr size_t kValueBytes = 1 << 20;

std::string value_of(int i) { return std::string(kValueBytes, static_cast<char>('a' + i % 26)); }

// Children of `parent` (from /proc/*/stat: the 4th field is the parent's pid).
std::vector<pid_t> children_of(pid_t parent) {
  std::vector<pid_t> out;
  for (const auto& e : fs::directory_iterator("/proc")) {
    const std::string name = e.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(e.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(stat.substr(close + 2));
    char state = 0;
    pid_t ppid = 0;
    rest >> state >> ppid;
    if (ppid == parent) out.push_back(static_cast<pid_t>(std::stol(name)));
  }
  return out;
}

bool has_tmp_file(const std::string& snap_dir) {
  for (const auto& e : fs::directory_iterator(snap_dir))
    if (e.path().extension() == ".tmp") return true;
  return false;
}

struct SlowSnapshots {
  SlowSnapshots() { ::setenv("RAFT_TEST_SNAPSHOT_KB_S", "4096", 1); }
  ~SlowSnapshots() { ::unsetenv("RAFT_TEST_SNAPSHOT_KB_S"); }
};

}  // namespace

TEST_CASE("a member keeps answering and applying while its snapshot child writes", "[integration][snapshot]") {
  SlowSnapshots slow;
  ClusterOptions o;
  o.snapshot_entries = 20;  // staggered: node 2 at 22 entries, node 1 at 26, node 3 at 28
  Cluster cluster("snapshot-off-loop", 3, 28660, o);
  cluster.start_all();
  REQUIRE(cluster.wait_for_leader(10s));
  client::Client c(cluster.zmq_context(), cluster.client_options(10s));
  // Node 2 snapshots first, at ~22 MiB of state: about 5 s at 4 MiB/s.
  int written = 0;
  for (; written < 24; ++written) REQUIRE(c.put("k" + std::to_string(written), value_of(written)).outcome == client::Outcome::Ok);

  transport::NodeStatus during;
  REQUIRE(wait_until(
      [&] {
        auto st = cluster.statuses();
        if (!st.count(2) || !st[2].snapshot_running) return false;
        during = st[2];
        return true;
      },
      20s));
  INFO("node 2 took its snapshot child at applied " << during.applied);
  // While the child writes: writes commit, node 2 applies them and answers status.
  for (int i = 0; i < 5; ++i) REQUIRE(c.put("during" + std::to_string(i), "x").outcome == client::Outcome::Ok);
  auto leader = cluster.wait_for_leader(5s);
  REQUIRE(leader);
  const raft::Index commit = cluster.statuses()[*leader].commit;
  bool applied_during = false;
  REQUIRE(wait_until(
      [&] {
        auto st = cluster.statuses();
        if (!st.count(2)) return false;
        if (st[2].snapshot_running && st[2].applied >= commit) applied_during = true;
        return applied_during || !st[2].snapshot_running;
      },
      20s));
  CHECK(applied_during);
  auto serial = client::Client(cluster.zmq_context(), cluster.client_options(5s, 2)).get("during4", true);
  CHECK(serial.outcome == client::Outcome::Ok);

  // The snapshot is recorded once the child is done, and the log compacted up to it.
  transport::NodeStatus after;
  REQUIRE(wait_until(
      [&] {
        auto st = cluster.statuses();
        if (!st.count(2) || st[2].snapshot_running || st[2].snapshot_index == 0) return false;
        after = st[2];
        return true;
      },
      30s));
  CHECK(after.snapshot_index >= 22);  // the index of the fork, which happened before `during`
  CHECK(after.snapshot_index <= during.applied);
  CHECK(after.state_bytes >= 24 * kValueBytes);
  CHECK(after.rss_bytes > 0);
  CHECK_FALSE(has_tmp_file(cluster.node_dir(2) + "/snap"));
  CHECK(cluster.log(2).find("snapshot at index " + std::to_string(after.snapshot_index) + " recorded") !=
        std::string::npos);
}

TEST_CASE("a member killed while its snapshot child writes restarts from a recoverable folder",
          "[integration][snapshot]") {
  SlowSnapshots slow;
  ClusterOptions o;
  o.snapshot_entries = 20;
  Cluster cluster("snapshot-killed", 3, 28680, o);
  cluster.start_all();
  REQUIRE(cluster.wait_for_leader(10s));
  client::Client c(cluster.zmq_context(), cluster.client_options(10s));
  int written = 0;
  for (; written < 24; ++written) REQUIRE(c.put("k" + std::to_string(written), value_of(written)).outcome == client::Outcome::Ok);
  REQUIRE(wait_until([&] { auto st = cluster.statuses(); return st.count(2) && st[2].snapshot_running; }, 20s));

  // Kill -9 mid-write: the child dies with it (it asked for SIGKILL on its parent's death).
  const pid_t node_pid = cluster.pid(2);
  auto children = children_of(node_pid);
  REQUIRE(children.size() == 1);
  cluster.kill(2);
  CHECK(wait_until([&] { return ::kill(children[0], 0) != 0; }, 5s));

  // More writes while it is down; then it restarts on its folder.
  for (; written < 30; ++written) REQUIRE(c.put("k" + std::to_string(written), value_of(written)).outcome == client::Outcome::Ok);
  cluster.start(2);
  auto leader = cluster.wait_for_leader(20s);
  REQUIRE(leader);
  const auto commit = cluster.statuses()[*leader].commit;
  REQUIRE(cluster.wait_applied(commit, 30s));
  CHECK(cluster.log(2).find("unfinished snapshot") != std::string::npos);
  client::Client only2(cluster.zmq_context(), cluster.client_options(5s, 2));
  for (int i = 0; i < written; ++i) {
    auto r = only2.get("k" + std::to_string(i), true);
    REQUIRE(r.outcome == client::Outcome::Ok);
    CHECK(r.value == value_of(i));
  }
}
