#include "storage/identity.h"

#include <charconv>
#include <cinttypes>
#include <cstdio>
#include <random>
#include <sstream>

namespace storage {
namespace {

constexpr const char* kMagic = "raftkv-identity";

raft::Error bad(const std::string& what, const std::string& why) {
  return raft::Error{raft::ErrorCode::Io, what + ": not a valid identity record: " + why};
}

template <class T>
bool parse_uint(const std::string& s, int base, T* out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out, base);
  return ec == std::errc() && p == s.data() + s.size() && !s.empty();
}

}  // namespace

const char* to_string(IdentityOrigin o) {
  switch (o) {
    case IdentityOrigin::Bootstrap: return "bootstrap";
    case IdentityOrigin::Upgrade: return "upgrade";
    case IdentityOrigin::Join: return "join";
  }
  return "?";
}

std::string incarnation_hex(uint64_t incarnation) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016" PRIx64, incarnation);
  return buf;
}

std::string describe(const Identity& id) {
  return "node " + std::to_string(id.node_id) + " of cluster '" + id.cluster_id + "', incarnation " +
         incarnation_hex(id.incarnation) + " (origin " + to_string(id.origin) + ", format " +
         std::to_string(id.format_version) + ")";
}

uint64_t new_incarnation() {
  std::random_device rd;
  uint64_t v = 0;
  while (v == 0) v = (uint64_t{rd()} << 32) ^ rd();
  return v;
}

std::string encode_identity(const Identity& id) {
  return std::string(kMagic) + " " + std::to_string(id.format_version) + "\ncluster_id " + id.cluster_id +
         "\nnode_id " + std::to_string(id.node_id) + "\nincarnation " + incarnation_hex(id.incarnation) +
         "\norigin " + to_string(id.origin) + "\n";
}

raft::Result<Identity> decode_identity(const std::string& text, const std::string& what) {
  std::istringstream in(text);
  std::string line;
  Identity id;
  bool seen[5] = {};
  int n = 0;
  while (std::getline(in, line)) {
    const size_t sp = line.find(' ');
    if (sp == std::string::npos) return bad(what, "line '" + line + "' has no value");
    const std::string key = line.substr(0, sp), value = line.substr(sp + 1);
    int slot = -1;
    if (n == 0) {
      if (key != kMagic) return bad(what, "it does not start with '" + std::string(kMagic) + "'");
      if (!parse_uint(value, 10, &id.format_version)) return bad(what, "bad format version '" + value + "'");
      if (id.format_version != kIdentityFormatVersion)
        return bad(what, "format " + value + " is not the " + std::to_string(kIdentityFormatVersion) +
                             " this version reads");
      slot = 0;
    } else if (key == "cluster_id") {
      if (value.empty()) return bad(what, "empty cluster_id");
      id.cluster_id = value;
      slot = 1;
    } else if (key == "node_id") {
      if (!parse_uint(value, 10, &id.node_id) || id.node_id == 0) return bad(what, "bad node_id '" + value + "'");
      slot = 2;
    } else if (key == "incarnation") {
      if (value.size() != 16 || !parse_uint(value, 16, &id.incarnation) || id.incarnation == 0)
        return bad(what, "bad incarnation '" + value + "'");
      slot = 3;
    } else if (key == "origin") {
      if (value == "bootstrap") id.origin = IdentityOrigin::Bootstrap;
      else if (value == "upgrade") id.origin = IdentityOrigin::Upgrade;
      else if (value == "join") id.origin = IdentityOrigin::Join;
      else return bad(what, "bad origin '" + value + "'");
      slot = 4;
    } else {
      return bad(what, "unknown key '" + key + "'");
    }
    if (seen[slot]) return bad(what, "'" + key + "' appears twice");
    seen[slot] = true;
    ++n;
  }
  for (bool s : seen)
    if (!s) return bad(what, "a field is missing (magic, cluster_id, node_id, incarnation, origin)");
  return id;
}

raft::Result<std::optional<Identity>> read_identity(Env& env, const std::string& node_dir) {
  const std::string path = join_path(node_dir, kIdentityFileName);
  if (!env.exists(path)) return std::optional<Identity>();
  auto text = env.read_file(path);
  if (!text.ok()) return text.error();
  auto id = decode_identity(*text, path);
  if (!id.ok()) return id.error();
  return std::optional<Identity>(std::move(*id));
}

raft::Result<void> write_identity(Env& env, const std::string& node_dir, const Identity& id) {
  const std::string path = join_path(node_dir, kIdentityFileName);
  const std::string tmp = path + ".tmp";
  if (env.exists(tmp)) {  // left by a crash during an earlier write: never appended to
    if (auto r = env.remove_file(tmp); !r.ok()) return r;
  }
  {
    auto f = env.open_appendable(tmp);
    if (!f.ok()) return f.error();
    if (auto r = (*f)->append(encode_identity(id)); !r.ok()) return r;
    if (auto r = (*f)->sync(); !r.ok()) return r;
  }
  if (auto r = env.rename(tmp, path); !r.ok()) return r;
  return env.sync_dir(node_dir);
}

}  // namespace storage
