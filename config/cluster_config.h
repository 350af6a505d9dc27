// The cluster file: which nodes exist, where they listen, where they keep their data, and
// the timing knobs every member must agree on (see config/cluster.yaml for the reference).
//
// load() is the gateway for a file a human wrote: it never throws and never guesses. Every
// problem comes back as one line "FILE:LINE: problem" (LINE 1-based) so that raft-node and
// raftctl can print it and exit with code 2. Invariants of a ClusterConfig returned by load():
// node ids are non-zero and distinct; every address is "tcp://HOST:PORT" with 1 <= PORT <=
// 65535 and no address is used twice (raft or client); nodes is non-empty; tick_ms,
// election_ticks, heartbeat_ticks, snapshot_entries, snapshot_log_mb, max_key_bytes,
// max_value_bytes and max_state_mb are positive and election_ticks > heartbeat_ticks;
// max_key_bytes + 2 * max_value_bytes + kClientRequestOverheadBytes <= kMaxClientRequestBytes; path and data_dir are absolute and lexically normal.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "raft/types.h"

namespace config {

struct NodeAddress {
  raft::NodeId id = raft::kNone;
  std::string raft;    // peer traffic, e.g. "tcp://127.0.0.1:7101" (the node's ROUTER binds here)
  std::string client;  // client traffic, e.g. "tcp://127.0.0.1:7201"
};

// Optional transport security (issue 7). Absent from the file means off. The key file
// layout inside keys_dir is defined by the code that uses it, not here.
struct SecurityConfig {
  bool curve = false;    // ZeroMQ CURVE on peer and client sockets
  std::string keys_dir;  // absolute; required when curve is true
};

// Largest client request frame a node accepts (the client socket's ZMQ_MAXMSGSIZE).
inline constexpr uint64_t kMaxClientRequestBytes = 16u << 20;
// Room in a client frame for everything but the key and values (ids, flags, cluster id).
inline constexpr uint64_t kClientRequestOverheadBytes = 4096;
inline constexpr uint64_t kDefaultSnapshotLogMb = 256;
inline constexpr uint64_t kDefaultMaxKeyBytes = 64u << 10;
inline constexpr uint64_t kDefaultMaxValueBytes = 4u << 20;
inline constexpr uint64_t kDefaultMaxStateMb = 4096;

struct ClusterConfig {
  std::string path;        // absolute path of the file it was loaded from
  std::string cluster_id;  // 1..64 characters of [A-Za-z0-9._-]
  std::string data_dir;    // absolute (relative paths resolve against the file's folder)
  int tick_ms = 100;
  int election_ticks = 10;
  int heartbeat_ticks = 1;
  bool fsync = true;
  uint64_t snapshot_entries = 10000;
  // A snapshot is also taken once this many MiB of log were written since the last one, so
  // that a restart replays a bounded amount of log whatever the entry sizes (README
  // "Large state": the default replays in about a second on this machine).
  uint64_t snapshot_log_mb = kDefaultSnapshotLogMb;
  // Requests with a longer key or value are refused by the client before sending and by the
  // node (Rejected "key too large" / "value too large"). A Cas carries the expected value
  // and the new one, so max_key_bytes + 2 * max_value_bytes must fit in a client frame.
  uint64_t max_key_bytes = kDefaultMaxKeyBytes;
  uint64_t max_value_bytes = kDefaultMaxValueBytes;
  // The state quota (etcd's quota-backend-bytes): writes that would grow the key-value state
  // past this many MiB are refused (Rejected), reads and deletes keep working.
  uint64_t max_state_mb = kDefaultMaxStateMb;
  // A leader whose log write + fsync took longer than this hands leadership to the most
  // up-to-date voter (docs/disk_faults.md). Positive; when absent from the file,
  // max(500, election_ticks * tick_ms / 2).
  int fsync_stall_ms = 500;
  // Snapshot transfers from this node to lagging followers are paced to at most this many
  // MiB/s in total (docs/snapshots.md), so that a catch-up cannot starve live replication.
  // 0 (the key absent): not paced, only flow-controlled. When present: 1..100000.
  uint64_t snapshot_send_mb_s = 0;
  SecurityConfig security;
  std::vector<NodeAddress> nodes;

  // nullptr if no node has this id.
  const NodeAddress* find(raft::NodeId id) const;
  // <data_dir>/node-<id>
  std::string node_dir(raft::NodeId id) const;
};

struct ConfigError {
  std::string message;  // "FILE:LINE: problem", one line
};

// Reads and validates the file at `path`. Never throws.
std::variant<ClusterConfig, ConfigError> load(const std::string& path);

// Validates YAML text. Errors name `name_for_errors`; relative paths in the text resolve
// against `base_dir` (made absolute against the current directory if relative). The
// returned config's path is `name_for_errors`. Never throws.
std::variant<ClusterConfig, ConfigError> parse(const std::string& yaml_text,
                                               const std::string& name_for_errors,
                                               const std::string& base_dir);

// Checks "tcp://HOST:PORT" with 1 <= PORT <= 65535; on failure returns why, else "".
std::string check_address(const std::string& address);

}  // namespace config
