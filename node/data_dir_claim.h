// DataDirClaim: how a raft-node takes possession of its folder <data_dir>/node-N before it
// reads or writes any of its state (docs/membership.md "Operator mistakes"):
//   1. claim_data_dir: a folder whose IDENTITY names another cluster or another node id is
//      refused, naming both; then the folder's LOCK is taken (storage/dir_lock.h), so a second
//      process on the same folder is refused, naming the holder's pid. Both refusals happen
//      before anything in the folder is written.
//   2. settle_identity, once the log store is open: a folder without IDENTITY gets one
//      (origin upgrade when it already holds data written by an older version, else bootstrap
//      or join); a store that is EMPTY gets a fresh incarnation unless it is a joining folder
//      that never held anything (a store emptied behind the node's back must not keep the
//      incarnation its lost votes were cast under).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <variant>

#include "storage/dir_lock.h"
#include "storage/identity.h"

namespace node {

struct DataDirClaim {
  std::string dir;
  std::unique_ptr<storage::DirLock> lock;    // held for the life of the process
  std::optional<storage::Identity> found;    // IDENTITY as it was before this start
  storage::Identity identity;                // valid after settle_identity
};

// Creates `dir` if needed. On refusal returns the one-line reason.
std::variant<DataDirClaim, std::string> claim_data_dir(const std::string& dir, const std::string& cluster_id,
                                                       uint64_t node_id);

// Writes IDENTITY when needed (see above) and logs why. Returns "" or the reason it failed.
std::string settle_identity(DataDirClaim& claim, const std::string& cluster_id, uint64_t node_id, bool store_empty,
                            bool bootstrap);

}  // namespace node
