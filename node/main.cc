// raft-node: runs one member of a raftkv cluster in the foreground (README "Killing and restarting nodes").
//
//   raft-node --config FILE --id N [--bootstrap]
//   raft-node --config FILE --print-config      (what scripts/cluster.sh reads)
//
// Test-only environment (chaos and disk fault tests; never set in production):
//   RAFT_TEST_DROP_RATE=P   drop this fraction (0..1) of outgoing peer messages.
//   RAFT_TEST_DELAY_MS=N    hold each outgoing peer message for a random 0..N ms (delay and
//                           reordering, as a slow network would; N up to 10000).
//   RAFT_TEST_FSYNC_DELAY_FILE=PATH   while PATH exists, every fsync of the log first sleeps
//                           for the number of milliseconds written in PATH (a stalling disk).
//   RAFT_TEST_FSYNC_FAIL_FILE=PATH    while PATH exists, every fsync of the log fails with
//                           EIO (a dying disk: the node stops, exit code 1).
//   RAFT_TEST_DISK_FULL_FILE=PATH     while PATH exists, every write of the log fails with
//                           ENOSPC (a full disk: the node pauses its writes until PATH is gone).
// (storage/testing/trigger_fault_env.h; docs/disk_faults.md.)
//   RAFT_TEST_SNAPSHOT_KB_S=N  the child that writes a snapshot writes at most N KiB/s (a
//                           small state then takes seconds: docs/snapshots-taking.md).
//
// raft-node sets GLIBC_TUNABLES=glibc.malloc.hugetlb=1 for itself (re-executing once) when
// GLIBC_TUNABLES is not set: see use_huge_pages below.
//
// Logs go to stdout (the launcher redirects them to <data_dir>/node-N/node.log). Exit codes:
// 0 after a clean stop (SIGTERM/SIGINT), 1 on a startup or storage failure (including a data
// folder held by another raft-node or belonging to another node id or cluster: one line on
// stderr naming the folder and the holder's pid, or both identities), 2 on a usage or config
// error (one line on stderr naming the file and line).
#include <fcntl.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <iostream>

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "config/cluster_config.h"
#include "node/node.h"
#include "storage/testing/trigger_fault_env.h"

namespace {

void print_config(const config::ClusterConfig& c) {
  std::cout << "cluster_id " << c.cluster_id << "\n"
            << "data_dir " << c.data_dir << "\n"
            << "tick_ms " << c.tick_ms << "\n"
            << "election_ticks " << c.election_ticks << "\n";
  for (const auto& n : c.nodes) std::cout << "node " << n.id << " " << n.raft << " " << n.client << "\n";
}

}  // namespace

// Snapshots are written by a forked child (node/snapshot_taker.h), and fork() copies the
// page tables of the whole state while the loop waits: at 1 GiB of 4 KiB pages that measured
// 39-115 ms on the 2-core test machine, 7-16 ms once malloc hands out transparent huge pages
// (one entry per 2 MiB; the kernel still copies only 4 KiB on a write after the fork).
// glibc reads that setting from the environment at start-up only, so the process re-executes
// itself once with it, unless GLIBC_TUNABLES is already set (the operator's choice wins).
static void use_huge_pages(char** argv) {
  if (std::getenv("GLIBC_TUNABLES") != nullptr) return;
  if (::setenv("GLIBC_TUNABLES", "glibc.malloc.hugetlb=1", 1) != 0) return;
  ::execv("/proc/self/exe", argv);
  ::unsetenv("GLIBC_TUNABLES");  // exec failed: carry on with small pages
}

