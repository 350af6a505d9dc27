#include <catch2/catch.hpp>

#include "node/member_addresses.h"

using node::MemberAddress;

TEST_CASE("member address lists round-trip through their text form", "[member_addresses]") {
  std::vector<MemberAddress> members{{6, "tcp://127.0.0.1:7106", "tcp://127.0.0.1:7206"},
                                     {7, "tcp://127.0.0.1:7107", "tcp://127.0.0.1:7207"}};
  const std::string text = node::encode_member_addresses(members);
  CHECK(text == "6=tcp://127.0.0.1:7106,tcp://127.0.0.1:7206;7=tcp://127.0.0.1:7107,tcp://127.0.0.1:7207");
  auto decoded = node::decode_member_addresses(text);
  REQUIRE(decoded.has_value());
  CHECK(*decoded == members);
  auto empty = node::decode_member_addresses("");
  REQUIRE(empty.has_value());
  CHECK(empty->empty());
}

TEST_CASE("malformed member address lists are rejected with a reason", "[member_addresses]") {
  auto text = GENERATE(as<std::string>{}, "6", "x=a,b", "0=a,b", "6=a", "6=,b", "6=a,", "6=a,b;", "6=a,b;7",
                       "6=a,b,c", "6=a,b,0000000000000000", "6=a,b,12", "6=a,b,9f3c0a5e11d2b4cx", "6=a,,9f3c0a5e11d2b4c7",
                       "a,b=6");
  CAPTURE(text);
  std::string error;
  // "6=a,b;" ends with an empty item: the trailing ';' is tolerated as "end of list".
  if (text == "6=a,b;") {
    CHECK(node::decode_member_addresses(text, &error).has_value());
    return;
  }
  CHECK_FALSE(node::decode_member_addresses(text, &error).has_value());
  CHECK_FALSE(error.empty());
}

TEST_CASE("a member's incarnation travels as a third field of 16 hex digits", "[member_addresses]") {
  std::vector<MemberAddress> members{{6, "tcp://127.0.0.1:7106", "tcp://127.0.0.1:7206", 0x9f3c0a5e11d2b4c7ull},
                                     {7, "a", "b", 0}};
  const std::string text = node::encode_member_addresses(members);
  CHECK(text == "6=tcp://127.0.0.1:7106,tcp://127.0.0.1:7206,9f3c0a5e11d2b4c7;7=a,b");
  auto decoded = node::decode_member_addresses(text);
  REQUIRE(decoded.has_value());
  CHECK(*decoded == members);
}
