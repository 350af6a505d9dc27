// ChaosCluster: a cluster of real raft-node processes built for fault injection.
//
// Every node listens on its own loopback address (127.0.X.(11..), raft and client ports the
// same on every address) and runs under its own user id (kUidBase + id when the test runs as
// root), so that the firewall (firewall.h) can cut the traffic of one node pair: a packet is
// matched by the sending socket's owner (the node) and its destination address (the peer).
// Without root the nodes run as the current user and partitions are unavailable.
//
// Those uids own nothing on the machine: they cannot traverse a private (0700) folder such as
// the home folder a checkout usually sits in. So everything a node needs is in the run
// directory the cluster creates under /tmp (0755): the cluster file, the data and a copy of
// the raft-node binary. Before relying on separate uids the constructor checks that such a
// uid can execute that copy and read the cluster file; if not, the nodes run as the current
// user and why_shared_uid() says why (partitions are then unavailable, see Firewall).
//
// The cluster owns every process it starts: the destructor SIGKILLs and reaps them all, the
// children die with the test process (PR_SET_PDEATHSIG), and their pids are also published to
// the signal-safe emergency cleanup (emergency.h). A node that exits without having been told
// to (a crash) is recorded in crashes(), with its exit status.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "client/client.h"
#include "transport/client_protocol.h"

namespace chaos {

inline constexpr uid_t kUidBase = 61000;

// What the network does to one node's outgoing peer messages (raft-node's test-only hooks:
// RAFT_TEST_DROP_RATE, RAFT_TEST_DELAY_MS; the kernel here has no netem).
struct NetworkFaults {
  double drop_rate = 0;  // fraction lost
  int delay_ms = 0;      // each held for a random 0..delay_ms: delays and reordering
  bool operator==(const NetworkFaults&) const = default;
};

struct ChaosClusterOptions {
  int nodes = 5;
  int tick_ms = 20;
  int election_ticks = 10;
  int heartbeat_ticks = 2;
  uint64_t snapshot_entries = 500;  // small, so that snapshots and compaction happen under faults
  std::string cluster_id = "chaos";
  // Every node's network for the whole run, underneath every other fault: a little loss,
  // delay and reordering.
  NetworkFaults network{0.02, 2};
  // The raft-node to run; the cluster runs a copy of it from its run directory.
  std::string raft_node_bin = RAFT_NODE_BIN;
};

class ChaosCluster {
 public:
  // Creates the temporary directory and the cluster file; starts nothing.
  explicit ChaosCluster(ChaosClusterOptions opts);
  ~ChaosCluster();
  ChaosCluster(const ChaosCluster&) = delete;
  ChaosCluster& operator=(const ChaosCluster&) = delete;

  const std::string& dir() const { return dir_; }
  const std::string& config_path() const { return config_path_; }
  std::vector<uint64_t> ids() const;
  std::string host(uint64_t id) const;  // "127.0.X.(10+id)"
  int raft_port() const { return port_; }
  int client_port() const { return port_ + 1; }
  uid_t uid(uint64_t id) const;
  bool separate_uids() const { return separate_uids_; }
  // Why the nodes share the current uid ("" when they run under their own).
  const std::string& why_shared_uid() const { return why_shared_uid_; }
  // The binary the nodes run (the copy in the run directory).
  const std::string& node_bin() const { return node_bin_; }
  std::string log_path(uint64_t id) const;
  std::chrono::milliseconds election_timeout() const;

  // Process control. start() is a no-op for a running node; kill() sends SIGKILL and reaps;
  // pause()/resume() send SIGSTOP/SIGCONT.
  void start(uint64_t id);
  void kill(uint64_t id);
  void pause(uint64_t id);
  void resume(uint64_t id);
  bool running(uint64_t id);
  bool paused(uint64_t id) const;
  // One node's network from its next start on (the options' until changed).
  void set_network(uint64_t id, NetworkFaults n);
  NetworkFaults network(uint64_t id) const;
  // Membership faults. A node removed from the membership stops itself with exit code 0:
  // expect_exit() makes reap() record that as a departure, not a crash. wipe() deletes a
  // stopped node's data (its log files stay, renamed) and makes its next start one of an
  // empty member waiting to be added (no --bootstrap).
  void expect_exit(uint64_t id);
  void wipe(uint64_t id);
  // A cluster file listing every node but `id` (for push-config), and the full one.
  std::string config_without(uint64_t id) const;
  // Reaps nodes that exited on their own and records them as crashes (or departures).
  void reap();
  std::vector<std::string> crashes();

  client::Options client_options(std::chrono::milliseconds timeout, uint64_t only_node = 0) const;
  // Status of every member that answers within `timeout`.
  std::map<uint64_t, transport::NodeStatus> statuses(std::chrono::milliseconds timeout);
  // The node every reachable running member agrees is leader (and which says so), if any.
  std::optional<uint64_t> leader(std::chrono::milliseconds timeout = std::chrono::milliseconds(300));
  // Throws harness::NodeExited (naming each crashed node, its exit status and the end of its
  // log) as soon as crashes leave too few nodes running for a majority.
  std::optional<uint64_t> wait_for_leader(std::chrono::milliseconds timeout);
  // The reachable node that says it is leader at the highest term (during a partition an
  // old leader may still believe it leads its minority), if any.
  std::optional<uint64_t> claimed_leader(std::chrono::milliseconds timeout = std::chrono::milliseconds(300));

 private:
  void write_config(const std::string& path, const std::vector<uint64_t>& members) const;
  // "" if uid `u` can execute node_bin_ and read the cluster file, else what it cannot do.
  std::string check_uid_access(uid_t u) const;
  NetworkFaults network_locked(uint64_t id) const;  // network(id) with mu_ held

  ChaosClusterOptions opts_;
  std::string dir_;
  std::string config_path_;
  int subnet_ = 0;
  int port_ = 0;
  bool separate_uids_ = false;
  std::string why_shared_uid_;
  std::string node_bin_;
  mutable std::mutex mu_;  // guards pids_, paused_, crashes_ (the nemesis and the checker share them)
  std::map<uint64_t, pid_t> pids_;
  std::set<uint64_t> paused_;
  std::vector<std::string> crashes_;
  std::map<uint64_t, NetworkFaults> network_;
  std::set<uint64_t> no_bootstrap_;  // wiped: start as an empty member, not a founder
  std::set<uint64_t> may_exit_;      // being removed: an exit with code 0 is expected
  int wipes_ = 0;
  zmq::context_t ctx_;
};

}  // namespace chaos
