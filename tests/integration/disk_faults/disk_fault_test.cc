// Disk faults with real raft-node processes (docs/disk_faults.md):
//  - a node whose disk fills up stops acknowledging, says why (log, status, replies), the
//    cluster goes on without it, and it catches up once space is freed: on a real 4 MiB tmpfs
//    (root only; reported SKIPPED with exit code 77 otherwise) and with the test-only
//    RAFT_TEST_DISK_FULL_FILE trigger (everywhere), as a follower and as the leader;
//  - a leader whose fsync stalls: one long stall (a new leader serves while it is stuck) and
//    repeated moderate stalls (it hands leadership over by itself, fsync_stall_ms);
//  - a failing fsync stops the node (exit 1) and the cluster keeps serving;
//  - a corrupted log: the node refuses to start, naming the file and the offset.
// Ports 29500..29800: each TEST_CASE has its own range (harness: raft base+id, client
// base+50+id).
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <thread>

#include "tests/integration/background_writer.h"
#include "tests/integration/cluster_harness.h"
#include "transport/client_protocol.h"

using namespace std::chrono_literals;
using harness::Cluster;
using harness::require_acked_readable;
using Writer = harness::BackgroundWriter;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

namespace {

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// Starts node `id` with `name=value` in its environment (the harness forks: the child
// inherits the test's environment at that moment).
void start_with_env(Cluster& c, uint64_t id, const std::vector<std::pair<std::string, std::string>>& env) {
  for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
  c.start(id);
  for (const auto& [k, v] : env) unsetenv(k.c_str());
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::trunc);
  f << text;
  f.close();
  REQUIRE(f.good());
}

// Adds a top-level key to the cluster file the harness wrote.
void add_config_line(const Cluster& c, const std::string& line) {
  std::ofstream f(c.config_path(), std::ios::app);
  f << line << "\n";
}

// One request straight to a node's client socket, to see the exact reply.
std::optional<transport::ClientReply> ask(zmq::context_t& ctx, const std::string& address,
                                          transport::ClientRequest req) {
  zmq::socket_t s(ctx, zmq::socket_type::dealer);
  s.set(zmq::sockopt::linger, 0);
  s.connect(address);
  req.request_id = 7;
  s.send(zmq::buffer(transport::encode_request(req)), zmq::send_flags::none);
  zmq::pollitem_t item{s.handle(), 0, ZMQ_POLLIN, 0};
  zmq::poll(&item, 1, 2000ms);
  if (!(item.revents & ZMQ_POLLIN)) return std::nullopt;
  zmq::message_t m;
  if (!s.recv(m)) return std::nullopt;
  auto decoded = transport::decode_reply(m.to_string_view());
  if (!std::holds_alternative<transport::ClientReply>(decoded)) return std::nullopt;
  return std::get<transport::ClientReply>(decoded);
}

// --- Full disks ---

// How a test makes one node's disk full and frees it again.
class DiskFiller {
 public:
  virtual ~DiskFiller() = default;
  virtual void fill() = 0;
  virtual void free_space() = 0;
};

// A real 4 MiB tmpfs holding the node's wal/ and snap/ (symlinked from its data dir, so that
// node.log stays on the ordinary disk and can say what happened), filled by a filler file.
// Unmounted in the destructor whatever happened (the node is killed first).
class TmpfsFiller final : public DiskFiller {
 public:
  // Returns "" on success, else why the mount is impossible here.
  std::string mount_for(Cluster& c, uint64_t id) {
    cluster_ = &c;
    id_ = id;
    if (geteuid() != 0) return "not running as root";
    mount_point_ = c.dir() + "/tmpfs-node-" + std::to_string(id);
    fs::create_directories(mount_point_);
    if (::mount("tmpfs", mount_point_.c_str(), "tmpfs", 0, "size=4m") != 0)
      return std::string("mount -t tmpfs failed: ") + std::strerror(errno);
    mounted_ = true;
    fs::create_directories(mount_point_ + "/wal");
    fs::create_directories(mount_point_ + "/snap");
    fs::create_directories(c.node_dir(id));
    fs::create_directory_symlink(mount_point_ + "/wal", c.node_dir(id) + "/wal");
    fs::create_directory_symlink(mount_point_ + "/snap", c.node_dir(id) + "/snap");
    return "";
  }
  ~TmpfsFiller() override {
    if (!mounted_) return;
    cluster_->kill(id_, SIGKILL);
    if (::umount2(mount_point_.c_str(), 0) != 0) ::umount2(mount_point_.c_str(), MNT_DETACH);
  }
  void fill() override {
    const std::string path = mount_point_ + "/filler";
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    REQUIRE(fd >= 0);
    const std::string chunk(64 * 1024, 'f');
    int err = 0;
    while (true) {
      const ssize_t n = ::write(fd, chunk.data(), chunk.size());
      if (n < 0) {
        err = errno;
        break;
      }
    }
    ::close(fd);
    REQUIRE(err == ENOSPC);
  }
  void free_space() override { REQUIRE(fs::remove(mount_point_ + "/filler")); }

