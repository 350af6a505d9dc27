#include "client/keygen.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <variant>

#include "transport/curve_keys.h"

namespace client {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitUsage = 2;

// Creates `dir` (and its parents) if missing; the folder itself gets mode 0700.
std::string ensure_keys_dir(const std::string& dir, std::ostream& out) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) return dir + " exists and is not a folder";
    if (st.st_mode & 077)
      out << "note: " << dir << " is accessible by group or others; consider: chmod 700 " << dir << "\n";
    return "";
  }
  std::error_code ec;
  const auto parent = std::filesystem::path(dir).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  if (ec) return "cannot create " + parent.string() + ": " + ec.message();
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return "cannot create " + dir + ": " + std::strerror(errno);
  if (::chmod(dir.c_str(), 0700) != 0) return "cannot set mode 0700 on " + dir + ": " + std::strerror(errno);
  out << "created " << dir << " (mode 0700)\n";
  return "";
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

// Makes sure <dir>/<name>.key and .pub exist; returns "" or the problem.
std::string ensure_pair(const std::string& dir, const std::string& name, const std::string& comment,
                        std::ostream& out) {
  const std::string key_path = dir + "/" + name + ".key";
  const std::string pub_path = dir + "/" + name + ".pub";
  const bool have_key = exists(key_path), have_pub = exists(pub_path);
  if (have_key && have_pub) {
    auto pub = transport::read_public_key(dir, name);
    out << "kept " << name << " (exists";
    if (auto* key = std::get_if<std::string>(&pub)) out << ", public key " << transport::fingerprint(*key) << "...";
    out << ")\n";
    return "";
  }
  if (have_pub) return pub_path + " exists without " + key_path + ": restore the secret key, or delete the .pub to make a new pair";
  if (have_key) {
    auto secret = transport::read_secret_key(dir, name);
    if (auto* e = std::get_if<transport::KeyError>(&secret)) return e->message;
    const std::string pub = transport::public_of(std::get<std::string>(secret));
    auto w = transport::write_public_key(dir, name, pub, comment);
    if (auto* e = std::get_if<transport::KeyError>(&w)) return e->message;
    out << "wrote " << pub_path << " (re-derived from the existing " << name << ".key), public key "
        << transport::fingerprint(pub) << "...\n";
    return "";
  }
  auto pair = transport::generate_key_pair();
  if (auto* e = std::get_if<transport::KeyError>(&pair)) return e->message;
  const auto& p = std::get<transport::CurveKeyPair>(pair);
  auto w = transport::write_key_pair(dir, name, p, comment);
  if (auto* e = std::get_if<transport::KeyError>(&w)) return e->message;
  out << "wrote " << key_path << " (secret, mode 0600) and " << name << ".pub, public key "
      << transport::fingerprint(p.public_key) << "...\n";
  return "";
}

}  // namespace

int keygen(const config::ClusterConfig& cfg, const std::vector<std::string>& client_names, std::ostream& out,
           std::ostream& err) {
  const std::string& dir = cfg.security.keys_dir;
  if (dir.empty()) {
    err << "raftctl keygen: " << cfg.path
        << " has no security.keys_dir; add a block such as\n  security:\n    curve: true\n    keys_dir: keys\n";
    return kExitUsage;
  }
  std::vector<std::string> clients{kDefaultClientKey};
  for (const auto& n : client_names) {
    if (std::string why = transport::check_client_name(n); !why.empty()) {
      err << "raftctl keygen: bad client name '" << n << "': " << why << "\n";
      return kExitUsage;
    }
    clients.push_back(n);
  }
  if (std::string why = ensure_keys_dir(dir, out); !why.empty()) {
    err << "raftctl keygen: " << why << "\n";
    return kExitUsage;
  }
  int rc = kExitOk;
  auto ensure = [&](const std::string& name, const std::string& comment) {
    if (std::string why = ensure_pair(dir, name, comment, out); !why.empty()) {
      err << "raftctl keygen: " << why << "\n";
      rc = kExitUsage;
    }
  };
  for (const auto& n : cfg.nodes)
    ensure(transport::node_key_name(n.id), "raftkv CURVE key of node " + std::to_string(n.id) + " of cluster " + cfg.cluster_id);
  for (const auto& c : clients)
    ensure(transport::client_key_name(c), "raftkv CURVE key of client '" + c + "' of cluster " + cfg.cluster_id);
  if (!cfg.security.curve)
    out << "note: security.curve is off in " << cfg.path << ": set it to true to use these keys\n";
  return rc;
}

}  // namespace client
