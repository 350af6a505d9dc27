#include "config/cluster_config.h"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <tuple>
#include <unistd.h>

namespace {

namespace fs = std::filesystem;

config::ClusterConfig ok(const std::variant<config::ClusterConfig, config::ConfigError>& r) {
  if (auto* e = std::get_if<config::ConfigError>(&r)) FAIL("unexpected error: " << e->message);
  return std::get<config::ClusterConfig>(r);
}

std::string err(const std::variant<config::ClusterConfig, config::ConfigError>& r) {
  if (!std::holds_alternative<config::ConfigError>(r)) FAIL("expected an error, the file was accepted");
  return std::get<config::ConfigError>(r).message;
}

// A scratch folder removed at the end of the test.
struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("config_test_" + std::to_string(::getpid()) + "_" +
                                        std::to_string(reinterpret_cast<uintptr_t>(this)));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(path / name) << text;
    return (path / name).string();
  }
};

constexpr const char* kNodes =
    "nodes:\n"
    "  - id: 1\n"
    "    raft: tcp://127.0.0.1:7101\n"
    "    client: tcp://127.0.0.1:7201\n"
    "  - id: 2\n"
    "    raft: tcp://127.0.0.1:7102\n"
    "    client: tcp://127.0.0.1:7202\n";

}  // namespace

TEST_CASE("a minimal file gets the documented defaults", "[config]") {
  const std::string text = std::string("cluster_id: demo\ndata_dir: data\n") + kNodes;
  auto r = config::parse(text, "c.yaml", "/etc/raft");
  const auto c = ok(r);
  CHECK(c.cluster_id == "demo");
  CHECK(c.data_dir == "/etc/raft/data");
  CHECK(c.tick_ms == 100);
  CHECK(c.election_ticks == 10);
  CHECK(c.heartbeat_ticks == 1);
  CHECK(c.fsync);
  CHECK(c.snapshot_entries == 10000);
  CHECK(c.snapshot_send_mb_s == 0);
  CHECK(c.snapshot_log_mb == config::kDefaultSnapshotLogMb);
  CHECK(c.max_key_bytes == config::kDefaultMaxKeyBytes);
  CHECK(c.max_value_bytes == config::kDefaultMaxValueBytes);
  CHECK(c.max_state_mb == config::kDefaultMaxStateMb);
  // The defaults leave room for a cas (key + expected + value) in one client frame.
  CHECK(c.max_key_bytes + 2 * c.max_value_bytes + config::kClientRequestOverheadBytes <=
        config::kMaxClientRequestBytes);
  CHECK_FALSE(c.security.curve);
  REQUIRE(c.nodes.size() == 2);
  CHECK(c.nodes[1].id == 2);
  CHECK(c.nodes[1].raft == "tcp://127.0.0.1:7102");
  CHECK(c.nodes[1].client == "tcp://127.0.0.1:7202");
  REQUIRE(c.find(2) != nullptr);
  CHECK(c.find(2)->client == "tcp://127.0.0.1:7202");
  CHECK(c.find(3) == nullptr);
  CHECK(c.node_dir(2) == "/etc/raft/data/node-2");
}

TEST_CASE("every optional key is read when present", "[config]") {
  const std::string text = std::string(
                               "cluster_id: prod-1.a_b\n"
                               "data_dir: /var/lib/raft/../raftkv\n"
                               "tick_ms: 50\n"
                               "election_ticks: 20\n"
                               "heartbeat_ticks: 2\n"
                               "fsync: false\n"
                               "snapshot_entries: 123\n"
                               "snapshot_send_mb_s: 40\n"
                               "snapshot_log_mb: 32\n"
                               "max_key_bytes: 100\n"
                               "max_value_bytes: 2000\n"
                               "max_state_mb: 7\n"
                               "security:\n"
                               "  curve: true\n"
                               "  keys_dir: keys\n") +
                           kNodes;
  const auto c = ok(config::parse(text, "c.yaml", "/etc/raft"));
  CHECK(c.cluster_id == "prod-1.a_b");
  CHECK(c.data_dir == "/var/lib/raftkv");
  CHECK(c.tick_ms == 50);
  CHECK(c.election_ticks == 20);
  CHECK(c.heartbeat_ticks == 2);
  CHECK_FALSE(c.fsync);
  CHECK(c.snapshot_entries == 123);
  CHECK(c.snapshot_send_mb_s == 40);
  CHECK(c.snapshot_log_mb == 32);
  CHECK(c.max_key_bytes == 100);
  CHECK(c.max_value_bytes == 2000);
  CHECK(c.max_state_mb == 7);
  CHECK(c.security.curve);
  CHECK(c.security.keys_dir == "/etc/raft/keys");
}

