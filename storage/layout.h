// Layout: where a node keeps its files. Everything of node N lives in one folder:
//
//   <data_dir>/node-N/
//   ├── wal/                 the write-ahead log, in segments (segment.h explains the names)
//   │   ├── 00000000000000000001-00000000000000000001.wal
//   │   └── 00000000000000000002-00000000000000052113.wal   (appended to; older ones are not)
//   ├── snap/                snapshots of the state machine (snapshot_file.h)
//   │   ├── 00000000000000050000.snap
//   │   └── 00000000000000060000.snap.tmp                   (while one is being written)
//   ├── LOCK                 flock'ed by the running raft-node, holds its pid (dir_lock.h)
//   ├── IDENTITY             cluster id, node id, incarnation, origin (identity.h)
//   ├── node.pid             written by scripts/cluster.sh
//   └── node.log             the process's output
//
// wal/, snap/, LOCK and IDENTITY belong to storage/; node.pid and node.log are the launcher's.
#pragma once

#include <string>

#include "raft/types.h"

namespace storage {

struct Layout {
  explicit Layout(std::string node_dir);

  std::string node_dir;
  std::string wal_dir;
  std::string snap_dir;
};

// <data_dir>/node-<id>
std::string node_dir_path(const std::string& data_dir, raft::NodeId id);

}  // namespace storage
