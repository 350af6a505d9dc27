// The integration harness and the launcher report a node that cannot start (which node, its
// exit status, the end of its log) instead of waiting for a leader that cannot come; and the
// launcher works from a checkout under a private folder whose path has a space.
#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/integration/cluster_harness.h"

using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using harness::Cluster;

namespace {

// Holds a TCP port of 127.0.0.1 (bound and listening) for the life of the object, so that
// a node configured on it cannot bind it.
class PortSquatter {
 public:
  explicit PortSquatter(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ < 0 || bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd_, 1) != 0)
      throw std::runtime_error("cannot hold port " + std::to_string(port));
  }
  ~PortSquatter() { close(fd_); }

 private:
  int fd_ = -1;
};

int port_of(const std::string& address) { return std::stoi(address.substr(address.rfind(':') + 1)); }

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

harness::RunResult launcher(const std::string& script, const std::string& config, std::vector<std::string> args) {
  std::vector<std::string> argv{"/bin/bash", script, "--config", config};
  argv.insert(argv.end(), args.begin(), args.end());
  return harness::run(argv, "", 60s);
}

// SIGKILLs, whatever happened in the test, every raft-node whose pid file is in `node_dirs`
// and whose command line names `config`.
struct PidFileGuard {
  std::vector<std::string> node_dirs;
  std::string config;
  ~PidFileGuard() {
    for (const auto& d : node_dirs) {
      const pid_t pid = std::atoi(slurp(d + "/node.pid").c_str());
      const std::string cmdline = slurp("/proc/" + std::to_string(pid) + "/cmdline");
      if (pid > 0 && cmdline.find("raft-node") != std::string::npos && cmdline.find(config) != std::string::npos)
        ::kill(pid, SIGKILL);
    }
  }
};

}  // namespace

TEST_CASE("the harness names nodes that cannot start instead of waiting for a leader", "[integration][harness]") {
  Cluster c("harness-exit", 3, 26600);
  std::vector<std::unique_ptr<PortSquatter>> held;
  for (auto id : c.ids()) held.push_back(std::make_unique<PortSquatter>(port_of(c.raft_address(id))));
  c.start_all();
  const auto began = std::chrono::steady_clock::now();
  REQUIRE_THROWS_WITH(c.wait_for_leader(30s), Contains("node 1 (pid") && Contains("exited with code 1") &&
                                                  Contains(c.node_dir(1) + "/node.log") &&
                                                  Contains(c.raft_address(1)));
  CHECK(std::chrono::steady_clock::now() - began < 10s);
  CHECK(c.unexpected_exits().size() == 3);
}

TEST_CASE("cluster.sh start names a node that exits, with its exit status and log", "[integration][launcher]") {
  Cluster c("launcher-exit", 3, 26700);
  PidFileGuard guard{{c.node_dir(1), c.node_dir(2), c.node_dir(3)}, c.config_path()};
  PortSquatter held(port_of(c.raft_address(2)));
  const std::string bin_dir = std::filesystem::path(RAFT_NODE_BIN).parent_path();
  setenv("RAFT_BIN_DIR", bin_dir.c_str(), 1);
  auto start = launcher(CLUSTER_SH, c.config_path(), {"start"});
  INFO(start.out);
  CHECK(start.exit_code == 1);  // a leader (nodes 1 and 3), but node 2 failed
  CHECK_THAT(start.out, Contains("node 2: exited with code 1") && Contains(c.raft_address(2)));
  CHECK_THAT(start.out, Contains("leader"));
  CHECK(launcher(CLUSTER_SH, c.config_path(), {"stop"}).exit_code == 0);
}

TEST_CASE("cluster.sh runs from a checkout under a private folder whose path has a space", "[integration][launcher]") {
  char tmpl[] = "/tmp/raftkv-private-XXXXXX";
  REQUIRE(mkdtemp(tmpl));  // 0700, like a home folder
  const std::string root = std::string(tmpl) + "/my checkout";
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  } cleanup{tmpl};
  // The launcher finds its binaries in build/bin next to scripts/, as in a checkout.
  std::filesystem::create_directories(root + "/scripts");
  std::filesystem::create_directories(root + "/build/bin");
  std::filesystem::create_directories(root + "/my config");
  std::filesystem::copy_file(CLUSTER_SH, root + "/scripts/cluster.sh");
  std::filesystem::copy_file(RAFT_NODE_BIN, root + "/build/bin/raft-node");
  std::filesystem::copy_file(RAFTCTL_BIN, root + "/build/bin/raftctl");
  Cluster c("launcher-private", 3, 26800);  // only for its cluster file (data_dir: data)
  const std::string config = root + "/my config/cluster.yaml";
  std::filesystem::copy_file(c.config_path(), config);
  const std::string data = root + "/my config/data";
  PidFileGuard guard{{data + "/node-1", data + "/node-2", data + "/node-3"}, config};

  unsetenv("RAFT_BIN_DIR");
  const std::string script = root + "/scripts/cluster.sh";
  auto start = launcher(script, config, {"start"});
  INFO(start.out);
  REQUIRE(start.exit_code == 0);
  CHECK_THAT(start.out, Contains("leader"));
  auto status = launcher(script, config, {"status"});
  CHECK_THAT(status.out, Contains("node 3: running"));
  auto stop = launcher(script, config, {"stop"});
  INFO(stop.out);
  CHECK(stop.exit_code == 0);
  CHECK_THAT(stop.out, Contains("node 1: stopped"));
}
