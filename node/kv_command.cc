#include "node/kv_command.h"

#include "node/byte_codec.h"

namespace node {
namespace {
constexpr uint8_t kVersion = 1;
}

std::string encode_kv_command(const KvCommand& cmd) {
  ByteWriter w;
  w.u8(kVersion);
  w.u8(static_cast<uint8_t>(cmd.op));
  w.u64(cmd.client_id);
  w.u64(cmd.seq);
  w.str(cmd.key);
  w.str(cmd.value);
  w.str(cmd.expected);
  w.u8(cmd.expected_absent ? 1 : 0);
  return w.take();
}

std::optional<KvCommand> decode_kv_command(std::string_view bytes, std::string* error) {
  auto bad = [&](const char* why) -> std::optional<KvCommand> {
    if (error) *error = why;
    return std::nullopt;
  };
  ByteReader r(bytes);
  if (r.u8() != kVersion || !r.ok()) return bad("kv command: unknown version");
  KvCommand cmd;
  const uint8_t op = r.u8();
  if (op < 1 || op > 3) return bad("kv command: unknown operation");
  cmd.op = static_cast<KvOp>(op);
  cmd.client_id = r.u64();
  cmd.seq = r.u64();
  cmd.key = r.str();
  cmd.value = r.str();
  cmd.expected = r.str();
  const uint8_t absent = r.u8();
  if (!r.ok()) return bad("kv command: truncated");
  if (absent > 1) return bad("kv command: bad flag");
  if (!r.at_end()) return bad("kv command: trailing bytes");
  cmd.expected_absent = absent == 1;
  return cmd;
}

}  // namespace node
