#include "tests/integration/cluster_harness.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace harness {
namespace {

using Clock = std::chrono::steady_clock;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Closes every inherited descriptor above stderr in a forked child (ZeroMQ's sockets and
// eventfds must not leak into raft-node).
void close_inherited_fds() {
  for (int fd = 3; fd < 1024; ++fd) close(fd);
}

}  // namespace

std::string describe_exit(int status) {
  if (WIFEXITED(status)) return "exited with code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("killed by signal ") + strsignal(WTERMSIG(status));
  return "stopped";
}

std::string tail_lines(const std::string& path, size_t lines) {
  std::istringstream in(read_file(path));
  std::vector<std::string> all;
  for (std::string l; std::getline(in, l);) all.push_back(l);
  std::string out;
  for (size_t i = all.size() > lines ? all.size() - lines : 0; i < all.size(); ++i) out += all[i] + "\n";
  return out;
}

bool wait_until(const std::function<bool()>& cond, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    if (cond()) return true;
    if (Clock::now() >= deadline) return cond();
    std::this_thread::sleep_for(20ms);
  }
}

RunResult run(const std::vector<std::string>& argv, const std::string& input, std::chrono::milliseconds timeout) {
  char in_path[] = "/tmp/raftkv-it-in-XXXXXX";
  char out_path[] = "/tmp/raftkv-it-out-XXXXXX";
  const int in_fd = mkstemp(in_path);
  const int out_fd = mkstemp(out_path);
  if (in_fd < 0 || out_fd < 0) throw std::runtime_error("mkstemp failed");
  if (!input.empty() && write(in_fd, input.data(), input.size()) != static_cast<ssize_t>(input.size()))
    throw std::runtime_error("cannot write the input file");
  lseek(in_fd, 0, SEEK_SET);
  // Built before fork: the child of a threaded process may only make async-signal-safe calls.
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    dup2(in_fd, 0);
    dup2(out_fd, 1);
    dup2(out_fd, 2);
    close_inherited_fds();
    execv(args[0], args.data());
    _exit(127);
  }
  close(in_fd);
  close(out_fd);
  RunResult res;
  const auto deadline = Clock::now() + timeout;
  int status = 0;
  while (true) {
    const pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (Clock::now() >= deadline) {
      ::kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      res.out = "(timed out)\n";
      break;
    }
    std::this_thread::sleep_for(5ms);
  }
  if (WIFEXITED(status)) res.exit_code = WEXITSTATUS(status);
  res.out += read_file(out_path);
  unlink(in_path);
  unlink(out_path);
  return res;
}

Cluster::Cluster(std::string test_name, int nodes, int base_port, ClusterOptions opts)
    : test_name_(std::move(test_name)), nodes_(nodes), base_port_(base_port), opts_(std::move(opts)), ctx_(1) {
  char tmpl[] = "/tmp/raftkv-it-XXXXXX";
  if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  config_path_ = dir_ + "/cluster.yaml";
  write_config(config_path_, ids(), opts_);
}

void Cluster::write_config(const std::string& path, const std::vector<uint64_t>& ids, const ClusterOptions& o,
                           const std::string& extra) const {
  std::ofstream f(path);
  f << "cluster_id: " << o.cluster_id << "\n"
    << "data_dir: data\n"
    << "tick_ms: " << o.tick_ms << "\n"
    << "election_ticks: " << o.election_ticks << "\n"
    << "heartbeat_ticks: " << o.heartbeat_ticks << "\n"
    << "fsync: " << (o.fsync ? "true" : "false") << "\n"
    << "snapshot_entries: " << o.snapshot_entries << "\n"
    << extra << "nodes:\n";
  for (auto id : ids)
    f << "  - id: " << id << "\n    raft: " << raft_address(id) << "\n    client: " << client_address(id) << "\n";
  if (!f.flush()) throw std::runtime_error("cannot write " + path);
}

Cluster::~Cluster() {
  for (auto& [id, pid] : pids_) {
    ::kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
  }
  if (std::uncaught_exceptions() > 0) {
    std::cerr << "== " << test_name_ << " failed; data kept in " << dir_ << "\n";
    for (const auto& [id, report] : exits_) std::cerr << "-- " << report.substr(0, report.find('\n')) << "\n";
    for (int id = 1; id <= nodes_; ++id) {
      std::istringstream lines(log(id));
      std::vector<std::string> all;
      for (std::string l; std::getline(lines, l);) all.push_back(l);
      std::cerr << "-- node " << id << " log (last 25 lines)\n";
      for (size_t i = all.size() > 25 ? all.size() - 25 : 0; i < all.size(); ++i) std::cerr << all[i] << "\n";
    }
    return;
  }
  if (!std::getenv("RAFTKV_KEEP_TMP")) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

std::vector<uint64_t> Cluster::ids() const {
  std::vector<uint64_t> out;
  for (int id = 1; id <= nodes_; ++id) out.push_back(id);
  return out;
}
std::string Cluster::node_dir(uint64_t id) const { return dir_ + "/data/node-" + std::to_string(id); }
std::string Cluster::raft_address(uint64_t id) const {
  return "tcp://127.0.0.1:" + std::to_string(base_port_ + id);
}
std::string Cluster::client_address(uint64_t id) const {
  return "tcp://127.0.0.1:" + std::to_string(base_port_ + 50 + id);
}
std::chrono::milliseconds Cluster::election_timeout() const {
  return std::chrono::milliseconds(2 * opts_.tick_ms * opts_.election_ticks);
}

void Cluster::start(uint64_t id, bool bootstrap) {
  if (running(id)) throw std::logic_error("node " + std::to_string(id) + " is already running");
  exits_.erase(id);
  std::filesystem::create_directories(node_dir(id));
  const std::string log_path = node_dir(id) + "/node.log";
  std::vector<std::string> argv{RAFT_NODE_BIN, "--config", config_path_, "--id", std::to_string(id)};
  if (bootstrap) argv.push_back("--bootstrap");
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    const int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    const int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    close_inherited_fds();
    execv(args[0], args.data());
    _exit(127);
  }
  pids_[id] = pid;
}