int main(int argc, char** argv) {
  use_huge_pages(argv);
  CLI::App app{"raft-node: one member of a raftkv cluster, in the foreground.\n"
               "Stop it with SIGTERM or SIGINT. Exit codes: 0 clean stop, 1 startup or storage failure,\n"
               "2 usage or config error."};
  std::string config_path;
  uint64_t id = 0;
  bool bootstrap = false, print = false;
  app.add_option("--config", config_path, "the cluster file")->required();
  app.add_option("--id", id, "this member's id in the cluster file");
  app.add_flag("--bootstrap", bootstrap,
               "with an empty data dir, create a new cluster whose voters are the file's nodes "
               "(ignored when data exists)");
  app.add_flag("--print-config", print, "print the resolved cluster file (data_dir, nodes) and exit");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    (void)app.exit(e);
    return 2;
  }

  auto loaded = config::load(config_path);
  if (auto* err = std::get_if<config::ConfigError>(&loaded)) {
    std::cerr << "raft-node: config error: " << err->message << "\n";
    return 2;
  }
  auto& cluster = std::get<config::ClusterConfig>(loaded);
  if (print) {
    print_config(cluster);
    return 0;
  }
  if (id == 0) {
    std::cerr << "raft-node: --id is required\n";
    return 2;
  }
  if (!cluster.find(id)) {
    std::cerr << "raft-node: config error: " << cluster.path << ": no node with id " << id << "\n";
    return 2;
  }

  auto logger = spdlog::stdout_logger_mt("raft-node");
  logger->set_pattern("%Y-%m-%d %H:%M:%S.%e [node " + std::to_string(id) + "] %l: %v");
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::info);

  // SIGTERM and SIGINT are blocked in every thread (ZeroMQ's I/O threads, created later,
  // inherit this mask) and only read through a signalfd that the event loop polls. With a
  // handler instead, a signal landing inside a ZeroMQ call made it fail with EINTR, and the
  // node stopped with "fatal: Interrupted system call" and exit code 1 instead of cleanly.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  const int stop_fd = signalfd(-1, &stop_signals, SFD_NONBLOCK | SFD_CLOEXEC);
  if (stop_fd < 0) {
    spdlog::critical("signalfd: {}", strerror(errno));
    return 1;
  }
  signal(SIGPIPE, SIG_IGN);

  double drop_rate = 0;
  if (const char* v = std::getenv("RAFT_TEST_DROP_RATE")) {
    char* end = nullptr;
    drop_rate = std::strtod(v, &end);
    if (end == v || *end != '\0' || !(drop_rate >= 0 && drop_rate <= 1)) {
      std::cerr << "raft-node: RAFT_TEST_DROP_RATE must be a number between 0 and 1, not '" << v << "'\n";
      return 2;
    }
  }

  int delay_ms = 0;
  if (const char* v = std::getenv("RAFT_TEST_DELAY_MS")) {
    char* end = nullptr;
    const long n = std::strtol(v, &end, 10);
    if (end == v || *end != '\0' || n < 0 || n > 10000) {
      std::cerr << "raft-node: RAFT_TEST_DELAY_MS must be a whole number of milliseconds from 0 to 10000, not '" << v
                << "'\n";
      return 2;
    }
    delay_ms = static_cast<int>(n);
  }

  uint64_t snapshot_kb_s = 0;
  if (const char* v = std::getenv("RAFT_TEST_SNAPSHOT_KB_S")) {
    char* end = nullptr;
    const long long n = std::strtoll(v, &end, 10);
    if (end == v || *end != '\0' || n < 0) {
      std::cerr << "raft-node: RAFT_TEST_SNAPSHOT_KB_S must be a whole number of KiB per second, not '" << v << "'\n";
      return 2;
    }
    snapshot_kb_s = static_cast<uint64_t>(n);
  }

  storage::TriggerFiles triggers;
  for (auto [name, field] : {std::pair{"RAFT_TEST_FSYNC_DELAY_FILE", &triggers.fsync_delay_file},
                             std::pair{"RAFT_TEST_FSYNC_FAIL_FILE", &triggers.fsync_fail_file},
                             std::pair{"RAFT_TEST_DISK_FULL_FILE", &triggers.disk_full_file}}) {
    if (const char* v = std::getenv(name); v && *v) *field = v;
  }
  std::shared_ptr<storage::Env> test_env;
  if (triggers.any()) {
    test_env = std::make_shared<storage::TriggerFaultEnv>(storage::default_env(), triggers);
    spdlog::warn("test fault hooks on disk writes (test-only): fsync delay file '{}', fsync fail file '{}', "
                 "disk full file '{}'",
                 triggers.fsync_delay_file, triggers.fsync_fail_file, triggers.disk_full_file);
  }

  spdlog::info("starting: pid {}, config {}, data {}", getpid(), cluster.path, cluster.node_dir(id));
  int rc = 0;
  {
    zmq::context_t ctx(1);
    node::NodeOptions opts{std::move(cluster), id, bootstrap, false, drop_rate, test_env, delay_ms};
  opts.test_snapshot_bytes_per_s = snapshot_kb_s << 10;
    auto created = node::Node::create(ctx, std::move(opts));
    if (auto* err = std::get_if<std::string>(&created)) {
      spdlog::critical("cannot start: {}", *err);
      std::cerr << "raft-node: cannot start: " << *err << "\n";
      return 1;
    }
    try {
      rc = std::get<std::unique_ptr<node::Node>>(created)->run(stop_fd);
    } catch (const std::exception& e) {
      // Nothing the network sends may get here (it is dropped and counted); this is a bug
      // or a broken environment, and stopping is safer than serving half-initialised.
      spdlog::critical("fatal: {}", e.what());
      rc = 1;
    }
  }
  spdlog::info("stopped (exit code {})", rc);
  return rc;
}
