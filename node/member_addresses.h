// MemberAddress: where a cluster member listens, and its text encoding inside the context of
// a membership change.
//
// A node learns the addresses of members that were not in its cluster file from the log:
// the conf change that adds a member carries, in its context, "id=raft_addr,client_addr"
// items separated by ';', e.g. "6=tcp://127.0.0.1:7106,tcp://127.0.0.1:7206". Every node
// applies the same entries, so every node learns the same addresses (and keeps them in its
// KV snapshots, see kv_state_machine.h). Addresses never contain ',', ';' or '='.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace node {

struct MemberAddress {
  uint64_t id = 0;
  std::string raft;
  std::string client;

  bool operator==(const MemberAddress&) const = default;
};

std::string encode_member_addresses(const std::vector<MemberAddress>& members);
// nullopt (reason in *error) on malformed text. An empty string is an empty list.
std::optional<std::vector<MemberAddress>> decode_member_addresses(std::string_view text,
                                                                 std::string* error = nullptr);

}  // namespace node
