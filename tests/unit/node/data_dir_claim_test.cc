// claim_data_dir / settle_identity: refusals that change nothing, and when a folder gets a new
// incarnation.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "node/data_dir_claim.h"

namespace {

namespace fs = std::filesystem;

struct TempDir {
  std::string path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "claim_test.XXXXXX").string();
    path = ::mkdtemp(tmpl.data()) ? tmpl : std::string();
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

std::string read_all(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

node::DataDirClaim claim(const std::string& dir, const std::string& cluster, uint64_t id) {
  auto c = node::claim_data_dir(dir, cluster, id);
  if (auto* e = std::get_if<std::string>(&c)) FAIL(*e);
  return std::move(std::get<node::DataDirClaim>(c));
}

}  // namespace

TEST_CASE("a folder of another node or cluster is refused before anything is written", "[data_dir_claim]") {
  TempDir t;
  const std::string dir = t.path + "/node-1";
  {
    auto c = claim(dir, "a", 1);
    REQUIRE(node::settle_identity(c, "a", 1, /*store_empty=*/true, /*bootstrap=*/true).empty());
  }
  const std::string identity = read_all(dir + "/IDENTITY"), lock = read_all(dir + "/LOCK");
  auto [cluster, id, text] = GENERATE(table<std::string, uint64_t, std::string>({
      {"a", 2, "holds node 1 of cluster 'a' (see its IDENTITY), not node 2 of cluster 'a'"},
      {"b", 1, "holds node 1 of cluster 'a' (see its IDENTITY), not node 1 of cluster 'b'"},
  }));
  CAPTURE(cluster, id);
  auto refused = node::claim_data_dir(dir, cluster, id);
  REQUIRE(std::holds_alternative<std::string>(refused));
  CHECK(std::get<std::string>(refused) == dir + " " + text + ": refusing to start on it");
  CHECK(read_all(dir + "/IDENTITY") == identity);
  CHECK(read_all(dir + "/LOCK") == lock);
}

TEST_CASE("a folder held by a live claim is refused, naming the pid", "[data_dir_claim]") {
  TempDir t;
  const std::string dir = t.path + "/node-1";
  auto held = claim(dir, "a", 1);
  auto refused = node::claim_data_dir(dir, "a", 1);
  REQUIRE(std::holds_alternative<std::string>(refused));
  CHECK(std::get<std::string>(refused).find("in use by another raft-node (pid " + std::to_string(getpid())) !=
        std::string::npos);
}

TEST_CASE("the incarnation is kept with the state and renewed when the state is gone", "[data_dir_claim]") {
  TempDir t;
  const std::string dir = t.path + "/node-1";
  uint64_t first = 0;
  {
    auto c = claim(dir, "a", 1);
    REQUIRE(node::settle_identity(c, "a", 1, true, true).empty());
    CHECK(c.identity.origin == storage::IdentityOrigin::Bootstrap);
    first = c.identity.incarnation;
  }
  {  // restarted on its data: same incarnation
    auto c = claim(dir, "a", 1);
    REQUIRE(node::settle_identity(c, "a", 1, false, false).empty());
    CHECK(c.identity.incarnation == first);
  }
  {  // its store emptied behind its back (wal/ and snap/ deleted): a new, joining incarnation
    auto c = claim(dir, "a", 1);
    REQUIRE(node::settle_identity(c, "a", 1, true, false).empty());
    CHECK(c.identity.incarnation != first);
    CHECK(c.identity.origin == storage::IdentityOrigin::Join);
    first = c.identity.incarnation;
  }
  {  // a joining folder that never received anything keeps its incarnation (nothing to forget)
    auto c = claim(dir, "a", 1);
    REQUIRE(node::settle_identity(c, "a", 1, true, false).empty());
    CHECK(c.identity.incarnation == first);
  }
}

TEST_CASE("data written by an older version gets an identity with origin upgrade", "[data_dir_claim]") {
  TempDir t;
  const std::string dir = t.path + "/node-3";
  fs::create_directories(dir + "/wal");
  auto c = claim(dir, "a", 3);
  REQUIRE(node::settle_identity(c, "a", 3, /*store_empty=*/false, false).empty());
  CHECK(c.identity.origin == storage::IdentityOrigin::Upgrade);
  CHECK(c.identity.founder());
  auto back = storage::read_identity(*storage::default_env(), dir);
  REQUIRE(back.ok());
  REQUIRE(back->has_value());
  CHECK(**back == c.identity);
}
