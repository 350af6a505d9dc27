// raftctl as users and scripts see it: exit codes, shell answers, --json, config errors.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "tests/integration/cluster_harness.h"

using namespace std::chrono_literals;
using harness::Cluster;

namespace {
std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }
}  // namespace

TEST_CASE("raftctl exit codes follow the design", "[integration][raftctl]") {
  Cluster c("raftctl-exit", 3, 24800);
  c.start_all();
  auto leader = c.wait_for_leader(30 * c.election_timeout());
  REQUIRE(leader.has_value());

  auto put = c.raftctl({"put", "k", "v 1"});
  CAPTURE(put.out);
  REQUIRE(put.exit_code == 0);
  CHECK(put.out == "OK\n");
  auto get = c.raftctl({"get", "k"});
  CHECK(get.exit_code == 0);
  CHECK(get.out == "v 1\n");
  // Global options are accepted after the command too.
  CHECK(c.raftctl({"get", "k", "--timeout", "3"}).exit_code == 0);
  CHECK(c.raftctl({"get", "missing"}).exit_code == 1);
  auto cas_bad = c.raftctl({"cas", "k", "wrong", "x"});
  CHECK(cas_bad.exit_code == 1);
  CHECK(cas_bad.out.find("v 1") != std::string::npos);
  CHECK(c.raftctl({"cas", "k", "v 1", "x"}).exit_code == 0);
  CHECK(c.raftctl({"get", "--serializable", "k", "--node", std::to_string(*leader)}).out == "x\n");
  CHECK(c.raftctl({"del", "k"}).exit_code == 0);
  CHECK(c.raftctl({"del", "k"}).exit_code == 1);

  // Usage errors: 2.
  CHECK(c.raftctl({}).exit_code == 2);
  CHECK(c.raftctl({"put", "only-key"}).exit_code == 2);
  CHECK(c.raftctl({"frobnicate"}).exit_code == 2);
  CHECK(c.raftctl({"get", "k", "--node", "99"}).exit_code == 2);
  CHECK(harness::run({RAFTCTL_BIN, "--config", c.dir() + "/missing.yaml", "get", "k"}).exit_code == 2);
  // --help for every command, exit 0.
  for (const char* cmd : {"put", "get", "del", "cas", "status", "shell"}) {
    auto help = c.raftctl({cmd, "--help"});
    CAPTURE(cmd, help.out);
    CHECK(help.exit_code == 0);
    CHECK(help.out.find("Usage") != std::string::npos);
  }

  // A write sent only to a follower is definitely not applied: 4.
  const uint64_t follower = *leader == 1 ? 2 : 1;
  auto rejected = c.raftctl({"--node", std::to_string(follower), "put", "k", "v"});
  CAPTURE(rejected.out);
  CHECK(rejected.exit_code == 4);

  // A cluster file naming another cluster at the same addresses: refused (4), nothing
  // written; status still answers and says which cluster it reached.
  {
    std::ifstream in(c.config_path());
    std::stringstream text;
    text << in.rdbuf();
    std::string other = text.str();
    const std::string from = "cluster_id: it", to = "cluster_id: other";
    REQUIRE(other.find(from) != std::string::npos);
    other.replace(other.find(from), from.size(), to);
    const std::string other_path = c.dir() + "/other-cluster.yaml";
    std::ofstream(other_path) << other;
    auto wrong = harness::run({RAFTCTL_BIN, "--config", other_path, "--timeout", "3", "put", "k", "from-other"});
    CAPTURE(wrong.out);
    CHECK(wrong.exit_code == 4);
    CHECK(wrong.out.find("of cluster 'it', not of cluster 'other'") != std::string::npos);
    CHECK(harness::run({RAFTCTL_BIN, "--config", other_path, "--timeout", "3", "get", "k"}).exit_code == 4);
    CHECK(harness::run({RAFTCTL_BIN, "--config", other_path, "--timeout", "3", "status"}).exit_code == 0);
    CHECK(c.raftctl({"get", "k"}).exit_code == 1);  // still deleted
  }

  // status: a table, and --json in the documented shape, with unreachable members marked.
  const uint64_t victim = *leader == 3 ? 2 : 3;  // not the leader: the table must still show one
  c.kill(victim);
  auto table = c.raftctl({"status"});
  CHECK(table.exit_code == 0);
  CHECK(table.out.find("leader") != std::string::npos);
  auto json = c.raftctl({"status", "--json"});
  REQUIRE(json.exit_code == 0);
  auto j = nlohmann::json::parse(json.out);
  REQUIRE(j["nodes"].size() == 3);
  for (const auto& n : j["nodes"]) {
    for (const char* key : {"id", "role", "term", "leader", "commit", "applied", "last_index", "reachable"})
      CHECK(n.contains(key));
    CHECK(n["reachable"].get<bool>() == (n["id"].get<uint64_t>() != victim));
  }

  // Nobody answers: unavailable, 3 (for a write the outcome is unknown).
  for (auto id : c.ids()) c.kill(id);
  auto down = c.raftctl({"--timeout", "1", "put", "k", "v"});
  CAPTURE(down.out);
  CHECK(down.exit_code == 3);
  CHECK(c.raftctl({"--timeout", "1", "get", "k"}).exit_code == 3);
  CHECK(c.raftctl({"--timeout", "1", "status"}).exit_code == 3);
}

