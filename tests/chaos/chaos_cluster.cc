#include "tests/chaos/chaos_cluster.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>

#include "tests/chaos/emergency.h"
#include "tests/integration/cluster_harness.h"

namespace chaos {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;


}  // namespace

ChaosCluster::ChaosCluster(ChaosClusterOptions opts) : opts_(std::move(opts)), ctx_(1) {
  char tmpl[] = "/tmp/raftkv-chaos-XXXXXX";
  if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  // The nodes may run under other uids: they must reach the cluster file and their data.
  chmod(dir_.c_str(), 0755);
  // Per-run addresses and ports, so that concurrent runs (and stale sockets in TIME_WAIT of a
  // previous run) do not collide: 127.0.X.* with X and the port derived from the pid.
  const pid_t me = getpid();
  subnet_ = 20 + static_cast<int>(me % 200);
  port_ = 30000 + static_cast<int>((me / 200) % 1000) * 2;
  emergency::install();

  std::filesystem::create_directories(dir_ + "/data");
  chmod((dir_ + "/data").c_str(), 0755);
  config_path_ = dir_ + "/cluster.yaml";
  write_config(config_path_, ids());
  // The copy the nodes run: the original usually sits under a private folder.
  std::filesystem::create_directories(dir_ + "/bin");
  node_bin_ = dir_ + "/bin/raft-node";
  std::filesystem::copy_file(opts_.raft_node_bin, node_bin_);
  chmod((dir_ + "/bin").c_str(), 0755);
  chmod(node_bin_.c_str(), 0755);

  if (geteuid() != 0) {
    why_shared_uid_ = "not root: nodes cannot run under their own uids";
  } else {
    why_shared_uid_ = check_uid_access(uid_t{kUidBase + 1});
    separate_uids_ = why_shared_uid_.empty();
  }
}

std::string ChaosCluster::check_uid_access(uid_t u) const {
  const pid_t pid = fork();
  if (pid < 0) return "fork failed";
  if (pid == 0) {
    // Only async-signal-safe calls here (the parent may have threads).
    if (setuid(u) != 0) _exit(1);
    if (access(node_bin_.c_str(), X_OK) != 0) _exit(2);
    if (access(config_path_.c_str(), R_OK) != 0) _exit(3);
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  const std::string who = "uid " + std::to_string(u);
  switch (code) {
    case 0: return "";
    case 1: return "cannot switch to " + who;
    case 2: return who + " cannot execute " + node_bin_;
    case 3: return who + " cannot read " + config_path_;
    default: return "the check of " + who + " " + harness::describe_exit(status);
  }
}

ChaosCluster::~ChaosCluster() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [id, pid] : pids_) {
    ::kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    emergency::remove_pid(pid);
  }
  pids_.clear();
}

void ChaosCluster::write_config(const std::string& path, const std::vector<uint64_t>& members) const {
  std::ofstream f(path);
  f << "cluster_id: " << opts_.cluster_id << "\n"
    << "data_dir: data\n"
    << "tick_ms: " << opts_.tick_ms << "\n"
    << "election_ticks: " << opts_.election_ticks << "\n"
    << "heartbeat_ticks: " << opts_.heartbeat_ticks << "\n"
    << "fsync: true\n"
    << "snapshot_entries: " << opts_.snapshot_entries << "\n"
    << "nodes:\n";
  for (auto id : members)
    f << "  - id: " << id << "\n    raft: tcp://" << host(id) << ":" << raft_port() << "\n    client: tcp://"
      << host(id) << ":" << client_port() << "\n";
  if (!f.flush()) throw std::runtime_error("cannot write " + path);
}

std::string ChaosCluster::config_without(uint64_t id) const {
  std::vector<uint64_t> members;
  for (auto m : ids())
    if (m != id) members.push_back(m);
  const std::string path = dir_ + "/cluster-without-" + std::to_string(id) + ".yaml";
  write_config(path, members);
  return path;
}

void ChaosCluster::set_network(uint64_t id, NetworkFaults n) {
  std::lock_guard<std::mutex> lock(mu_);
  network_[id] = n;
}

NetworkFaults ChaosCluster::network(uint64_t id) const {
  std::lock_guard<std::mutex> lock(mu_);
  return network_locked(id);
}

