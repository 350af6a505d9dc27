#include "node/data_dir_claim.h"

#include <filesystem>

#include <spdlog/spdlog.h>

namespace node {

std::variant<DataDirClaim, std::string> claim_data_dir(const std::string& dir, const std::string& cluster_id,
                                                       uint64_t node_id) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return "cannot create " + dir + ": " + ec.message();
  DataDirClaim claim;
  claim.dir = dir;
  // Read-only until the checks pass: a refused start leaves every byte of the folder as it was.
  auto found = storage::read_identity(*storage::default_env(), dir);
  if (!found.ok()) return found.error().message;
  claim.found = std::move(*found);
  if (claim.found && (claim.found->cluster_id != cluster_id || claim.found->node_id != node_id)) {
    return dir + " holds node " + std::to_string(claim.found->node_id) + " of cluster '" + claim.found->cluster_id +
           "' (see its IDENTITY), not node " + std::to_string(node_id) + " of cluster '" + cluster_id +
           "': refusing to start on it";
  }
  auto lock = storage::DirLock::acquire(dir);
  if (!lock.ok()) return lock.error().message;
  claim.lock = std::move(*lock);
  return claim;
}

std::string settle_identity(DataDirClaim& claim, const std::string& cluster_id, uint64_t node_id, bool store_empty,
                            bool bootstrap) {
  using storage::IdentityOrigin;
  const auto& found = claim.found;
  if (found && !(store_empty && found->founder())) {
    // Kept: the folder's state (or, for a joining folder that holds nothing yet, the absence
    // of any vote or log) belongs to this incarnation.
    claim.identity = *found;
    return "";
  }
  storage::Identity id;
  id.cluster_id = cluster_id;
  id.node_id = node_id;
  id.incarnation = storage::new_incarnation();
  id.origin = !store_empty ? IdentityOrigin::Upgrade : bootstrap ? IdentityOrigin::Bootstrap : IdentityOrigin::Join;
  if (auto r = storage::write_identity(*storage::default_env(), claim.dir, id); !r.ok())
    return "cannot write the identity record: " + r.error().message;
  if (!found && !store_empty) {
    spdlog::warn("{} held data but no identity record (written by an older version): wrote one: {}", claim.dir,
                 storage::describe(id));
  } else if (found) {
    spdlog::warn("{} had an identity ({}) but an empty store: its state was lost, so this is a new incarnation: {}",
                 claim.dir, storage::describe(*found), storage::describe(id));
  } else {
    spdlog::info("new data folder {}: {}", claim.dir, storage::describe(id));
  }
  claim.identity = id;
  return "";
}

}  // namespace node