TEST_CASE("raftctl shell answers one line per command", "[integration][raftctl]") {
  Cluster c("raftctl-shell", 3, 24900);
  c.start_all();
  REQUIRE(c.wait_for_leader(30 * c.election_timeout()).has_value());
  const std::string input =
      "put greeting hello, world\n"
      "get greeting\n"
      "get nothing\n"
      "\n"
      "cas greeting hello x\n"
      "cas greeting hello, y\n"
      "del greeting\n"
      "del greeting\n"
      "cas greeting - fresh value\n"
      "cas other old new\n"
      "get greeting\n"
      "bogus\n"
      "put\n";
  auto r = c.raftctl({"shell"}, input);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out ==
        "OK\n"
        "VALUE hello, world\n"
        "NOT_FOUND\n"
        "CAS_FAIL hello, world\n"
        "CAS_FAIL hello, world\n"
        "OK\n"
        "NOT_FOUND\n"
        "OK\n"
        "CAS_FAIL -\n"
        "VALUE fresh value\n"
        "FAIL unknown command 'bogus' (put, get, del, cas)\n"
        "FAIL usage: put KEY VALUE\n");
  // With every node gone, a write is UNKNOWN and a read FAILs.
  for (auto id : c.ids()) c.kill(id);
  auto down = c.raftctl({"--timeout", "1", "shell"}, "put a b\nget a\n");
  CHECK(down.out.rfind("UNKNOWN ", 0) == 0);
  CHECK(down.out.find("\nFAIL ") != std::string::npos);
}

TEST_CASE("a malformed cluster file gives a one-line error naming the line and exit code 2", "[integration][raftctl]") {
  char tmpl[] = "/tmp/raftkv-it-bad-XXXXXX";
  REQUIRE(mkdtemp(tmpl) != nullptr);
  const std::string path = std::string(tmpl) + "/bad.yaml";
  {
    std::ofstream f(path);
    f << "cluster_id: bad\n"
         "data_dir: data\n"
         "tick_ms: 20\n"
         "nodes:\n"
         "  - id: 1\n"
         "    raft: tcp://127.0.0.1:25901\n"
         "    clinet: tcp://127.0.0.1:25951\n";
  }
  for (auto argv : {std::vector<std::string>{RAFT_NODE_BIN, "--config", path, "--id", "1"},
                    std::vector<std::string>{RAFTCTL_BIN, "--config", path, "status"}}) {
    auto r = harness::run(argv);
    CAPTURE(argv[0], r.out);
    CHECK(r.exit_code == 2);
    CHECK(r.out.find('\n') == r.out.size() - 1);  // exactly one line
    CHECK(first_line(r.out).find("bad.yaml:7") != std::string::npos);
  }
  std::filesystem::remove_all(tmpl);
}
