// Large state: a follower or a new member catches up by a snapshot streamed in chunks
// (docs/snapshots.md), with more than 256 MiB of KV state, and the transfer survives the
// death of either end. Real raft-node processes; ports 27100..27400.
//
// The state is 64 values of 4 MiB (plus small keys), written by several clients at once so
// that the fill takes seconds. fsync is off: these tests are about the transfer, and a
// SIGKILL loses nothing from the page cache. snapshot_entries is small so that the log is
// compacted past the lagging node after two snapshots (each member keeps snapshot_entries
// entries below its snapshot). Snapshots are still taken on the node loop (seconds for
// 256 MiB on a loaded machine), hence the long election timeout and fsync_stall_ms.
#include <signal.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include <catch2/catch.hpp>

#include "client/client.h"
#include "tests/integration/cluster_harness.h"

namespace {

using harness::Cluster;
using harness::ClusterOptions;
using harness::wait_until;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr int kValues = 64;
constexpr size_t kValueBytes = 4u << 20;
constexpr int kWriters = 4;

ClusterOptions large_options() {
  ClusterOptions o;
  o.tick_ms = 100;
  o.election_ticks = 30;  // three seconds
  o.heartbeat_ticks = 2;
  o.fsync = false;
  o.snapshot_entries = 34;
  return o;
}

// The cluster file with `ids` as its nodes, and the snapshot transfer pace.
void write_file(const Cluster& c, const std::string& path, const std::vector<uint64_t>& ids, const ClusterOptions& o,
                uint64_t send_mb_s) {
  std::string extra = "fsync_stall_ms: 60000\n";
  if (send_mb_s > 0) extra += "snapshot_send_mb_s: " + std::to_string(send_mb_s) + "\n";
  c.write_config(path, ids, o, extra);
}

// Value i: kValueBytes that differ from every other value in every 8-byte word.
std::string value_of(int i) {
  std::string v(kValueBytes, '\0');
  uint64_t x = 0x9E3779B97F4A7C15ull * static_cast<uint64_t>(i + 1);
  for (size_t k = 0; k + 8 <= v.size(); k += 8) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    std::memcpy(&v[k], &x, 8);
  }
  return v;
}

std::string key_of(int i) { return "big" + std::to_string(i); }

// Puts until acknowledged, for at most 90 s: a member snapshotting 256 MiB on its loop can
// stall long enough for a leader change, which the client rides out by retrying.
bool put_until_ok(client::Client& cl, const std::string& k, const std::string& v) {
  const auto deadline = std::chrono::steady_clock::now() + 90s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (cl.put(k, v).outcome == client::Outcome::Ok) return true;
  }
  return false;
}

// Writes the kValues large values with kWriters clients.
void fill(Cluster& c) {
  std::atomic<int> next{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&] {
      client::Client cl(c.zmq_context(), c.client_options(10s));
      for (int i = next++; i < kValues; i = next++) {
        if (!put_until_ok(cl, key_of(i), value_of(i))) ++failures;
      }
    });
  }
  for (auto& t : writers) t.join();
  REQUIRE(failures == 0);
}

// Small writes that move the log on, past the second snapshot.
void small_writes(Cluster& c, int n) {
  client::Client cl(c.zmq_context(), c.client_options(10s));
  for (int i = 0; i < n; ++i) REQUIRE(put_until_ok(cl, "s" + std::to_string(i), std::to_string(i)));
}

std::optional<transport::NodeStatus> leader_status(Cluster& c) {
  std::optional<transport::NodeStatus> out;
  wait_until(
      [&] {
        out.reset();
        for (auto& [id, s] : c.statuses(2s))
          if (s.role == "leader" && (!out || s.term > out->term)) out = s;
        return out.has_value();
      },
      30s);
  return out;
}

// Every 8th large value, the last one and the last small write, read from node `id` alone.
void require_data_on(Cluster& c, uint64_t id, int small) {
  client::Client cl(c.zmq_context(), c.client_options(10s, id));
  for (int i = 0; i < kValues; i += (i + 8 < kValues ? 8 : std::max(1, kValues - 1 - i))) {
    auto r = cl.get(key_of(i), true);
    INFO("node " << id << " key " << key_of(i));
    REQUIRE(r.outcome == client::Outcome::Ok);
    REQUIRE(r.value.size() == kValueBytes);
    REQUIRE(r.value == value_of(i));
    if (i == kValues - 1) break;
  }
  auto r = cl.get("s" + std::to_string(small - 1), true);
  REQUIRE(r.outcome == client::Outcome::Ok);
  CHECK(r.value == std::to_string(small - 1));
}

// Waits until node `id` has applied what the leader had committed when this was called.
void require_caught_up(Cluster& c, uint64_t id, std::chrono::seconds timeout) {
  auto leader = leader_status(c);
  REQUIRE(leader);
  const auto commit = leader->commit;
  INFO("node " << id << " did not reach commit " << commit << "\n" << c.log(id));
  REQUIRE(wait_until(
      [&] {
        auto st = c.statuses(2s);
        return st.count(id) && st[id].applied >= commit;
      },
      timeout));
}

// Bytes of the snapshot part file node `id` is receiving (0 if none).
uint64_t part_bytes(const Cluster& c, uint64_t id) {
  std::error_code ec;
  uint64_t out = 0;
  for (const auto& e : fs::directory_iterator(c.node_dir(id) + "/snap", ec)) {
    if (e.path().extension() == ".part") out = std::max<uint64_t>(out, e.file_size(ec));
  }
  return out;
}

