#include "config/cluster_config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>
#include <string_view>

namespace config {
namespace {

namespace fs = std::filesystem;

// Thrown inside this file only and turned into a ConfigError by parse(): validation reads
// far better as straight-line code than with a check after every step.
struct Failure {
  int line;  // 1-based
  std::string problem;
};

int line_of(const YAML::Node& n) {
  const int line = n.Mark().line;
  return line < 0 ? 1 : line + 1;
}

[[noreturn]] void fail(const YAML::Node& at, std::string problem) {
  throw Failure{line_of(at), std::move(problem)};
}

struct Field {
  YAML::Node key;
  YAML::Node value;
  // Where a problem with the value is reported: an empty value ("key:") has the mark of
  // whatever follows it, so use the key's line then.
  const YAML::Node& where() const { return value.IsNull() ? key : value; }
};

// The keys of one YAML map, checked against the allowed set. yaml-cpp keeps the first of two
// equal keys and says nothing, so duplicates are found here by walking every key.
class Fields {
 public:
  Fields(const YAML::Node& map, std::string what, std::initializer_list<std::string_view> allowed)
      : map_(map), what_(std::move(what)) {
    for (auto it = map.begin(); it != map.end(); ++it) {
      const YAML::Node key = it->first;
      if (!key.IsScalar()) fail(key, "a key in " + what_ + " is not a plain name");
      const std::string& name = key.Scalar();
      bool known = false;
      for (std::string_view a : allowed) known = known || a == name;
      if (!known) {
        std::string list;
        for (std::string_view a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
        fail(key, "unknown key '" + name + "' in " + what_ + " (allowed: " + list + ")");
      }
      auto [pos, inserted] = fields_.emplace(name, Field{key, it->second});
      if (!inserted) {
        fail(key, "duplicate key '" + name + "' in " + what_ + " (first at line " +
                      std::to_string(line_of(pos->second.key)) + ")");
      }
    }
  }

  const Field* get(const std::string& name) const {
    auto it = fields_.find(name);
    return it == fields_.end() ? nullptr : &it->second;
  }
  // yaml-cpp has no location for a key that is absent: report the map that lacks it.
  const Field& require(const std::string& name) const {
    const Field* f = get(name);
    if (f == nullptr) fail(map_, "missing key '" + name + "' in " + what_);
    return *f;
  }

 private:
  YAML::Node map_;
  std::string what_;
  std::map<std::string, Field> fields_;
};

std::string describe_value(const YAML::Node& v) {
  if (v.IsScalar()) return "'" + v.Scalar() + "'";
  if (v.IsSequence()) return "a list";
  if (v.IsMap()) return "a map";
  return "nothing";
}

std::string scalar_string(const Field& f) {
  const std::string& name = f.key.Scalar();
  if (!f.value.IsScalar()) fail(f.where(), "'" + name + "' must be a string, got " + describe_value(f.value));
  if (f.value.Scalar().empty()) fail(f.where(), "'" + name + "' must not be empty");
  return f.value.Scalar();
}

// Strict decimal parsing (as<int>(fallback) would accept garbage, TOOLCHAIN pitfall 4).
uint64_t parse_uint(const Field& f, uint64_t max) {
  const std::string& name = f.key.Scalar();
  if (!f.value.IsScalar()) fail(f.where(), "'" + name + "' must be an integer, got " + describe_value(f.value));
  const std::string& s = f.value.Scalar();
  if (!s.empty() && s[0] == '-') fail(f.where(), "'" + name + "' must be positive, got " + s);
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec == std::errc::invalid_argument || end != s.data() + s.size()) {
    fail(f.where(), "'" + name + "' must be an integer, got '" + s + "'");
  }
  if (ec == std::errc::result_out_of_range || v > max) {
    fail(f.where(), "'" + name + "' is too large: " + s + " (at most " + std::to_string(max) + ")");
  }
  if (v == 0) fail(f.where(), "'" + name + "' must be positive, got 0");
  return v;
}

bool parse_bool(const Field& f) {
  const std::string& name = f.key.Scalar();
  if (f.value.IsScalar()) {
    try {
      return f.value.as<bool>();
    } catch (const YAML::Exception&) {
    }
  }
  fail(f.where(), "'" + name + "' must be true or false, got " + describe_value(f.value));
}

std::string resolve_dir(const std::string& dir, const fs::path& base) {
  fs::path p(dir);
  if (p.is_relative()) p = base / p;
  return p.lexically_normal().string();
}

bool valid_cluster_id(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

struct AddressUse {
  raft::NodeId id;
  int line;
};

void parse_nodes(const Field& f, ClusterConfig& cfg) {
  if (!f.value.IsSequence() || f.value.size() == 0) {
    fail(f.where(), "'nodes' must be a non-empty list of {id, raft, client}");
  }
  std::map<raft::NodeId, int> id_lines;
  std::map<std::string, AddressUse> addresses;
  for (const YAML::Node& item : f.value) {
    if (!item.IsMap()) fail(item, "each entry of 'nodes' must be a map with id, raft and client");
    Fields fields(item, "a node", {"id", "raft", "client"});
    NodeAddress node;
    const Field& id = fields.require("id");
    node.id = parse_uint(id, std::numeric_limits<uint64_t>::max());
    if (auto [pos, inserted] = id_lines.emplace(node.id, line_of(id.where())); !inserted) {
      fail(id.where(), "duplicate node id " + std::to_string(node.id) + " (first at line " +
                         std::to_string(pos->second) + ")");
    }
    for (const char* which : {"raft", "client"}) {
      const Field& a = fields.require(which);
      std::string address = scalar_string(a);
      if (std::string why = check_address(address); !why.empty()) {
        fail(a.where(), "bad " + std::string(which) + " address '" + address + "': " + why);
      }
      auto [pos, inserted] = addresses.emplace(address, AddressUse{node.id, line_of(a.where())});
      if (!inserted) {
        fail(a.where(), "address " + address + " is used twice (node " + std::to_string(pos->second.id) +
                          ", line " + std::to_string(pos->second.line) + ")");
      }
      (std::string_view(which) == "raft" ? node.raft : node.client) = std::move(address);
    }
    cfg.nodes.push_back(std::move(node));
  }
}

ClusterConfig parse_root(const YAML::Node& root, const fs::path& base) {
  if (root.IsNull()) throw Failure{1, "the file is empty (expected a map with cluster_id, data_dir and nodes)"};
  if (!root.IsMap()) fail(root, "the file must be a YAML map with cluster_id, data_dir and nodes");
  Fields fields(root, "the cluster file",
                {"cluster_id", "data_dir", "tick_ms", "election_ticks", "heartbeat_ticks", "fsync",
                 "snapshot_entries", "snapshot_log_mb", "max_key_bytes", "max_value_bytes", "max_state_mb",
                 "fsync_stall_ms", "security", "nodes", "snapshot_send_mb_s"});
  ClusterConfig cfg;

  const Field& cid = fields.require("cluster_id");
  cfg.cluster_id = scalar_string(cid);
  if (!valid_cluster_id(cfg.cluster_id)) {
    fail(cid.where(), "'cluster_id' must be 1 to 64 characters of A-Z a-z 0-9 . _ -, got '" +
                        cfg.cluster_id + "'");
  }
  cfg.data_dir = resolve_dir(scalar_string(fields.require("data_dir")), base);

  constexpr uint64_t kIntMax = std::numeric_limits<int>::max();
  if (const Field* f = fields.get("tick_ms")) cfg.tick_ms = static_cast<int>(parse_uint(*f, kIntMax));
  if (const Field* f = fields.get("election_ticks")) cfg.election_ticks = static_cast<int>(parse_uint(*f, kIntMax));
  if (const Field* f = fields.get("heartbeat_ticks")) cfg.heartbeat_ticks = static_cast<int>(parse_uint(*f, kIntMax));
  if (cfg.election_ticks <= cfg.heartbeat_ticks) {
    // Raft §5.2: followers must hear heartbeats well within the election timeout.
    const Field* at = fields.get("election_ticks");
    if (at == nullptr) at = fields.get("heartbeat_ticks");
    fail(at != nullptr ? at->where() : root,
         "election_ticks (" + std::to_string(cfg.election_ticks) + ") must be greater than heartbeat_ticks (" +
             std::to_string(cfg.heartbeat_ticks) + ")");
  }
  if (const Field* f = fields.get("fsync")) cfg.fsync = parse_bool(*f);
  if (const Field* f = fields.get("snapshot_entries")) {
    cfg.snapshot_entries = parse_uint(*f, std::numeric_limits<uint64_t>::max());
  }
  constexpr uint64_t kMbMax = uint64_t{1} << 40;  // keeps MiB -> bytes from overflowing
  if (const Field* f = fields.get("snapshot_log_mb")) cfg.snapshot_log_mb = parse_uint(*f, kMbMax);
  if (const Field* f = fields.get("max_state_mb")) cfg.max_state_mb = parse_uint(*f, kMbMax);
  if (const Field* f = fields.get("max_key_bytes")) cfg.max_key_bytes = parse_uint(*f, kMaxClientRequestBytes);
  if (const Field* f = fields.get("max_value_bytes")) cfg.max_value_bytes = parse_uint(*f, kMaxClientRequestBytes);
  if (cfg.max_key_bytes + 2 * cfg.max_value_bytes + kClientRequestOverheadBytes > kMaxClientRequestBytes) {
    // A cas carries the key, the expected value and the new one in one client frame: a
    // limit that lets a request outgrow the frame would turn "too large" into a timeout.
    const Field* at = fields.get("max_value_bytes");
    if (at == nullptr) at = fields.get("max_key_bytes");
    fail(at->where(), "max_key_bytes (" + std::to_string(cfg.max_key_bytes) + ") + 2 * max_value_bytes (" +
                          std::to_string(cfg.max_value_bytes) + ") must leave " +
                          std::to_string(kClientRequestOverheadBytes) + " bytes of a client frame of " +
                          std::to_string(kMaxClientRequestBytes) + " bytes");
  }
  // Default: half an election timeout, but never below 500 ms (a busy disk's ordinary fsync
  // must not bounce leadership around).
  cfg.fsync_stall_ms = std::max(500, cfg.election_ticks * cfg.tick_ms / 2);
  if (const Field* f = fields.get("fsync_stall_ms")) cfg.fsync_stall_ms = static_cast<int>(parse_uint(*f, kIntMax));
  if (const Field* f = fields.get("snapshot_send_mb_s")) cfg.snapshot_send_mb_s = parse_uint(*f, 100000);
  if (const Field* f = fields.get("security")) {
    if (!f->value.IsMap()) fail(f->where(), "'security' must be a map with curve and keys_dir");
    Fields sec(f->value, "security", {"curve", "keys_dir"});
    if (const Field* c = sec.get("curve")) cfg.security.curve = parse_bool(*c);
    if (const Field* k = sec.get("keys_dir")) cfg.security.keys_dir = resolve_dir(scalar_string(*k), base);
    if (cfg.security.curve && cfg.security.keys_dir.empty()) sec.require("keys_dir");
  }
  parse_nodes(fields.require("nodes"), cfg);
  return cfg;
}

std::string one_line(std::string s) {
  for (char& c : s) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return s;
}

}  // namespace

const NodeAddress* ClusterConfig::find(raft::NodeId id) const {
  for (const NodeAddress& n : nodes) {
    if (n.id == id) return &n;
  }
  return nullptr;
}

std::string ClusterConfig::node_dir(raft::NodeId id) const {
  return (fs::path(data_dir) / ("node-" + std::to_string(id))).string();
}

std::string check_address(const std::string& address) {
  constexpr std::string_view kScheme = "tcp://";
  if (address.compare(0, kScheme.size(), kScheme) != 0) return "must start with tcp://";
  const std::string_view rest = std::string_view(address).substr(kScheme.size());
  const size_t colon = rest.rfind(':');
  if (colon == std::string_view::npos) return "expected tcp://HOST:PORT";
  const std::string_view host = rest.substr(0, colon);
  const std::string_view port = rest.substr(colon + 1);
  if (host.empty()) return "missing host";
  for (char c : host) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '-' || c == '_' || c == '[' || c == ']' || c == ':';
    if (!ok) return "bad character in host";
  }
  if (host.find(':') != std::string_view::npos && (host.front() != '[' || host.back() != ']')) {
    return "an IPv6 host must be in brackets";
  }
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
    return "port must be a number from 1 to 65535";
  }
  return "";
}

