// Identity: the record that says whose a node folder is, <node_dir>/IDENTITY.
//
// Written once when the folder starts holding a member's state (and again only when a node
// starts on an EMPTY store, see below), durably: IDENTITY.tmp is written and fsynced, renamed
// over IDENTITY, and the folder is fsynced. A node refuses a folder whose identity names
// another cluster or another node id, before it changes anything in it.
//
// The incarnation is a random 64-bit number that changes whenever a folder starts with no
// state to remember: it tells a voter's current life from an earlier one that voted and then
// lost its disk (docs/membership.md, "Amnesia"). The origin says how the folder began:
//   bootstrap  created by --bootstrap: a founding voter of the cluster;
//   upgrade    data written by a version without identity records (so it has a history);
//   join       created empty, waiting to be added by push-config.
// Founding voters and upgraded folders hold their voter slot from the start (their cluster
// has no other record of them); a joining folder holds only what the membership records for
// its incarnation.
//
// Text format, one "key value" per line (the value is the rest of the line):
//   raftkv-identity 1
//   cluster_id my-cluster
//   node_id 2
//   incarnation 9f3c0a5e11d2b4c7
//   origin bootstrap
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "raft/error.h"
#include "storage/env.h"

namespace storage {

inline constexpr const char* kIdentityFileName = "IDENTITY";
inline constexpr uint32_t kIdentityFormatVersion = 1;

enum class IdentityOrigin : uint8_t { Bootstrap, Upgrade, Join };

struct Identity {
  uint32_t format_version = kIdentityFormatVersion;
  std::string cluster_id;
  uint64_t node_id = 0;
  uint64_t incarnation = 0;  // never 0 in a valid record
  IdentityOrigin origin = IdentityOrigin::Join;

  // Founders and upgraded folders hold their voter slot without a record in the membership.
  bool founder() const { return origin != IdentityOrigin::Join; }
  bool operator==(const Identity&) const = default;
};

const char* to_string(IdentityOrigin o);
// "node 2 of cluster 'c', incarnation 9f3c0a5e11d2b4c7 (origin bootstrap, format 1)"
std::string describe(const Identity& id);
// The incarnation as the 16 hex digits used in files, logs and status.
std::string incarnation_hex(uint64_t incarnation);
// A fresh non-zero random incarnation (std::random_device).
uint64_t new_incarnation();

std::string encode_identity(const Identity& id);
// Fails (Io) with a message naming `what` on anything malformed or of a newer format.
raft::Result<Identity> decode_identity(const std::string& text, const std::string& what);

// The folder's identity; nullopt if it has no IDENTITY file.
raft::Result<std::optional<Identity>> read_identity(Env& env, const std::string& node_dir);
// Writes IDENTITY durably (tmp file, sync, rename, sync of the folder).
raft::Result<void> write_identity(Env& env, const std::string& node_dir, const Identity& id);

}  // namespace storage
