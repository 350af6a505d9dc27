// ClusterHarness: real raft-node processes on loopback for integration tests.
//
// Each harness owns a fresh temporary directory (cluster file + data), its own port range
// (raft = base + id, client = base + 50 + id: give every TEST_CASE its own multiple of 100
// in 24100..29900) and every process it starts. The destructor
// SIGKILLs and reaps every process still running, whatever happened in the test, and the
// children are also started with PR_SET_PDEATHSIG so that they die with the test process
// even if it is killed by a CTest timeout. When a test fails (an exception is unwinding) the
// tail of every node log is printed and the directory is kept.
//
// Waits are polls with deadlines (wait_until), never bare sleeps. A node that exits without
// being told to (kill/stop) is remembered with its exit status; wait_for_leader gives up at
// once, throwing NodeExited with each such node's status and the end of its log, when the
// nodes still alive can no longer form a majority (no leader can come), and a failing test
// prints the same report.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "client/client.h"
#include "transport/client_protocol.h"

namespace harness {

using namespace std::chrono_literals;

struct ClusterOptions {
  std::string cluster_id = "it";
  int tick_ms = 20;
  int election_ticks = 10;
  int heartbeat_ticks = 2;
  bool fsync = true;
  uint64_t snapshot_entries = 10000;
};

// "exited with code 1", "killed by signal Killed": a waitpid() status in words.
std::string describe_exit(int status);
// The last `lines` lines of a file ("" if it cannot be read).
std::string tail_lines(const std::string& path, size_t lines);
// Thrown by wait_for_leader when nodes exited on their own and too few are left to elect.
struct NodeExited : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Polls `cond` every 20 ms until it holds or `timeout` passes; returns its last value.
bool wait_until(const std::function<bool()>& cond, std::chrono::milliseconds timeout);

struct RunResult {
  int exit_code = -1;
  std::string out;  // stdout and stderr together
};
// Runs a program to completion (argv[0] is the path), with `input` on its stdin.
RunResult run(const std::vector<std::string>& argv, const std::string& input = "",
              std::chrono::milliseconds timeout = 30s);

class Cluster {
 public:
  Cluster(std::string test_name, int nodes, int base_port, ClusterOptions opts = {});
  ~Cluster();
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  const std::string& dir() const { return dir_; }
  const std::string& config_path() const { return config_path_; }
  std::vector<uint64_t> ids() const;
  std::string node_dir(uint64_t id) const;
  std::string raft_address(uint64_t id) const;
  std::string client_address(uint64_t id) const;
  // Writes a cluster file at `path` listing `ids` (this cluster's addresses and data dir) with
  // the settings of `o`; `extra` holds more top-level lines ("key: value\n"), put before the
  // node list. The constructor writes config_path() this way.
  void write_config(const std::string& path, const std::vector<uint64_t>& ids, const ClusterOptions& o,
                    const std::string& extra = "") const;
  // One election timeout at the configured tick (the upper end of the randomized range).
  std::chrono::milliseconds election_timeout() const;

  void start(uint64_t id, bool bootstrap = true);
  void start_all(bool bootstrap = true);
  // Sends `sig` and, for SIGKILL, reaps the process.
  void kill(uint64_t id, int sig = 9);
  // SIGTERM, then waits up to `timeout` for the exit; returns the exit code (-1 if it did
  // not exit in time or died of a signal).
  int stop(uint64_t id, std::chrono::milliseconds timeout = 10s);
  bool running(uint64_t id);
  pid_t pid(uint64_t id) const;
  std::string log(uint64_t id) const;
  // Nodes that exited without being told to since their last start, and how:
  // "node 3 (pid 123) exited with code 126 without being told to; last lines of .../node.log: ..."
  std::vector<std::string> unexpected_exits();

  // Status of every member (short timeout), by id; absent members did not answer.
  std::map<uint64_t, transport::NodeStatus> statuses(std::chrono::milliseconds timeout = 500ms);
  // Waits until one reachable node is leader and every running node agrees on it.
  std::optional<uint64_t> wait_for_leader(std::chrono::milliseconds timeout);
  // Waits until every running node has applied at least `index`.
  bool wait_applied(raft::Index index, std::chrono::milliseconds timeout);

  client::Options client_options(std::chrono::milliseconds timeout = 5s, uint64_t only_node = 0) const;
  zmq::context_t& zmq_context() { return ctx_; }
  // Runs raftctl with --config of this cluster prepended.
  RunResult raftctl(const std::vector<std::string>& args, const std::string& input = "",
                    std::chrono::milliseconds timeout = 30s) const;

 private:
  std::string test_name_;
  std::string dir_;
  std::string config_path_;
  int nodes_;
  int base_port_;
  ClusterOptions opts_;
  // Finds started nodes that have exited (reaping them) and records those exits.
  void reap();
  std::string exit_report(uint64_t id, pid_t pid, int status) const;

  std::map<uint64_t, pid_t> pids_;
  std::map<uint64_t, std::string> exits_;  // id -> report of its unexpected exit
  std::set<uint64_t> told_;                // sent a signal that ends it, not yet reaped
  zmq::context_t ctx_;
};

}  // namespace harness
