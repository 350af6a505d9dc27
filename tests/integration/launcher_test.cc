// scripts/cluster.sh driven as a user would, including the ways a pid file can lie: a stale
// pid of another live process, and a killed node that was never reaped (a zombie).
#include <catch2/catch.hpp>

#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/integration/cluster_harness.h"

using namespace std::chrono_literals;
using harness::Cluster;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Kills, at the end of the test whatever happened, every raft-node the launcher started for
// this cluster file (found through the pid files, checked against /proc/PID/cmdline).
struct LauncherGuard {
  const Cluster& c;
  ~LauncherGuard() {
    for (auto id : c.ids()) {
      const std::string pid_text = slurp(c.node_dir(id) + "/node.pid");
      if (pid_text.empty()) continue;
      const pid_t pid = std::atoi(pid_text.c_str());
      const std::string cmdline = slurp("/proc/" + std::to_string(pid) + "/cmdline");
      if (pid > 0 && cmdline.find("raft-node") != std::string::npos &&
          cmdline.find(c.config_path()) != std::string::npos)
        ::kill(pid, SIGKILL);
    }
  }
};

harness::RunResult launcher(const Cluster& c, std::vector<std::string> args) {
  std::vector<std::string> argv{"/bin/bash", CLUSTER_SH, "--config", c.config_path()};
  argv.insert(argv.end(), args.begin(), args.end());
  return harness::run(argv, "", 60s);
}

}  // namespace

TEST_CASE("cluster.sh starts, inspects, pauses, restarts, stops and cleans a cluster", "[integration][launcher]") {
  const std::string bin_dir = std::filesystem::path(RAFT_NODE_BIN).parent_path();
  setenv("RAFT_BIN_DIR", bin_dir.c_str(), 1);
  Cluster c("launcher", 3, 25300);
  LauncherGuard guard{c};

  auto start = launcher(c, {"start"});
  INFO(start.out);
  REQUIRE(start.exit_code == 0);
  CHECK(start.out.find("bootstrapping a new cluster") != std::string::npos);
  CHECK(start.out.find("leader") != std::string::npos);
  REQUIRE(c.raftctl({"put", "k", "v"}).exit_code == 0);

  auto status = launcher(c, {"status"});
  CHECK(status.exit_code == 0);
  CHECK(status.out.find("node 3: running") != std::string::npos);

  // A stale pid file naming a live process that is not this node (the test itself).
  REQUIRE(launcher(c, {"kill", "2"}).exit_code == 0);
  { std::ofstream(c.node_dir(2) + "/node.pid") << getpid() << "\n"; }
  status = launcher(c, {"status"});
  CHECK(status.out.find("node 2: not running") != std::string::npos);
  CHECK(launcher(c, {"stop", "2"}).out.find("node 2: not running") != std::string::npos);

  // A zombie: a node 2 killed but not reaped still answers kill -0.
  c.start(2, false);
  const pid_t zombie = c.pid(2);
  REQUIRE(harness::wait_until([&] { return c.log(2).find("serving") != std::string::npos; }, 10s));
  ::kill(zombie, SIGKILL);
  REQUIRE(harness::wait_until([&] { return slurp("/proc/" + std::to_string(zombie) + "/stat").find(") Z") != std::string::npos; }, 5s));
  { std::ofstream(c.node_dir(2) + "/node.pid") << zombie << "\n"; }
  status = launcher(c, {"status"});
  CHECK(status.out.find("node 2: not running") != std::string::npos);
  auto restart2 = launcher(c, {"start", "2"});
  INFO(restart2.out);
  CHECK(restart2.exit_code == 0);
  CHECK(restart2.out.find("node 2: started") != std::string::npos);
  CHECK(restart2.out.find("bootstrapping") == std::string::npos);  // data exists

  // pause / resume
  CHECK(launcher(c, {"pause", "1"}).exit_code == 0);
  CHECK(launcher(c, {"status"}).out.find("node 1: paused") != std::string::npos);
  CHECK(launcher(c, {"resume", "1"}).exit_code == 0);
  CHECK(launcher(c, {"status"}).out.find("node 1: running") != std::string::npos);

  CHECK(launcher(c, {"restart", "3"}).exit_code == 0);
  CHECK(launcher(c, {"logs", "3"}).out.find("stopped (exit code 0)") != std::string::npos);

  auto stop = launcher(c, {"stop"});
  INFO(stop.out);
  CHECK(stop.exit_code == 0);
  CHECK(stop.out.find("SIGKILL") == std::string::npos);
  CHECK(launcher(c, {"status"}).out.find("running (pid") == std::string::npos);

  // Restart from the data: no bootstrap, the write is still there.
  start = launcher(c, {"start"});
  REQUIRE(start.exit_code == 0);
  CHECK(start.out.find("bootstrapping") == std::string::npos);
  auto get = c.raftctl({"get", "k"});
  CHECK(get.out == "v\n");

  CHECK(launcher(c, {"clean"}).exit_code == 0);
  CHECK_FALSE(std::filesystem::exists(c.node_dir(1)));

  // Usage errors.
  CHECK(launcher(c, {"frobnicate"}).exit_code == 2);
  CHECK(launcher(c, {"kill", "9"}).exit_code == 2);
}
