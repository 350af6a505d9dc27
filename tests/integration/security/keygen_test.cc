// raftctl keygen: the key files it writes, their modes, that it never overwrites nor prints a
// secret; and that a secret key others may read is refused by raft-node and raftctl.
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include <filesystem>

#include "tests/integration/cluster_harness.h"
#include "tests/integration/security/security_support.h"

using namespace security_test;

namespace {

unsigned mode_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/raftkv-keygen-XXXXXX";
    REQUIRE(mkdtemp(tmpl));
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

// A two-node cluster file (ports unused: nothing is started on them except where said).
std::string write_config(const std::string& dir, bool with_security) {
  const std::string path = dir + "/cluster.yaml";
  write_file(path,
             "cluster_id: keys\n"
             "data_dir: data\n"
             "nodes:\n"
             "  - id: 1\n    raft: tcp://127.0.0.1:29391\n    client: tcp://127.0.0.1:29393\n"
             "  - id: 2\n    raft: tcp://127.0.0.1:29392\n    client: tcp://127.0.0.1:29394\n");
  if (with_security) append_security(path, true, "secrets/keys");
  return path;
}

harness::RunResult raftctl(const std::string& config, std::vector<std::string> args) {
  std::vector<std::string> argv{RAFTCTL_BIN, "--config", config};
  argv.insert(argv.end(), args.begin(), args.end());
  return harness::run(argv);
}

}  // namespace

TEST_CASE("keygen writes a key pair per node and client with private secrets and never overwrites one",
          "[security][keygen]") {
  TempDir t;
  const std::string cfg = write_config(t.path, true);
  const std::string keys = t.path + "/secrets/keys";
  auto first = raftctl(cfg, {"keygen", "--client", "ops"});
  INFO(first.out);
  REQUIRE(first.exit_code == 0);
  REQUIRE(mode_of(keys) == 0700);
  for (std::string name : {"node-1", "node-2", "client-client", "client-ops"}) {
    CAPTURE(name);
    REQUIRE(mode_of(keys + "/" + name + ".key") == 0600);
    REQUIRE(mode_of(keys + "/" + name + ".pub") == 0644);
    REQUIRE(first.out.find(name + ".pub") != std::string::npos);
  }
  const auto secrets = secrets_in(keys);
  REQUIRE(secrets.size() == 4);
  for (const auto& s : secrets) {
    REQUIRE(s.size() == 40);
    REQUIRE(first.out.find(s) == std::string::npos);
  }

  // Again: nothing changes, every pair is reported as kept.
  const std::string node1 = read_file(keys + "/node-1.key");
  auto again = raftctl(cfg, {"keygen"});
  REQUIRE(again.exit_code == 0);
  REQUIRE(again.out.find("kept node-1") != std::string::npos);
  REQUIRE(again.out.find("wrote") == std::string::npos);
  REQUIRE(read_file(keys + "/node-1.key") == node1);

  // A lost .pub is re-derived from its secret; a .pub without its secret is an error.
  const std::string pub2 = read_file(keys + "/node-2.pub");
  std::filesystem::remove(keys + "/node-2.pub");
  std::filesystem::remove(keys + "/client-ops.key");
  auto repair = raftctl(cfg, {"keygen", "--client", "ops"});
  INFO(repair.out);
  REQUIRE(repair.exit_code == 2);
  REQUIRE(read_file(keys + "/node-2.pub") == pub2);
  REQUIRE(repair.out.find("client-ops.pub exists without") != std::string::npos);
  for (const auto& s : secrets) REQUIRE(repair.out.find(s) == std::string::npos);

  // A bad client name, and a file without a security block.
  REQUIRE(raftctl(cfg, {"keygen", "--client", "../x"}).exit_code == 2);
  TempDir t2;
  auto none = raftctl(write_config(t2.path, false), {"keygen"});
  REQUIRE(none.exit_code == 2);
  REQUIRE(none.out.find("no security.keys_dir") != std::string::npos);
}

TEST_CASE("a secret key readable by group or others is refused by raft-node and raftctl", "[security][keygen]") {
  TempDir t;
  const std::string cfg = write_config(t.path, true);
  const std::string keys = t.path + "/secrets/keys";
  REQUIRE(raftctl(cfg, {"keygen"}).exit_code == 0);
  const auto secrets = secrets_in(keys);

  REQUIRE(::chmod((keys + "/node-1.key").c_str(), 0644) == 0);
  auto node = harness::run({RAFT_NODE_BIN, "--config", cfg, "--id", "1", "--bootstrap"}, "", std::chrono::seconds(20));
  INFO(node.out);
  REQUIRE(node.exit_code == 1);
  REQUIRE(node.out.find("node-1.key: secret key is accessible by group or others (mode 0644)") != std::string::npos);
  REQUIRE(node.out.find("chmod 600") != std::string::npos);

  REQUIRE(::chmod((keys + "/client-client.key").c_str(), 0640) == 0);
  auto get = raftctl(cfg, {"get", "k"});
  INFO(get.out);
  REQUIRE(get.exit_code == 3);
  REQUIRE(get.out.find("client-client.key: secret key is accessible by group or others (mode 0640)") !=
          std::string::npos);
  for (const auto& s : secrets) REQUIRE((node.out + get.out).find(s) == std::string::npos);

  // A corrupted secret key is refused without quoting it.
  REQUIRE(::chmod((keys + "/client-client.key").c_str(), 0600) == 0);
  write_file(keys + "/client-client.key", "not-a-key-but-secret-looking-text\n");
  auto bad = raftctl(cfg, {"get", "k"});
  REQUIRE(bad.exit_code == 3);
  REQUIRE(bad.out.find("not a CURVE key file") != std::string::npos);
  REQUIRE(bad.out.find("secret-looking") == std::string::npos);
}
