// KvCommand: the bytes of a client write inside a Raft log entry (EntryType::Normal).
//
// A command carries the writer's identity (client_id, seq) so that the state machine can
// apply a retried write at most once (see kv_state_machine.h). Format, version 1, using
// byte_codec.h: u8 version, u8 op, u64 client_id, u64 seq, str key, str value,
// str expected, u8 expected_absent. decode_kv_command accepts exactly this and nothing else
// (trailing bytes are an error): the log is trusted, but a bug that writes garbage must be
// found, not applied.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace node {

enum class KvOp : uint8_t { Put = 1, Del = 2, Cas = 3 };

struct KvCommand {
  KvOp op = KvOp::Put;
  uint64_t client_id = 0;
  uint64_t seq = 0;
  std::string key;
  std::string value;     // Put, Cas: the new value
  std::string expected;  // Cas: the value the key must hold
  bool expected_absent = false;  // Cas: the key must not exist (expected is ignored)

  bool operator==(const KvCommand&) const = default;
};

std::string encode_kv_command(const KvCommand& cmd);
// nullopt (with a reason in *error when given) for bytes that are not a version-1 command.
std::optional<KvCommand> decode_kv_command(std::string_view bytes, std::string* error = nullptr);

}  // namespace node