 private:
  Cluster* cluster_ = nullptr;
  uint64_t id_ = 0;
  std::string mount_point_;
  bool mounted_ = false;
};

// The test-only trigger: every log write of the node fails with ENOSPC while the file exists.
class TriggerFiller final : public DiskFiller {
 public:
  explicit TriggerFiller(std::string path) : path_(std::move(path)) {}
  void fill() override { write_file(path_, ""); }
  void free_space() override { REQUIRE(fs::remove(path_)); }

 private:
  std::string path_;
};

// 5 nodes; `full` (the leader first if `as_leader`) runs out of space while writes go on.
void run_disk_full_scenario(Cluster& c, uint64_t full, bool as_leader, DiskFiller& filler,
                            const std::vector<std::pair<std::string, std::string>>& full_env) {
  for (auto id : c.ids()) {
    if (id == full)
      start_with_env(c, id, full_env);
    else
      c.start(id);
  }
  auto leader = c.wait_for_leader(50 * c.election_timeout());
  REQUIRE(leader.has_value());
  client::Client cl(c.zmq_context(), c.client_options(10s));
  // Put leadership where the variant wants it: on the node to fill, or elsewhere.
  if (as_leader != (*leader == full)) {
    const uint64_t target = as_leader ? full : full % 5 + 1;
    auto r = cl.transfer_leader(target);
    INFO(r.error);
    REQUIRE(r.outcome == client::Outcome::Ok);
    leader = c.wait_for_leader(50 * c.election_timeout());
    REQUIRE(leader == target);
  }
  REQUIRE(cl.put("before", "1").outcome == client::Outcome::Ok);

  Writer w(c, "w");
  REQUIRE(harness::wait_until([&] { return w.acked() >= 10; }, 20s));
  filler.fill();
  // The node notices at its next write (tmpfs may still have a partly used page to fill).
  INFO(w.problems());
  REQUIRE(harness::wait_until([&] { return contains(c.log(full), "disk full in"); }, 30s));
  CHECK(contains(c.log(full), "writes paused, retrying"));
  // Its status says why ...
  std::string problem;
  REQUIRE(harness::wait_until(
      [&] {
        auto st = c.statuses();
        problem = st.count(full) ? st[full].problem : "";
        return contains(problem, "disk full");
      },
      10s));
  CHECK(contains(problem, c.node_dir(full)));
  // ... a write sent to it is refused with a reply that says why and sends the client on ...
  transport::ClientRequest put;
  put.kind = transport::RequestKind::Put;
  put.client_id = 4242;
  put.seq = 1;
  put.key = "direct";
  put.value = "x";
  auto reply = ask(c.zmq_context(), c.client_address(full), put);
  REQUIRE(reply.has_value());
  CHECK(reply->code == transport::ReplyCode::NotLeader);
  CHECK(contains(reply->error, "disk full on node " + std::to_string(full)));
  // ... and the other four go on acknowledging writes (a new leader if it led).
  const size_t acked_while_full = w.acked();
  REQUIRE(harness::wait_until([&] { return w.acked() >= acked_while_full + 30; }, 30s));
  if (as_leader) {
    auto st = c.statuses();
    uint64_t new_leader = 0;
    for (auto& [id, s] : st)
      if (id != full && s.role == "leader") new_leader = id;
    CHECK(new_leader != 0);
  }
  CHECK(c.running(full));

  filler.free_space();
  REQUIRE(harness::wait_until([&] { return contains(c.log(full), "disk space back: resuming"); }, 20s));
  w.stop();
  INFO(w.problems());
  REQUIRE(cl.put("after", "2").outcome == client::Outcome::Ok);
  auto new_leader = c.wait_for_leader(50 * c.election_timeout());
  REQUIRE(new_leader.has_value());
  const auto commit = c.statuses()[*new_leader].commit;
  REQUIRE(c.wait_applied(commit, 30s));  // the full node caught up
  auto st = c.statuses();
  CHECK(st[full].problem.empty());
  require_acked_readable(c, w.prefix(), w.acked_keys());
  // What the formerly full node itself holds: every acknowledged write.
  client::Client local(c.zmq_context(), c.client_options(5s, full));
  for (int i : w.acked_keys()) {
    auto r = local.get("w" + std::to_string(i), true);
    CAPTURE(i);
    REQUIRE(r.outcome == client::Outcome::Ok);
  }
  CHECK(local.get("after", true).value == "2");
}