NetworkFaults ChaosCluster::network_locked(uint64_t id) const {
  auto it = network_.find(id);
  return it == network_.end() ? opts_.network : it->second;
}

void ChaosCluster::expect_exit(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  may_exit_.insert(id);
}

void ChaosCluster::wipe(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  if (pids_.count(id)) throw std::logic_error("wipe of running node " + std::to_string(id));
  const std::filesystem::path node_dir = dir_ + "/data/node-" + std::to_string(id);
  const int generation = ++wipes_;
  std::error_code ec;
  for (auto& e : std::filesystem::directory_iterator(node_dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("node.log", 0) == 0) {
      // Keep what the earlier incarnation said, for a failing run's post-mortem.
      if (name == "node.log")
        std::filesystem::rename(e.path(), node_dir / ("node.log.before-wipe-" + std::to_string(generation)));
      continue;
    }
    std::filesystem::remove_all(e.path());
  }
  no_bootstrap_.insert(id);
  may_exit_.erase(id);
}

std::vector<uint64_t> ChaosCluster::ids() const {
  std::vector<uint64_t> out;
  for (int id = 1; id <= opts_.nodes; ++id) out.push_back(static_cast<uint64_t>(id));
  return out;
}

std::string ChaosCluster::host(uint64_t id) const {
  return "127.0." + std::to_string(subnet_) + "." + std::to_string(10 + id);
}

uid_t ChaosCluster::uid(uint64_t id) const { return separate_uids_ ? kUidBase + static_cast<uid_t>(id) : geteuid(); }

std::string ChaosCluster::log_path(uint64_t id) const {
  return dir_ + "/data/node-" + std::to_string(id) + "/node.log";
}

std::chrono::milliseconds ChaosCluster::election_timeout() const {
  return std::chrono::milliseconds(2 * opts_.tick_ms * opts_.election_ticks);
}

void ChaosCluster::start(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  if (pids_.count(id)) return;
  const std::string node_dir = dir_ + "/data/node-" + std::to_string(id);
  std::filesystem::create_directories(node_dir);
  const uid_t u = uid(id);
  if (separate_uids_) {
    // The node owns its data (including what an earlier incarnation wrote).
    for (auto& e : std::filesystem::recursive_directory_iterator(node_dir))
      if (chown(e.path().c_str(), u, 0) != 0) throw std::runtime_error("chown " + e.path().string());
    if (chown(node_dir.c_str(), u, 0) != 0) throw std::runtime_error("chown " + node_dir);
  }
  // --bootstrap is ignored by a node with data, and every node of a fresh cluster gets it; a
  // wiped node is a new member that waits to be added by push-config.
  std::vector<std::string> argv{node_bin_, "--config", config_path_, "--id", std::to_string(id)};
  if (!no_bootstrap_.count(id)) argv.push_back("--bootstrap");
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  // The environment is built before fork: the child of a multi-threaded process may only
  // call async-signal-safe functions, so it cannot setenv().
  const NetworkFaults net = network_locked(id);
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    const std::string var(*e);
    if (var.rfind("RAFT_TEST_DROP_RATE=", 0) != 0 && var.rfind("RAFT_TEST_DELAY_MS=", 0) != 0) env.push_back(var);
  }
  if (net.drop_rate > 0) env.push_back("RAFT_TEST_DROP_RATE=" + std::to_string(net.drop_rate));
  if (net.delay_ms > 0) env.push_back("RAFT_TEST_DELAY_MS=" + std::to_string(net.delay_ms));
  std::vector<char*> envp;
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  const std::string log = log_path(id);
  const pid_t pid = fork();
  if (pid == 0) {
    const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    const int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    for (int i = 3; i < 1024; ++i) close(i);
    if (u != geteuid() && setuid(u) != 0) _exit(126);
    // After setuid: a credential change clears the parent-death signal.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() == 1) _exit(125);
    execve(args[0], args.data(), envp.data());
    _exit(127);
  }
  if (pid < 0) throw std::runtime_error("fork failed");
  pids_[id] = pid;
  paused_.erase(id);
  emergency::add_pid(pid);
}

void ChaosCluster::kill(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = pids_.find(id);
  if (it == pids_.end()) return;
  ::kill(it->second, SIGKILL);
  int status;
  waitpid(it->second, &status, 0);
  emergency::remove_pid(it->second);
  pids_.erase(it);
  paused_.erase(id);
}

