// The chaos harness itself, under the conditions a newcomer's checkout puts it in: the binary
// under a private (0700) folder whose path has a space, and a node that cannot start at all.
// Both once ended in a bare "no leader in 30 s" (the nodes' uids could not reach the binary).
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "tests/chaos/chaos_cluster.h"
#include "tests/integration/cluster_harness.h"

using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using chaos::ChaosCluster;
using chaos::ChaosClusterOptions;

namespace {

// A private folder (mkdtemp makes it 0700, as home folders are) holding "my checkout/bin/",
// removed at the end of the test.
struct PrivateCheckout {
  std::string root;
  std::string bin_dir;
  PrivateCheckout() {
    char tmpl[] = "/tmp/raftkv-private-XXXXXX";
    if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
    root = tmpl;
    bin_dir = root + "/my checkout/build/bin";
    std::filesystem::create_directories(bin_dir);
  }
  ~PrivateCheckout() {
    std::error_code ec;
    std::filesystem::remove_all(root, ec);
  }
};

ChaosClusterOptions quiet_cluster(int nodes) {
  ChaosClusterOptions o;
  o.nodes = nodes;
  o.network = {0, 0};
  o.cluster_id = "harness";
  return o;
}

void remove_run_dir(const ChaosCluster& c) {
  std::error_code ec;
  std::filesystem::remove_all(c.dir(), ec);
}

}  // namespace

TEST_CASE("chaos nodes run under their own uids from a private checkout whose path has a space",
          "[chaos][harness]") {
  PrivateCheckout checkout;
  struct stat st {};
  REQUIRE(stat(checkout.root.c_str(), &st) == 0);
  REQUIRE((st.st_mode & 0777) == 0700);
  const std::string bin = checkout.bin_dir + "/raft-node";
  std::filesystem::copy_file(RAFT_NODE_BIN, bin);

  auto o = quiet_cluster(3);
  o.raft_node_bin = bin;
  ChaosCluster c(o);
  if (geteuid() == 0) {
    INFO(c.why_shared_uid());
    REQUIRE(c.separate_uids());  // so partitions stay meaningful
  } else {
    WARN("not root: the nodes share this uid; only the path is exercised");
  }
  for (auto id : c.ids()) c.start(id);
  REQUIRE(c.wait_for_leader(30s));
  CHECK(c.crashes().empty());
  remove_run_dir(c);
}

TEST_CASE("a chaos node that cannot start is named with its exit status and log, at once", "[chaos][harness]") {
  PrivateCheckout checkout;
  const std::string bin = checkout.bin_dir + "/raft-node";
  {
    std::ofstream f(bin);
    f << "#!/bin/sh\necho 'fake raft-node: refusing to start' >&2\nexit 3\n";
  }
  chmod(bin.c_str(), 0755);

  auto o = quiet_cluster(3);
  o.raft_node_bin = bin;
  ChaosCluster c(o);
  for (auto id : c.ids()) c.start(id);
  const auto began = std::chrono::steady_clock::now();
  REQUIRE_THROWS_WITH(c.wait_for_leader(30s), Contains("node 1 (pid") && Contains("exited with code 3") &&
                                                  Contains("fake raft-node: refusing to start") &&
                                                  Contains("only 0 of 3 nodes are running"));
  CHECK(std::chrono::steady_clock::now() - began < 10s);  // not the 30 s timeout
  remove_run_dir(c);
}
