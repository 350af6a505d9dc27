#include "transport/curve_keys.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace transport {
namespace {

constexpr size_t kMaxKeyFileBytes = 4096;

std::string path_of(const std::string& dir, const std::string& name, const char* ext) {
  return dir + "/" + name + ext;
}

std::string mode_string(mode_t m) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(m & 07777));
  return buf;
}

// Reads a small key file. `secret`: refuse it unless only the owner may read it, and never
// quote its content in an error.
std::variant<std::string, KeyError> read_key_file(const std::string& path, bool secret) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    const int e = errno;
    if (e == ENOENT) return KeyError{path + ": no such key file (create keys with `raftctl keygen --config FILE`)"};
    return KeyError{path + ": cannot open: " + std::strerror(e)};
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return KeyError{path + ": not a regular file"};
  }
  if (secret && (st.st_mode & 077) != 0) {
    ::close(fd);
    return KeyError{path + ": secret key is accessible by group or others (mode " + mode_string(st.st_mode) +
                    "); refusing to use it. Run: chmod 600 " + path};
  }
  std::string text;
  char buf[512];
  while (text.size() <= kMaxKeyFileBytes) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int e = errno;
      ::close(fd);
      return KeyError{path + ": cannot read: " + std::strerror(e)};
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  if (text.size() > kMaxKeyFileBytes) return KeyError{path + ": too large to be a key file"};
  // The one non-comment line is the key.
  std::string key;
  size_t keys = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(pos, end - pos);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
    size_t start = line.find_first_not_of(" \t");
    line = start == std::string::npos ? "" : line.substr(start);
    if (!line.empty() && line[0] != '#') {
      key = line;
      ++keys;
    }
    pos = end + 1;
  }
  if (keys != 1 || !valid_z85_key(key))
    return KeyError{path + ": not a CURVE key file (expected one line of " + std::to_string(kZ85KeyChars) +
                    " Z85 characters)"};
  return key;
}

// Creates `path` exclusively with `mode` and writes `text`; removes it again on failure.
std::variant<std::monostate, KeyError> write_new_file(const std::string& path, const std::string& text, mode_t mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0) {
    const int e = errno;
    if (e == EEXIST) return KeyError{path + ": already exists (keys are never overwritten)"};
    return KeyError{path + ": cannot create: " + std::strerror(e)};
  }
  // The umask may have narrowed the mode; set exactly what was asked (never wider than it).
  bool ok = ::fchmod(fd, mode) == 0;
  size_t done = 0;
  while (ok && done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ok = false;
      break;
    }
    done += static_cast<size_t>(n);
  }
  ok = ok && ::fsync(fd) == 0;
  const int e = errno;
  ok = (::close(fd) == 0) && ok;
  if (!ok) {
    ::unlink(path.c_str());
    return KeyError{path + ": cannot write: " + std::strerror(e)};
  }
  return std::monostate{};
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

}  // namespace

std::string node_key_name(raft::NodeId id) { return "node-" + std::to_string(id); }

std::string client_key_name(const std::string& name) { return "client-" + name; }

std::string check_client_name(const std::string& name) {
  if (name.empty() || name.size() > 64) return "a client key name has 1 to 64 characters";
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-'))
      return "a client key name may use only letters, digits, '.', '_' and '-'";
  if (name[0] == '.') return "a client key name may not start with '.'";
  return "";
}

std::string fingerprint(const std::string& public_key_z85) { return public_key_z85.substr(0, 8); }

bool valid_z85_key(const std::string& key) {
  if (key.size() != kZ85KeyChars) return false;
  uint8_t out[32];
  return zmq_z85_decode(out, key.c_str()) != nullptr;
}

std::variant<CurveKeyPair, KeyError> generate_key_pair() {
  char pub[kZ85KeyChars + 1] = {};
  char sec[kZ85KeyChars + 1] = {};
  if (zmq_curve_keypair(pub, sec) != 0)
    return KeyError{"cannot generate a CURVE key pair: libzmq has no CURVE support (zmq_has(\"curve\") is 0)"};
  CurveKeyPair p{pub, sec};
  std::fill(std::begin(sec), std::end(sec), '\0');
  return p;
}

