#include "node/member_addresses.h"

#include <charconv>
#include <cstdio>

namespace node {

std::string encode_member_addresses(const std::vector<MemberAddress>& members) {
  std::string out;
  for (const auto& m : members) {
    if (!out.empty()) out += ';';
    out += std::to_string(m.id) + "=" + m.raft + "," + m.client;
    if (m.incarnation != 0) {
      char hex[17];
      std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(m.incarnation));
      out += std::string(",") + hex;
    }
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
    std::string_view client = item.substr(comma + 1);
    if (const size_t comma2 = client.find(','); comma2 != std::string_view::npos) {
      const std::string_view inc = client.substr(comma2 + 1);
      auto [ip, iec] = std::from_chars(inc.data(), inc.data() + inc.size(), m.incarnation, 16);
      if (inc.size() != 16 || iec != std::errc() || ip != inc.data() + inc.size() || m.incarnation == 0)
        return bad("bad incarnation '" + std::string(inc) + "' (16 hex digits, not all zero)");
      client = client.substr(0, comma2);
    }
    m.client = std::string(client);
    if (m.raft.empty() || m.client.empty()) return bad("bad addresses in '" + std::string(item) + "'");
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace node
