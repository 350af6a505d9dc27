#include "transport/curve_keys.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

using namespace transport;

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/raftkv-keys-XXXXXX";
    REQUIRE(mkdtemp(tmpl));
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

CurveKeyPair fresh_pair() {
  auto p = generate_key_pair();
  REQUIRE(std::holds_alternative<CurveKeyPair>(p));
  return std::get<CurveKeyPair>(p);
}

void write(const std::string& path, const std::string& text, mode_t mode) {
  { std::ofstream(path, std::ios::trunc) << text; }
  REQUIRE(::chmod(path.c_str(), mode) == 0);
}

unsigned mode_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

}  // namespace

TEST_CASE("a generated key pair is Z85 and its public key derives from its secret", "[curve_keys]") {
  REQUIRE(zmq_has("curve"));
  const auto p = fresh_pair();
  REQUIRE(valid_z85_key(p.public_key));
  REQUIRE(valid_z85_key(p.secret_key));
  REQUIRE(public_of(p.secret_key) == p.public_key);
  REQUIRE(p.public_key != fresh_pair().public_key);
  REQUIRE(fingerprint(p.public_key) == p.public_key.substr(0, 8));
  REQUIRE_FALSE(valid_z85_key(p.public_key.substr(1)));
  REQUIRE(public_of("short") == "");
}

TEST_CASE("a written key pair reads back with a private secret and a public .pub", "[curve_keys]") {
  TempDir t;
  const auto p = fresh_pair();
  REQUIRE(std::holds_alternative<std::monostate>(write_key_pair(t.path, "node-1", p, "test key")));
  REQUIRE(mode_of(t.path + "/node-1.key") == 0600);
  REQUIRE(mode_of(t.path + "/node-1.pub") == 0644);
  auto back = read_key_pair(t.path, "node-1");
  REQUIRE(std::holds_alternative<CurveKeyPair>(back));
  REQUIRE(std::get<CurveKeyPair>(back).public_key == p.public_key);
  REQUIRE(std::get<CurveKeyPair>(back).secret_key == p.secret_key);
  auto pub = read_public_key(t.path, "node-1");
  REQUIRE(std::get<std::string>(pub) == p.public_key);

  // Never overwritten.
  auto again = write_key_pair(t.path, "node-1", fresh_pair(), "other");
  REQUIRE(std::holds_alternative<KeyError>(again));
  REQUIRE(std::get<KeyError>(again).message.find("already exists") != std::string::npos);
  REQUIRE(std::get<CurveKeyPair>(read_key_pair(t.path, "node-1")).secret_key == p.secret_key);
}

TEST_CASE("a secret key others may read is refused without quoting it", "[curve_keys]") {
  TempDir t;
  const auto p = fresh_pair();
  REQUIRE(std::holds_alternative<std::monostate>(write_key_pair(t.path, "client-a", p, "k")));
  const auto mode = GENERATE(0640u, 0604u, 0644u, 0660u, 0700u);
  CAPTURE(mode);
  REQUIRE(::chmod((t.path + "/client-a.key").c_str(), mode) == 0);
  auto r = read_key_pair(t.path, "client-a");
  if (mode == 0700u) {
    REQUIRE(std::holds_alternative<CurveKeyPair>(r));  // owner-only bits are fine
    return;
  }
  REQUIRE(std::holds_alternative<KeyError>(r));
  const auto& msg = std::get<KeyError>(r).message;
  REQUIRE(msg.find("accessible by group or others") != std::string::npos);
  REQUIRE(msg.find("chmod 600") != std::string::npos);
  REQUIRE(msg.find(p.secret_key) == std::string::npos);
}

TEST_CASE("malformed or mismatched key files are refused with the file named", "[curve_keys]") {
  TempDir t;
  const auto p = fresh_pair();
  const auto q = fresh_pair();
  // A .pub of another pair.
  write(t.path + "/node-1.key", p.secret_key + "\n", 0600);
  write(t.path + "/node-1.pub", q.public_key + "\n", 0644);
  auto mismatch = read_key_pair(t.path, "node-1");
  REQUIRE(std::holds_alternative<KeyError>(mismatch));
  REQUIRE(std::get<KeyError>(mismatch).message.find("is not the public key of") != std::string::npos);
  // Two keys in one file, garbage, a missing file.
  write(t.path + "/node-2.key", "# c\n" + p.secret_key + "\n" + q.secret_key + "\n", 0600);
  write(t.path + "/node-2.pub", p.public_key, 0644);
  auto two = read_key_pair(t.path, "node-2");
  REQUIRE(std::holds_alternative<KeyError>(two));
  REQUIRE(std::get<KeyError>(two).message.find("not a CURVE key file") != std::string::npos);
  REQUIRE(std::get<KeyError>(two).message.find(p.secret_key) == std::string::npos);
  write(t.path + "/node-3.pub", "hello\n", 0644);
  REQUIRE(std::holds_alternative<KeyError>(read_public_key(t.path, "node-3")));
  auto missing = read_public_key(t.path, "node-9");
  REQUIRE(std::get<KeyError>(missing).message.find("node-9.pub: no such key file") != std::string::npos);
  // Comments, blank lines and CRLF are fine.
  write(t.path + "/node-4.pub", "# a comment\n\n  " + p.public_key + "\r\n", 0644);
  REQUIRE(std::get<std::string>(read_public_key(t.path, "node-4")) == p.public_key);
}

TEST_CASE("scan_public_keys keeps valid keys of the wanted prefixes and reports the rest", "[curve_keys]") {
  TempDir t;
  const auto a = fresh_pair(), b = fresh_pair(), c = fresh_pair();
  write(t.path + "/node-1.pub", a.public_key + "\n", 0644);
  write(t.path + "/client-x.pub", b.public_key + "\n", 0644);
  write(t.path + "/other-y.pub", c.public_key + "\n", 0644);
  write(t.path + "/node-2.pub", "garbage\n", 0644);
  std::vector<std::string> problems;
  auto nodes = scan_public_keys(t.path, {"node-"}, &problems);
  REQUIRE(nodes == std::map<std::string, std::string>{{"node-1", a.public_key}});
  REQUIRE(problems.size() == 1);
  REQUIRE(problems[0].find("node-2.pub") != std::string::npos);
  auto both = scan_public_keys(t.path, {"node-", "client-"});
  REQUIRE(both.size() == 2);
  REQUIRE(both.at("client-x") == b.public_key);
}

TEST_CASE("client key names are short and plain", "[curve_keys]") {
  auto [name, ok] = GENERATE(table<std::string, bool>({{"client", true},
                                                       {"ops-1.eu_west", true},
                                                       {"", false},
                                                       {"../x", false},
                                                       {".hidden", false},
                                                       {"a b", false},
                                                       {std::string(65, 'a'), false}}));
  CAPTURE(name);
  REQUIRE(check_client_name(name).empty() == ok);
}