std::string public_of(const std::string& secret_key_z85) {
  if (!valid_z85_key(secret_key_z85)) return "";
  char pub[kZ85KeyChars + 1] = {};
  if (zmq_curve_public(pub, secret_key_z85.c_str()) != 0) return "";
  return pub;
}

std::variant<std::string, KeyError> read_public_key(const std::string& dir, const std::string& name) {
  return read_key_file(path_of(dir, name, ".pub"), false);
}

std::variant<std::string, KeyError> read_secret_key(const std::string& dir, const std::string& name) {
  return read_key_file(path_of(dir, name, ".key"), true);
}

std::variant<CurveKeyPair, KeyError> read_key_pair(const std::string& dir, const std::string& name) {
  auto secret = read_secret_key(dir, name);
  if (auto* e = std::get_if<KeyError>(&secret)) return *e;
  auto pub = read_public_key(dir, name);
  if (auto* e = std::get_if<KeyError>(&pub)) return *e;
  CurveKeyPair pair{std::move(std::get<std::string>(pub)), std::move(std::get<std::string>(secret))};
  if (public_of(pair.secret_key) != pair.public_key)
    return KeyError{path_of(dir, name, ".pub") + " is not the public key of " + path_of(dir, name, ".key") +
                    " (restore the matching pair, or delete both and run `raftctl keygen`)"};
  return pair;
}

std::map<std::string, std::string> scan_public_keys(const std::string& dir, const std::vector<std::string>& prefixes,
                                                    std::vector<std::string>* problems) {
  std::map<std::string, std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (!d) {
    if (problems) problems->push_back(dir + ": cannot list the keys folder: " + std::strerror(errno));
    return out;
  }
  while (dirent* ent = ::readdir(d)) {
    const std::string file = ent->d_name;
    constexpr std::string_view kExt = ".pub";
    if (file.size() <= kExt.size() || file.compare(file.size() - kExt.size(), kExt.size(), kExt) != 0) continue;
    const std::string name = file.substr(0, file.size() - kExt.size());
    const bool wanted = std::any_of(prefixes.begin(), prefixes.end(),
                                    [&](const std::string& p) { return name.compare(0, p.size(), p) == 0; });
    if (!wanted) continue;
    auto key = read_public_key(dir, name);
    if (auto* e = std::get_if<KeyError>(&key)) {
      if (problems) problems->push_back(e->message);
      continue;
    }
    out[name] = std::get<std::string>(key);
  }
  ::closedir(d);
  return out;
}

std::variant<std::monostate, KeyError> write_key_pair(const std::string& dir, const std::string& name,
                                                      const CurveKeyPair& pair, const std::string& comment) {
  const std::string key_path = path_of(dir, name, ".key");
  const std::string pub_path = path_of(dir, name, ".pub");
  if (exists(key_path)) return KeyError{key_path + ": already exists (keys are never overwritten)"};
  if (exists(pub_path)) return KeyError{pub_path + ": already exists (keys are never overwritten)"};
  auto r = write_new_file(key_path, "# " + comment + " (secret: keep it private, mode 0600)\n" + pair.secret_key + "\n",
                          0600);
  if (std::holds_alternative<KeyError>(r)) return r;
  r = write_public_key(dir, name, pair.public_key, comment);
  if (std::holds_alternative<KeyError>(r)) ::unlink(key_path.c_str());  // no half pair left behind
  return r;
}

std::variant<std::monostate, KeyError> write_public_key(const std::string& dir, const std::string& name,
                                                        const std::string& public_key, const std::string& comment) {
  return write_new_file(path_of(dir, name, ".pub"), "# " + comment + " (public)\n" + public_key + "\n", 0644);
}

void make_curve_server(zmq::socket_t& s, const CurveKeyPair& own, const std::string& zap_domain) {
  s.set(zmq::sockopt::curve_server, 1);
  s.set(zmq::sockopt::curve_secretkey, own.secret_key);
  s.set(zmq::sockopt::zap_domain, zap_domain);
}

void make_curve_client(zmq::socket_t& s, const CurveKeyPair& own, const std::string& server_public_key) {
  s.set(zmq::sockopt::curve_serverkey, server_public_key);
  s.set(zmq::sockopt::curve_publickey, own.public_key);
  s.set(zmq::sockopt::curve_secretkey, own.secret_key);
}

}  // namespace transport