void disk_full_on_tmpfs(const std::string& name, int base_port, bool as_leader) {
  Cluster c(name, 5, base_port);
  const uint64_t full = 3;
  TmpfsFiller filler;
  const std::string why = filler.mount_for(c, full);
  if (!why.empty()) {
    // Catch2 v2 has no SKIP: say so loudly and exit with CTest's SKIP_RETURN_CODE.
    std::cout << "SKIPPED: " << name << ": needs a tmpfs mount (" << why << ")" << std::endl;
    std::_Exit(77);
  }
  run_disk_full_scenario(c, full, as_leader, filler, {});
}

}  // namespace

TEST_CASE("a follower whose tmpfs fills up pauses and says why then catches up once space is freed",
          "[integration][disk_faults]") {
  disk_full_on_tmpfs("disk-full-tmpfs-follower", 29500, false);
}

TEST_CASE("a leader whose tmpfs fills up is replaced and says why then catches up once space is freed",
          "[integration][disk_faults]") {
  disk_full_on_tmpfs("disk-full-tmpfs-leader", 29560, true);
}

TEST_CASE("a leader whose writes fail with ENOSPC (test trigger) pauses and resumes without losing writes",
          "[integration][disk_faults]") {
  Cluster c("disk-full-trigger-leader", 5, 29740);
  const uint64_t full = 2;
  const std::string trigger = c.dir() + "/disk-full-2";
  TriggerFiller filler(trigger);
  run_disk_full_scenario(c, full, true, filler, {{"RAFT_TEST_DISK_FULL_FILE", trigger}});
}

// --- Stalled fsyncs ---

TEST_CASE("a leader stuck in one long fsync is replaced by a leader that serves writes meanwhile",
          "[integration][disk_faults]") {
  Cluster c("fsync-long-stall", 3, 29620);
  add_config_line(c, "fsync_stall_ms: 200");
  for (auto id : c.ids())
    start_with_env(c, id, {{"RAFT_TEST_FSYNC_DELAY_FILE", c.dir() + "/delay-" + std::to_string(id)}});
  auto leader = c.wait_for_leader(50 * c.election_timeout());
  REQUIRE(leader.has_value());
  const uint64_t old = *leader;
  client::Client cl(c.zmq_context(), c.client_options(10s));
  REQUIRE(cl.put("k0", "v0").outcome == client::Outcome::Ok);

  const std::string delay = c.dir() + "/delay-" + std::to_string(old);
  write_file(delay, "4000");
  // A write that makes the leader fsync: its loop is then stuck for 4 s.
  std::thread stuck_write([&c] {
    zmq::context_t ctx(1);
    client::Client one(ctx, c.client_options(2s));
    (void)one.put("stuck", "s");
  });
  struct Join {
    std::thread& t;
    ~Join() {
      if (t.joinable()) t.join();
    }
  } join{stuck_write};
  const auto stall_started = Clock::now();
  // While it is stuck (it answers nothing), the others elect a leader that serves writes.
  uint64_t new_leader = 0;
  REQUIRE(harness::wait_until(
      [&] {
        for (auto& [id, s] : c.statuses(200ms))
          if (id != old && s.role == "leader") new_leader = id;
        return new_leader != 0;
      },
      3s));
  auto r = cl.put("k1", "v1");
  INFO(r.error);
  REQUIRE(r.outcome == client::Outcome::Ok);
  CHECK(r.served_by != old);
  CHECK(Clock::now() - stall_started < 4s);  // all of it while the old leader was stuck
  CHECK(c.statuses(200ms).count(old) == 0);  // still stuck: it answers nothing

  fs::remove(delay);
  // Once the fsync returns, the old leader follows and catches up.
  REQUIRE(harness::wait_until(
      [&] {
        auto st = c.statuses(300ms);
        return st.count(old) && st[old].role == "follower" && st[old].leader != 0 && st[old].leader != old;
      },
      15s));
  REQUIRE(cl.put("k2", "v2").outcome == client::Outcome::Ok);
  auto lead = c.wait_for_leader(50 * c.election_timeout());
  REQUIRE(lead.has_value());
  REQUIRE(c.wait_applied(c.statuses()[*lead].commit, 15s));
  client::Client local(c.zmq_context(), c.client_options(5s, old));
  CHECK(local.get("k1", true).value == "v1");
  CHECK(local.get("k2", true).value == "v2");
}

