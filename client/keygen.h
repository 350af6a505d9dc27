// keygen: `raftctl keygen`, which creates the CURVE key files of a cluster (docs/security.md).
//
// For the cluster file's security.keys_dir it creates, when missing: the folder (mode 0700),
// node-<id>.key/.pub for every node of the file, client-client.key/.pub (the default client
// key of raftctl) and client-<name>.key/.pub for each requested client name. It never
// overwrites a key: an existing pair is kept (and a lost .pub is re-derived from its .key); a
// .pub without its .key is an error. It prints each file it wrote with the public key's
// fingerprint, never a secret key.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "config/cluster_config.h"

namespace client {

inline constexpr const char* kDefaultClientKey = "client";

// Returns raftctl's exit code: 0 when every key exists afterwards, 2 when the file has no
// keys_dir, a name is bad, or a key could not be written (each problem on `err`).
int keygen(const config::ClusterConfig& cfg, const std::vector<std::string>& client_names, std::ostream& out,
           std::ostream& err);

}  // namespace client