TEST_CASE("the shipped example file is valid and has five loopback nodes", "[config]") {
  const std::string path = std::string(RAFTKV_SOURCE_DIR) + "/config/cluster.yaml";
  const auto c = ok(config::load(path));
  CHECK(c.cluster_id == "demo");
  CHECK(c.path == fs::path(path).lexically_normal().string());
  CHECK(c.data_dir == (fs::path(RAFTKV_SOURCE_DIR) / "data").lexically_normal().string());
  REQUIRE(c.nodes.size() == 5);
  for (int i = 0; i < 5; ++i) {
    CHECK(c.nodes[i].id == static_cast<raft::NodeId>(i + 1));
    CHECK(c.nodes[i].raft == "tcp://127.0.0.1:" + std::to_string(7101 + i));
    CHECK(c.nodes[i].client == "tcp://127.0.0.1:" + std::to_string(7201 + i));
  }
}

TEST_CASE("load resolves a relative data_dir against the file's folder", "[config]") {
  TempDir dir;
  fs::create_directories(dir.path / "conf");
  const std::string path =
      dir.write("conf/c.yaml", std::string("cluster_id: x\ndata_dir: ../data\n") + kNodes);
  const auto c = ok(config::load(path));
  CHECK(c.data_dir == (dir.path / "data").lexically_normal().string());
  CHECK(c.path == fs::path(path).lexically_normal().string());
}

TEST_CASE("load refuses a missing file, a folder and an empty file with one line", "[config]") {
  TempDir dir;
  const std::string missing = (dir.path / "nope.yaml").string();
  std::string e = err(config::load(missing));
  CHECK(e.rfind(missing + ":1: cannot open", 0) == 0);
  CHECK(e.find("No such file") != std::string::npos);

  e = err(config::load(dir.path.string()));
  CHECK(e == dir.path.string() + ":1: is a directory, not a cluster file");

  const std::string empty = dir.write("empty.yaml", "# only a comment\n");
  e = err(config::load(empty));
  CHECK(e.rfind(empty + ":1: the file is empty", 0) == 0);
}