// Peak resident memory of node `id`'s process in MiB (VmHWM), 0 if unknown.
uint64_t peak_rss_mib(const Cluster& c, uint64_t id) {
  std::ifstream f("/proc/" + std::to_string(c.pid(id)) + "/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6)) / 1024;
  }
  return 0;
}

bool has_part_file(const Cluster& c, uint64_t id) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(c.node_dir(id) + "/snap", ec))
    if (e.path().extension() == ".part") return true;
  return false;
}

// A three-node cluster where node 3 is down from the start while 256 MiB are written and
// the log is compacted past it. Snapshot transfers paced at `send_mb_s` (0: unpaced).
struct LaggingFollower {
  ClusterOptions opts = large_options();
  Cluster c;
  int small = 0;
  LaggingFollower(const std::string& name, int base, uint64_t send_mb_s) : c(name, 3, base, large_options()) {
    write_file(c, c.config_path(), {1, 2, 3}, opts, send_mb_s);
    c.start(1, true);
    c.start(2, true);
    REQUIRE(c.wait_for_leader(20s));
    fill(c);
    // Past the second snapshot: the log now starts after the first large values.
    small = 10;
    small_writes(c, small);
    auto leader = leader_status(c);
    REQUIRE(leader);
    INFO("first index " << leader->first_index);
    REQUIRE(leader->first_index > 3);
  }
};

}  // namespace

TEST_CASE("a follower down while the log was compacted past it catches up by a chunked snapshot",
          "[integration][large_state]") {
  LaggingFollower f("large-lagging", 27100, 0);
  const auto started = std::chrono::steady_clock::now();
  f.c.start(3, true);
  require_caught_up(f.c, 3, 90s);
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  WARN("catch-up of node 3 by snapshot: " << took.count() << " ms; peak RSS node 3 " << peak_rss_mib(f.c, 3)
                                              << " MiB, node 1 " << peak_rss_mib(f.c, 1) << " MiB, node 2 "
                                              << peak_rss_mib(f.c, 2) << " MiB");
  require_data_on(f.c, 3, f.small);
  const std::string log = f.c.log(3);
  CHECK(log.find("received the snapshot at index") != std::string::npos);
  CHECK(log.find("restored a snapshot") != std::string::npos);
  CHECK_FALSE(has_part_file(f.c, 3));
}

TEST_CASE("the leader killed in the middle of a snapshot transfer: the new leader finishes it",
          "[integration][large_state]") {
  // Paced at 64 MiB/s: the transfer of ~256 MiB lasts seconds, time to kill the leader.
  LaggingFollower f("large-leader-kill", 27200, 64);
  auto leader = leader_status(f.c);
  REQUIRE(leader);
  f.c.start(3, true);
  INFO(f.c.log(3));
  REQUIRE(wait_until([&] { return part_bytes(f.c, 3) >= (32u << 20); }, 60s));
  f.c.kill(leader->id, SIGKILL);
  require_caught_up(f.c, 3, 90s);
  require_data_on(f.c, 3, f.small);
  CHECK_FALSE(has_part_file(f.c, 3));
  // The node that led is restarted and the cluster still agrees on the data.
  f.c.start(leader->id, true);
  require_caught_up(f.c, leader->id, 60s);
  require_data_on(f.c, leader->id, f.small);
}

TEST_CASE("the receiver killed in the middle of a snapshot transfer resumes where it was",
          "[integration][large_state]") {
  LaggingFollower f("large-receiver-kill", 27300, 64);
  f.c.start(3, true);
  INFO(f.c.log(3));
  REQUIRE(wait_until([&] { return part_bytes(f.c, 3) >= (64u << 20); }, 60s));
  f.c.kill(3, SIGKILL);
  const uint64_t held = part_bytes(f.c, 3);
  CHECK(held >= (64u << 20));
  f.c.start(3, true);
  require_caught_up(f.c, 3, 90s);
  require_data_on(f.c, 3, f.small);
  CHECK(f.c.log(3).find("(resuming at byte ") != std::string::npos);
  CHECK_FALSE(has_part_file(f.c, 3));
}

TEST_CASE("a member added with push-config on a large state catches up by a chunked snapshot",
          "[integration][large_state]") {
  ClusterOptions o = large_options();
  Cluster c("large-new-member", 4, 27400, o);
  write_file(c, c.config_path(), {1, 2, 3}, o, 0);
  for (uint64_t id = 1; id <= 3; ++id) c.start(id, true);
  REQUIRE(c.wait_for_leader(20s));
  fill(c);
  const int small = 10;
  small_writes(c, small);
  write_file(c, c.config_path(), {1, 2, 3, 4}, o, 0);
  const std::string four = c.dir() + "/four.yaml";
  write_file(c, four, {1, 2, 3, 4}, o, 0);
  c.start(4, false);
  auto r = c.raftctl({"--timeout", "90", "push-config", four}, "", 100s);
  INFO("exit " << r.exit_code << "\n" << r.out << "\n" << c.log(4));
  REQUIRE(r.exit_code == 0);
  require_caught_up(c, 4, 60s);
  require_data_on(c, 4, small);
  CHECK(c.log(4).find("received the snapshot at index") != std::string::npos);
}