std::variant<ClusterConfig, ConfigError> parse(const std::string& yaml_text,
                                               const std::string& name_for_errors,
                                               const std::string& base_dir) {
  auto error = [&](int line, const std::string& problem) {
    return ConfigError{name_for_errors + ":" + std::to_string(line) + ": " + one_line(problem)};
  };
  try {
    std::error_code ec;
    fs::path base = fs::absolute(base_dir.empty() ? fs::path(".") : fs::path(base_dir), ec);
    if (ec) return error(1, "cannot resolve the folder " + base_dir + ": " + ec.message());
    YAML::Node root = YAML::Load(yaml_text);
    ClusterConfig cfg = parse_root(root, base);
    cfg.path = name_for_errors;
    return cfg;
  } catch (const Failure& f) {
    return error(f.line, f.problem);
  } catch (const YAML::Exception& e) {
    return error(e.mark.line < 0 ? 1 : e.mark.line + 1, "YAML syntax error: " + e.msg);
  } catch (const std::exception& e) {
    return error(1, std::string("cannot parse: ") + e.what());
  }
}

std::variant<ClusterConfig, ConfigError> load(const std::string& path) {
  std::error_code ec;
  const fs::path abs = fs::absolute(fs::path(path), ec).lexically_normal();
  if (ec) return ConfigError{path + ":1: cannot resolve path: " + ec.message()};
  if (fs::is_directory(abs, ec)) return ConfigError{path + ":1: is a directory, not a cluster file"};
  std::ifstream in(abs, std::ios::binary);
  if (!in) return ConfigError{path + ":1: cannot open: " + std::strerror(errno)};
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return ConfigError{path + ":1: cannot read: " + std::strerror(errno)};
  auto result = parse(text.str(), path, abs.parent_path().string());
  if (auto* cfg = std::get_if<ClusterConfig>(&result)) cfg->path = abs.string();
  return result;
}

}  // namespace config
