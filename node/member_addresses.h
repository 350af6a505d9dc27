// MemberAddress: where a cluster member listens, and its text encoding inside the context of
// a membership change.
//
// A node learns the addresses of members that were not in its cluster file from the log:
// the conf change that adds a member carries, in its context, "id=raft_addr,client_addr" or
// "id=raft_addr,client_addr,incarnation" items separated by ';', e.g.
// "6=tcp://127.0.0.1:7106,tcp://127.0.0.1:7206,9f3c0a5e11d2b4c7". Every node applies the same
// entries, so every node learns the same addresses and incarnations (and keeps them in its
// KV snapshots, see kv_state_machine.h). Addresses never contain ',', ';' or '='.
//
// The incarnation (16 hex digits, storage/identity.h) is the one the member's data folder
// had when push-config added it: peers drop messages from that id that carry another one, so
// a member that lost its data cannot vote until it is removed and added again
// (docs/membership.md "Amnesia"). 0 (the field absent) means "not recorded".
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
  uint64_t incarnation = 0;  // 0: not recorded

  bool operator==(const MemberAddress&) const = default;
};

std::string encode_member_addresses(const std::vector<MemberAddress>& members);
// nullopt (reason in *error) on malformed text. An empty string is an empty list.
std::optional<std::vector<MemberAddress>> decode_member_addresses(std::string_view text,
                                                                 std::string* error = nullptr);

}  // namespace node