void Cluster::start_all(bool bootstrap) {
  for (auto id : ids()) start(id, bootstrap);
}

void Cluster::kill(uint64_t id, int sig) {
  auto it = pids_.find(id);
  if (it == pids_.end()) return;
  if (sig != SIGSTOP && sig != SIGCONT) told_.insert(id);
  ::kill(it->second, sig);
  if (sig == SIGKILL) {
    int status;
    waitpid(it->second, &status, 0);
    pids_.erase(it);
    told_.erase(id);
  }
}

int Cluster::stop(uint64_t id, std::chrono::milliseconds timeout) {
  auto it = pids_.find(id);
  if (it == pids_.end()) return -1;
  const pid_t pid = it->second;
  told_.insert(id);
  ::kill(pid, SIGTERM);
  const auto deadline = Clock::now() + timeout;
  int status = 0;
  while (waitpid(pid, &status, WNOHANG) != pid) {
    if (Clock::now() >= deadline) return -1;  // the destructor kills it
    std::this_thread::sleep_for(10ms);
  }
  pids_.erase(it);
  told_.erase(id);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool Cluster::running(uint64_t id) {
  reap();
  return pids_.count(id) > 0;
}

void Cluster::reap() {
  for (auto it = pids_.begin(); it != pids_.end();) {
    int status = 0;
    if (waitpid(it->second, &status, WNOHANG) != it->second) {
      ++it;
      continue;
    }
    if (!told_.erase(it->first)) exits_[it->first] = exit_report(it->first, it->second, status);
    it = pids_.erase(it);
  }
}

std::string Cluster::exit_report(uint64_t id, pid_t pid, int status) const {
  const std::string log_path = node_dir(id) + "/node.log";
  std::string tail = tail_lines(log_path, 10);
  if (tail.empty()) tail = "(empty: the process wrote nothing, e.g. it could not be executed)\n";
  return "node " + std::to_string(id) + " (pid " + std::to_string(pid) + ") " + describe_exit(status) +
         " without being told to; last lines of " + log_path + ":\n" + tail;
}

std::vector<std::string> Cluster::unexpected_exits() {
  reap();
  std::vector<std::string> out;
  for (const auto& [id, report] : exits_) out.push_back(report);
  return out;
}

pid_t Cluster::pid(uint64_t id) const {
  auto it = pids_.find(id);
  return it == pids_.end() ? -1 : it->second;
}

std::string Cluster::log(uint64_t id) const { return read_file(node_dir(id) + "/node.log"); }

client::Options Cluster::client_options(std::chrono::milliseconds timeout, uint64_t only_node) const {
  client::Options o;
  for (auto id : ids()) o.members.push_back({id, client_address(id)});
  o.timeout = timeout;
  o.only_node = only_node;
  o.cluster_id = opts_.cluster_id;
  o.attempt_timeout = std::max<std::chrono::milliseconds>(300ms, 2 * election_timeout());
  return o;
}

std::map<uint64_t, transport::NodeStatus> Cluster::statuses(std::chrono::milliseconds timeout) {
  client::Client c(ctx_, client_options(timeout));
  std::map<uint64_t, transport::NodeStatus> out;
  for (auto& s : c.status_all(timeout))
    if (s.reachable) out[s.member.id] = s.status;
  return out;
}

std::optional<uint64_t> Cluster::wait_for_leader(std::chrono::milliseconds timeout) {
  std::optional<uint64_t> leader;
  wait_until(
      [&] {
        leader.reset();
        size_t alive = 0;
        for (auto id : ids()) alive += running(id) ? 1 : 0;
        if (!exits_.empty() && alive < ids().size() / 2 + 1) {
          std::string why = "no leader can be elected: only " + std::to_string(alive) + " of " +
                            std::to_string(ids().size()) + " nodes are running\n";
          for (const auto& [id, report] : exits_) why += report;
          throw NodeExited(why);
        }
        auto st = statuses(300ms);
        if (st.size() < alive) return false;
        uint64_t agreed = 0;
        for (auto& [id, s] : st) {
          if (s.leader == 0 || (agreed != 0 && s.leader != agreed)) return false;
          agreed = s.leader;
        }
        if (agreed == 0 || !st.count(agreed) || st[agreed].role != "leader") return false;
        leader = agreed;
        return true;
      },
      timeout);
  return leader;
}

bool Cluster::wait_applied(raft::Index index, std::chrono::milliseconds timeout) {
  return wait_until(
      [&] {
        auto st = statuses(300ms);
        for (auto id : ids()) {
          if (!running(id)) continue;
          if (!st.count(id) || st[id].applied < index) return false;
        }
        return true;
      },
      timeout);
}

RunResult Cluster::raftctl(const std::vector<std::string>& args, const std::string& input,
                           std::chrono::milliseconds timeout) const {
  std::vector<std::string> argv{RAFTCTL_BIN, "--config", config_path_};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, input, timeout);
}

}  // namespace harness