void ChaosCluster::pause(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = pids_.find(id);
  if (it == pids_.end()) return;
  ::kill(it->second, SIGSTOP);
  paused_.insert(id);
}

void ChaosCluster::resume(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = pids_.find(id);
  if (it == pids_.end()) return;
  ::kill(it->second, SIGCONT);
  paused_.erase(id);
}

bool ChaosCluster::paused(uint64_t id) const {
  std::lock_guard<std::mutex> lock(mu_);
  return paused_.count(id) > 0;
}

std::optional<uint64_t> ChaosCluster::claimed_leader(std::chrono::milliseconds timeout) {
  std::optional<uint64_t> best;
  uint64_t best_term = 0;
  for (auto& [id, s] : statuses(timeout))
    if (s.role == "leader" && (!best || s.term > best_term)) {
      best = id;
      best_term = s.term;
    }
  return best;
}

void ChaosCluster::reap() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = pids_.begin(); it != pids_.end();) {
    int status = 0;
    if (waitpid(it->second, &status, WNOHANG) == it->second) {
      if (may_exit_.count(it->first) && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        // A removed member stopping itself: the membership fault expected it.
        may_exit_.erase(it->first);
      } else {
        std::string tail = harness::tail_lines(log_path(it->first), 10);
        if (tail.empty()) tail = "(empty: the process wrote nothing, e.g. it could not be executed)\n";
        crashes_.push_back("node " + std::to_string(it->first) + " (pid " + std::to_string(it->second) + ") " +
                           harness::describe_exit(status) + " without being told to; last lines of " +
                           log_path(it->first) + ":\n" + tail);
      }
      emergency::remove_pid(it->second);
      paused_.erase(it->first);
      it = pids_.erase(it);
    } else {
      ++it;
    }
  }
}

bool ChaosCluster::running(uint64_t id) {
  reap();
  std::lock_guard<std::mutex> lock(mu_);
  return pids_.count(id) > 0;
}

std::vector<std::string> ChaosCluster::crashes() {
  reap();
  std::lock_guard<std::mutex> lock(mu_);
  return crashes_;
}

client::Options ChaosCluster::client_options(std::chrono::milliseconds timeout, uint64_t only_node) const {
  client::Options o;
  for (auto id : ids()) o.members.push_back({id, "tcp://" + host(id) + ":" + std::to_string(client_port())});
  o.timeout = timeout;
  o.only_node = only_node;
  o.cluster_id = opts_.cluster_id;
  o.attempt_timeout = std::min<std::chrono::milliseconds>(timeout, std::max<std::chrono::milliseconds>(300ms, 2 * election_timeout()));
  return o;
}

std::map<uint64_t, transport::NodeStatus> ChaosCluster::statuses(std::chrono::milliseconds timeout) {
  client::Client c(ctx_, client_options(timeout));
  std::map<uint64_t, transport::NodeStatus> out;
  for (auto& s : c.status_all(timeout))
    if (s.reachable) out[s.member.id] = s.status;
  return out;
}

std::optional<uint64_t> ChaosCluster::leader(std::chrono::milliseconds timeout) {
  auto st = statuses(timeout);
  size_t alive = 0;
  for (auto id : ids()) alive += (running(id) && !paused(id)) ? 1 : 0;
  if (st.size() < alive) return std::nullopt;
  uint64_t agreed = 0;
  for (auto& [id, s] : st) {
    if (s.leader == 0 || (agreed != 0 && s.leader != agreed)) return std::nullopt;
    agreed = s.leader;
  }
  if (agreed == 0 || !st.count(agreed) || st[agreed].role != "leader") return std::nullopt;
  return agreed;
}

std::optional<uint64_t> ChaosCluster::wait_for_leader(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    size_t alive = 0;
    for (auto id : ids()) alive += running(id) ? 1 : 0;  // reaps, so crashes_ is current
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!crashes_.empty() && alive < ids().size() / 2 + 1) {
        std::string why = "no leader can be elected: only " + std::to_string(alive) + " of " +
                          std::to_string(ids().size()) + " nodes are running\n";
        for (const auto& c : crashes_) why += c;
        throw harness::NodeExited(why);
      }
    }
    if (auto l = leader()) return l;
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(50ms);
  }
}

}  // namespace chaos
