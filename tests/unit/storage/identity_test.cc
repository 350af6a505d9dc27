// Identity records: their text form, strict decoding, and the durable write.
#include <catch2/catch.hpp>

#include "storage/testing/fault_env.h"
#include "storage/identity.h"

using namespace storage;

namespace {

Identity sample() {
  Identity id;
  id.cluster_id = "prod-kv";
  id.node_id = 3;
  id.incarnation = 0x9f3c0a5e11d2b4c7ull;
  id.origin = IdentityOrigin::Bootstrap;
  return id;
}

}  // namespace

TEST_CASE("an identity record round-trips through its text form", "[identity]") {
  const Identity id = sample();
  const std::string text = encode_identity(id);
  CHECK(text ==
        "raftkv-identity 1\ncluster_id prod-kv\nnode_id 3\nincarnation 9f3c0a5e11d2b4c7\norigin bootstrap\n");
  auto back = decode_identity(text, "IDENTITY");
  REQUIRE(back.ok());
  CHECK(*back == id);
  CHECK(describe(id) == "node 3 of cluster 'prod-kv', incarnation 9f3c0a5e11d2b4c7 (origin bootstrap, format 1)");
}

TEST_CASE("a malformed identity record is refused with the reason", "[identity]") {
  auto [text, why] = GENERATE(table<std::string, std::string>({
      {"", "a field is missing"},
      {"raftkv-identity 2\n", "format 2 is not the 1"},
      {"something 1\n", "does not start with"},
      {"raftkv-identity 1\ncluster_id a\nnode_id 0\n", "bad node_id"},
      {"raftkv-identity 1\ncluster_id a\nnode_id 1\nincarnation 0000000000000000\n", "bad incarnation"},
      {"raftkv-identity 1\ncluster_id a\nnode_id 1\nincarnation 12\n", "bad incarnation"},
      {"raftkv-identity 1\ncluster_id a\ncluster_id b\n", "appears twice"},
      {"raftkv-identity 1\ncluster_id a\nnode_id 1\nincarnation 0000000000000001\norigin x\n", "bad origin"},
      {"raftkv-identity 1\ncluster_id a\nnode_id 1\nincarnation 0000000000000001\n", "a field is missing"},
  }));
  CAPTURE(text);
  auto r = decode_identity(text, "/d/IDENTITY");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("/d/IDENTITY: not a valid identity record") == 0);
  CHECK(r.error().message.find(why) != std::string::npos);
}

TEST_CASE("an identity record survives a power cut once written", "[identity]") {
  FaultEnv env;
  REQUIRE(env.create_dirs("/n").ok());
  auto none = read_identity(env, "/n");
  REQUIRE(none.ok());
  CHECK_FALSE(none->has_value());
  REQUIRE(write_identity(env, "/n", sample()).ok());
  env.power_cut();  // everything not made durable is lost
  auto back = read_identity(env, "/n");
  REQUIRE(back.ok());
  REQUIRE(back->has_value());
  CHECK(**back == sample());
  CHECK_FALSE(env.exists("/n/IDENTITY.tmp"));
}

TEST_CASE("new incarnations are non-zero and differ", "[identity]") {
  const uint64_t a = new_incarnation(), b = new_incarnation();
  CHECK(a != 0);
  CHECK(a != b);
}