TEST_CASE("a leader whose every fsync is slow hands leadership over by itself", "[integration][disk_faults]") {
  // A long election timeout (1-2 s) so that a 300 ms stall never lets followers time out:
  // only the leader's own decision (fsync_stall_ms 200) can move leadership.
  harness::ClusterOptions o;
  o.tick_ms = 50;
  o.election_ticks = 20;
  o.heartbeat_ticks = 2;
  Cluster c("fsync-repeated-stalls", 3, 29625, o);
  add_config_line(c, "fsync_stall_ms: 200");
  for (auto id : c.ids())
    start_with_env(c, id, {{"RAFT_TEST_FSYNC_DELAY_FILE", c.dir() + "/delay-" + std::to_string(id)}});
  auto leader = c.wait_for_leader(30s);
  REQUIRE(leader.has_value());
  const uint64_t old = *leader;
  const uint64_t term_before = c.statuses()[old].term;
  client::Client cl(c.zmq_context(), c.client_options(10s));
  REQUIRE(cl.put("k0", "v0").outcome == client::Outcome::Ok);

  write_file(c.dir() + "/delay-" + std::to_string(old), "300");  // 1.5 x fsync_stall_ms
  uint64_t new_leader = 0;
  int i = 1;
  REQUIRE(harness::wait_until(
      [&] {
        (void)cl.put("k" + std::to_string(i), "v" + std::to_string(i));
        ++i;
        auto st = c.statuses(500ms);
        for (auto& [id, s] : st)
          if (id != old && s.role == "leader") new_leader = id;
        return new_leader != 0;
      },
      20s));
  const std::string log = c.log(old);
  CHECK(contains(log, "slow disk: a write took"));
  CHECK(contains(log, "handing leadership to node"));
  // A transfer, not an election after a timeout: the new term is the next one.
  CHECK(c.statuses()[new_leader].term == term_before + 1);
  REQUIRE(cl.put("after", "1").outcome == client::Outcome::Ok);
}

// --- A failing fsync, a corrupted log ---

TEST_CASE("a node whose fsync fails stops with a clear message and the cluster keeps serving",
          "[integration][disk_faults]") {
  Cluster c("fsync-fails", 3, 29680);
  for (auto id : c.ids())
    start_with_env(c, id, {{"RAFT_TEST_FSYNC_FAIL_FILE", c.dir() + "/fail-" + std::to_string(id)}});
  auto leader = c.wait_for_leader(50 * c.election_timeout());
  REQUIRE(leader.has_value());
  const uint64_t victim = *leader == 1 ? 2 : 1;
  client::Client cl(c.zmq_context(), c.client_options(10s));
  REQUIRE(cl.put("k0", "v0").outcome == client::Outcome::Ok);
  write_file(c.dir() + "/fail-" + std::to_string(victim), "");
  int i = 1;
  REQUIRE(harness::wait_until(
      [&] {
        (void)cl.put("k" + std::to_string(i), "v");
        ++i;
        return contains(c.log(victim), "cannot persist");
      },
      20s));
  CHECK(c.stop(victim, 10s) == 1);  // it had already exited, with code 1
  const std::string log = c.log(victim);
  CHECK(contains(log, "Input/output error"));
  CHECK(contains(log, "stopping so that nothing more is acknowledged"));
  REQUIRE(cl.put("after", "1").outcome == client::Outcome::Ok);
}

TEST_CASE("a node whose log is corrupted refuses to start naming the file and offset while the cluster keeps serving",
          "[integration][disk_faults]") {
  Cluster c("corrupt-log", 3, 29685);
  c.start_all();
  auto leader = c.wait_for_leader(50 * c.election_timeout());
  REQUIRE(leader.has_value());
  client::Client cl(c.zmq_context(), c.client_options(10s));
  for (int i = 0; i < 60; ++i)
    REQUIRE(cl.put("k" + std::to_string(i), std::string(100, 'x')).outcome == client::Outcome::Ok);
  const uint64_t victim = *leader == 1 ? 2 : 1;
  REQUIRE(c.wait_applied(c.statuses()[*leader].commit, 10s));
  REQUIRE(c.stop(victim) == 0);

  // Flip one byte a third of the way into its (only) segment: many batches follow it, so
  // this is corruption, not a torn tail.
  std::string segment;
  for (const auto& e : fs::directory_iterator(c.node_dir(victim) + "/wal"))
    if (e.path().extension() == ".wal") segment = e.path().string();
  REQUIRE(!segment.empty());
  const auto size = fs::file_size(segment);
  REQUIRE(size > 3000);
  {
    std::fstream f(segment, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(static_cast<std::streamoff>(size / 3));
    char b = 0;
    f.read(&b, 1);
    f.seekp(static_cast<std::streamoff>(size / 3));
    b = static_cast<char>(b ^ 0x5a);
    f.write(&b, 1);
    REQUIRE(f.good());
  }

  c.start(victim);
  REQUIRE(harness::wait_until([&] { return contains(c.log(victim), "cannot start"); }, 10s));
  CHECK(c.stop(victim) == 1);
  const std::string log = c.log(victim);
  INFO(log);
  CHECK(contains(log, fs::path(segment).filename().string()));
  CHECK(contains(log, "offset "));
  REQUIRE(cl.put("after", "1").outcome == client::Outcome::Ok);
  auto r = cl.get("k59", false);
  CHECK(r.outcome == client::Outcome::Ok);
}
