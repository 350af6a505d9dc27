#include "node/member_addresses.h"

#include <charconv>

namespace node {

std::string encode_member_addresses(const std::vector<MemberAddress>& members) {
  std::string out;
  for (const auto& m : members) {
    if (!out.empty()) out += ';';
    out += std::to_string(m.id) + "=" + m.raft + "," + m.client;
  }
  return out;
}

std::optional<std::vector<MemberAddress>> decode_member_addresses(std::string_view text,
                                                                 std::string* error) {
  auto bad = [&](std::string why) -> std::optional<std::vector<MemberAddress>> {
    if (error) *error = "member addresses: " + why;
    return std::nullopt;
  };
  std::vector<MemberAddress> out;
  while (!text.empty()) {
    const size_t semi = text.find(';');
    const std::string_view item = text.substr(0, semi);
    text = semi == std::string_view::npos ? std::string_view() : text.substr(semi + 1);
    const size_t eq = item.find('=');
    const size_t comma = item.find(',');
    if (eq == std::string_view::npos || comma == std::string_view::npos || comma < eq)
      return bad("expected id=raft,client in '" + std::string(item) + "'");
    MemberAddress m;
    const auto id_text = item.substr(0, eq);
    auto [p, ec] = std::from_chars(id_text.data(), id_text.data() + id_text.size(), m.id);
    if (ec != std::errc() || p != id_text.data() + id_text.size() || m.id == 0)
      return bad("bad id '" + std::string(id_text) + "'");
    m.raft = std::string(item.substr(eq + 1, comma - eq - 1));
    m.client = std::string(item.substr(comma + 1));
    if (m.raft.empty() || m.client.empty() || m.client.find(',') != std::string::npos)
      return bad("bad addresses in '" + std::string(item) + "'");
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace node
