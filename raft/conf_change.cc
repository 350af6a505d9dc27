#include "raft/conf_change.h"

#include "raft/check.h"

namespace raft {
namespace {

constexpr uint64_t kVersion = 1;

void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

bool get_varint(const std::string& in, size_t& pos, uint64_t& v) {
  v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (pos >= in.size()) return false;
    const auto byte = static_cast<uint8_t>(in[pos++]);
    v |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if (!(byte & 0x80)) return true;
  }
  return false;
}

}  // namespace

std::string encode_conf_change(const ConfChangeV2& cc) {
  std::string out;
  put_varint(out, kVersion);
  put_varint(out, static_cast<uint64_t>(cc.transition));
  put_varint(out, cc.changes.size());
  for (const auto& c : cc.changes) {
    put_varint(out, static_cast<uint64_t>(c.change_type));
    put_varint(out, c.node_id);
  }
  put_varint(out, cc.context.size());
  out += cc.context;
  return out;
}

Result<ConfChangeV2> decode_conf_change(const std::string& data) {
  auto bad = [](const char* why) { return make_error(ErrorCode::ConfigInvalid, std::string("conf change entry: ") + why); };
  size_t pos = 0;
  uint64_t v = 0;
  if (!get_varint(data, pos, v) || v != kVersion) return bad("unknown version");
  ConfChangeV2 cc;
  if (!get_varint(data, pos, v) || v > 2) return bad("bad transition");
  cc.transition = static_cast<ConfChangeTransition>(v);
  uint64_t n = 0;
  if (!get_varint(data, pos, n) || n > data.size()) return bad("bad change count");
  cc.changes.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t type = 0, id = 0;
    if (!get_varint(data, pos, type) || type > 2) return bad("bad change type");
    if (!get_varint(data, pos, id)) return bad("truncated node id");
    cc.changes.push_back({static_cast<ConfChangeType>(type), id});
  }
  uint64_t len = 0;
  if (!get_varint(data, pos, len) || len > data.size() - pos) return bad("bad context length");
  cc.context = data.substr(pos, len);
  pos += len;
  if (pos != data.size()) return bad("trailing bytes");
  return cc;
}

std::string describe(const ConfChangeV2& cc) {
  static const char* kTransitions[] = {"auto", "implicit", "explicit"};
  std::string s = format("v2{%s:", kTransitions[static_cast<int>(cc.transition)]);
  if (cc.changes.empty()) s += " leave-joint";
  for (size_t i = 0; i < cc.changes.size(); ++i) {
    const auto& c = cc.changes[i];
    const char* verb = c.change_type == ConfChangeType::AddNode        ? "add"
                       : c.change_type == ConfChangeType::RemoveNode   ? "remove"
                                                                       : "learner";
    s += format("%s %s %lu", i ? "," : "", verb, c.node_id);
  }
  return s + "}";
}

}  // namespace raft
