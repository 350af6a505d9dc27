#include "storage/layout.h"

#include "storage/env.h"

namespace storage {

Layout::Layout(std::string dir)
    : node_dir(std::move(dir)),
      wal_dir(join_path(node_dir, "wal")),
      snap_dir(join_path(node_dir, "snap")) {}

std::string node_dir_path(const std::string& data_dir, raft::NodeId id) {
  return join_path(data_dir, "node-" + std::to_string(id));
}

}  // namespace storage