TEST_CASE("bad cluster files are refused naming the line and the problem", "[config]") {
  // Each row: the file text, the line the error must name, a fragment of the problem.
  using Row = std::tuple<std::string, int, std::string>;
  const std::string head = "cluster_id: demo\ndata_dir: d\n";  // lines 1-2, nodes from line 3
  auto row = GENERATE_REF(table<std::string, int, std::string>({
      // Not a map at all.
      Row{"- a\n- b\n", 1, "must be a YAML map"},
      Row{"just text\n", 1, "must be a YAML map"},
      // YAML syntax errors carry the parser's line.
      Row{"cluster_id: demo\nnodes: [1, 2\ndata_dir: x\n", 3, "YAML syntax error"},
      Row{"cluster_id: demo\n\tdata_dir: x\n", 2, "YAML syntax error"},
      // Unknown keys, at top level, in a node, in security.
      Row{head + "tick_ms: 100\nelection_tick: 10\n" + kNodes, 4, "unknown key 'election_tick'"},
      Row{head + "nodes:\n  - id: 1\n    raft: tcp://127.0.0.1:1\n    client: tcp://127.0.0.1:2\n    cleint: x\n",
          7, "unknown key 'cleint' in a node"},
      Row{head + "security:\n  curv: true\n" + kNodes, 4, "unknown key 'curv' in security"},
      // Duplicate keys (yaml-cpp would silently keep the first).
      Row{head + "tick_ms: 100\ntick_ms: 200\n" + kNodes, 4, "duplicate key 'tick_ms' in the cluster file (first at line 3)"},
      Row{head + "nodes:\n  - id: 1\n    id: 2\n    raft: tcp://127.0.0.1:1\n    client: tcp://127.0.0.1:2\n",
          5, "duplicate key 'id' in a node"},
      // Missing fields: the line of the map that lacks them.
      Row{std::string("data_dir: d\n") + kNodes, 1, "missing key 'cluster_id'"},
      Row{std::string("cluster_id: d\n") + kNodes, 1, "missing key 'data_dir'"},
      Row{head, 1, "missing key 'nodes'"},
      Row{head + "nodes:\n  - id: 1\n    raft: tcp://127.0.0.1:1\n", 4, "missing key 'client' in a node"},
      Row{head + "nodes:\n  - id: 1\n    raft: tcp://127.0.0.1:1\n    client: tcp://127.0.0.1:2\n"
                 "  - raft: tcp://127.0.0.1:3\n    client: tcp://127.0.0.1:4\n",
          7, "missing key 'id' in a node"},
      Row{head + "security:\n  curve: true\n" + kNodes, 4, "missing key 'keys_dir' in security"},
      // Empty or malformed node lists.
      Row{head + "nodes: []\n", 3, "'nodes' must be a non-empty list"},
      Row{head + "nodes:\n", 3, "'nodes' must be a non-empty list"},
      Row{head + "nodes:\n  - 1\n", 4, "each entry of 'nodes' must be a map"},
      // Ids.
      Row{head + "nodes:\n  - id: 0\n    raft: tcp://127.0.0.1:1\n    client: tcp://127.0.0.1:2\n", 4, "'id' must be positive, got 0"},
      Row{head + "nodes:\n  - id: -3\n    raft: tcp://127.0.0.1:1\n    client: tcp://127.0.0.1:2\n", 4, "'id' must be positive"},
      Row{head + "nodes:\n  - id: one\n    raft: tcp://127.0.0.1:1\n    client: tcp://127.0.0.1:2\n", 4, "'id' must be an integer, got 'one'"},
      Row{head + "nodes:\n  - id: 99999999999999999999999\n    raft: tcp://127.0.0.1:1\n    client: tcp://127.0.0.1:2\n", 4, "too large"},
      Row{head + "nodes:\n  - id: 1\n    raft: tcp://127.0.0.1:1\n    client: tcp://127.0.0.1:2\n"
                 "  - id: 1\n    raft: tcp://127.0.0.1:3\n    client: tcp://127.0.0.1:4\n",
          7, "duplicate node id 1 (first at line 4)"},
      // Addresses.
      Row{head + "nodes:\n  - id: 1\n    raft: 127.0.0.1:1\n    client: tcp://127.0.0.1:2\n", 5, "must start with tcp://"},
      Row{head + "nodes:\n  - id: 1\n    raft: tcp://127.0.0.1\n    client: tcp://127.0.0.1:2\n", 5, "bad raft address"},
      Row{head + "nodes:\n  - id: 1\n    raft: tcp://127.0.0.1:70000\n    client: tcp://127.0.0.1:2\n", 5, "port must be a number from 1 to 65535"},
      Row{head + "nodes:\n  - id: 1\n    raft: tcp://127.0.0.1:0\n    client: tcp://127.0.0.1:2\n", 5, "port must be"},
      Row{head + "nodes:\n  - id: 1\n    raft: tcp://127.0.0.1:x1\n    client: tcp://127.0.0.1:2\n", 5, "port must be"},
      Row{head + "nodes:\n  - id: 1\n    raft: tcp://:7101\n    client: tcp://127.0.0.1:2\n", 5, "missing host"},
      Row{head + "nodes:\n  - id: 1\n    raft: tcp://127.0.0.1:1\n    client: tcp://bad host:2\n", 6, "bad client address"},
      Row{head + "nodes:\n  - id: 1\n    raft: [a]\n    client: tcp://127.0.0.1:2\n", 5, "'raft' must be a string, got a list"},
      Row{head + "nodes:\n  - id: 1\n    raft: tcp://127.0.0.1:1\n    client: tcp://127.0.0.1:2\n"
                 "  - id: 2\n    raft: tcp://127.0.0.1:1\n    client: tcp://127.0.0.1:4\n",
          8, "address tcp://127.0.0.1:1 is used twice (node 1, line 5)"},
      Row{head + "nodes:\n  - id: 1\n    raft: tcp://127.0.0.1:1\n    client: tcp://127.0.0.1:2\n"
                 "  - id: 2\n    raft: tcp://127.0.0.1:3\n    client: tcp://127.0.0.1:2\n",
          9, "address tcp://127.0.0.1:2 is used twice"},
      Row{head + "nodes:\n  - id: 1\n    raft: tcp://127.0.0.1:1\n    client: tcp://127.0.0.1:1\n", 6, "used twice"},
      // Timings and counts.
      Row{head + "tick_ms: 0\n" + kNodes, 3, "'tick_ms' must be positive, got 0"},
      Row{head + "tick_ms: -5\n" + kNodes, 3, "'tick_ms' must be positive"},
      Row{head + "tick_ms: fast\n" + kNodes, 3, "'tick_ms' must be an integer, got 'fast'"},
      Row{head + "tick_ms: 1.5\n" + kNodes, 3, "'tick_ms' must be an integer"},
      Row{head + "tick_ms: 3000000000\n" + kNodes, 3, "'tick_ms' is too large"},
      Row{head + "election_ticks: 0\n" + kNodes, 3, "'election_ticks' must be positive"},
      Row{head + "heartbeat_ticks: 0\n" + kNodes, 3, "'heartbeat_ticks' must be positive"},
      Row{head + "election_ticks: 3\nheartbeat_ticks: 3\n" + kNodes, 3, "election_ticks (3) must be greater than heartbeat_ticks (3)"},
      Row{head + "heartbeat_ticks: 12\n" + kNodes, 3, "must be greater than heartbeat_ticks (12)"},
      Row{head + "snapshot_entries: 0\n" + kNodes, 3, "'snapshot_entries' must be positive"},
      Row{head + "snapshot_send_mb_s: 0\n" + kNodes, 3, "'snapshot_send_mb_s' must be positive"},
      Row{head + "snapshot_send_mb_s: 100001\n" + kNodes, 3, "'snapshot_send_mb_s' is too large"},
      Row{head + "snapshot_send_mb_s: fast\n" + kNodes, 3, "'snapshot_send_mb_s' must be an integer"},
      Row{head + "snapshot_log_mb: 0\n" + kNodes, 3, "'snapshot_log_mb' must be positive"},
      Row{head + "snapshot_log_mb: lots\n" + kNodes, 3, "'snapshot_log_mb' must be an integer"},
      Row{head + "max_state_mb: 0\n" + kNodes, 3, "'max_state_mb' must be positive"},
      Row{head + "max_key_bytes: 0\n" + kNodes, 3, "'max_key_bytes' must be positive"},
      Row{head + "max_value_bytes: 20000000\n" + kNodes, 3, "'max_value_bytes' is too large"},
      Row{head + "max_value_bytes: 8388608\n" + kNodes, 3, "+ 2 * max_value_bytes (8388608) must leave 4096 bytes"},
      Row{head + "max_key_bytes: 16000000\n" + kNodes, 3, "max_key_bytes (16000000)"},
      Row{head + "snapshot_log_md: 3\n" + kNodes, 3, "unknown key 'snapshot_log_md'"},
      Row{head + "fsync: maybe\n" + kNodes, 3, "'fsync' must be true or false, got 'maybe'"},
      // Strings.
      Row{"cluster_id: \ndata_dir: d\n" + std::string(kNodes), 1, "'cluster_id' must be a string, got nothing"},
      Row{"cluster_id: a b\ndata_dir: d\n" + std::string(kNodes), 1, "'cluster_id' must be 1 to 64 characters"},
      Row{"cluster_id: a\ndata_dir: {x: 1}\n" + std::string(kNodes), 2, "'data_dir' must be a string, got a map"},
      Row{head + "security: yes\n" + kNodes, 3, "'security' must be a map"},
  }));
  const std::string& text = std::get<0>(row);
  const int line = std::get<1>(row);
  const std::string& problem = std::get<2>(row);
  CAPTURE(text);
  const std::string e = err(config::parse(text, "bad.yaml", "/tmp"));
  CAPTURE(e);
  CHECK(e.rfind("bad.yaml:" + std::to_string(line) + ": ", 0) == 0);
  CHECK(e.find(problem) != std::string::npos);
  CHECK(e.find('\n') == std::string::npos);
}

TEST_CASE("check_address accepts host names and bracketed IPv6", "[config]") {
  CHECK(config::check_address("tcp://localhost:1") == "");
  CHECK(config::check_address("tcp://node-3.example:65535") == "");
  CHECK(config::check_address("tcp://[::1]:7101") == "");
  CHECK(config::check_address("tcp://::1:7101") != "");
  CHECK(config::check_address("ipc:///tmp/x") != "");
  CHECK(config::check_address("tcp://127.0.0.1:*") != "");
}
