#include <catch2/catch.hpp>

#include "node/kv_command.h"

using node::KvCommand;
using node::KvOp;

TEST_CASE("every kind of kv command round-trips through its encoding", "[kv_command]") {
  KvCommand put{KvOp::Put, 7, 1, "k", "hello, world", "", false};
  KvCommand del{KvOp::Del, 0, 0, "", "", "", false};
  KvCommand cas{KvOp::Cas, UINT64_MAX, 42, std::string("a\0b", 3), "new", "old", false};
  KvCommand cas_absent{KvOp::Cas, 9, 3, "k", "v", "", true};
  for (const auto& cmd : {put, del, cas, cas_absent}) {
    auto decoded = node::decode_kv_command(node::encode_kv_command(cmd));
    REQUIRE(decoded.has_value());
    CHECK(*decoded == cmd);
  }
}

TEST_CASE("every truncation of a kv command is rejected", "[kv_command]") {
  const std::string bytes = node::encode_kv_command({KvOp::Cas, 1, 2, "key", "value", "exp", false});
  for (size_t n = 0; n < bytes.size(); ++n) {
    CAPTURE(n);
    std::string error;
    CHECK_FALSE(node::decode_kv_command(bytes.substr(0, n), &error).has_value());
    CHECK_FALSE(error.empty());
  }
}

TEST_CASE("a kv command with trailing bytes, a bad version or a bad op is rejected", "[kv_command]") {
  std::string bytes = node::encode_kv_command({KvOp::Put, 1, 2, "k", "v", "", false});
  CHECK_FALSE(node::decode_kv_command(bytes + "x").has_value());
  std::string bad_version = bytes;
  bad_version[0] = 9;
  CHECK_FALSE(node::decode_kv_command(bad_version).has_value());
  std::string bad_op = bytes;
  bad_op[1] = 0;
  CHECK_FALSE(node::decode_kv_command(bad_op).has_value());
  bad_op[1] = 4;
  CHECK_FALSE(node::decode_kv_command(bad_op).has_value());
}

TEST_CASE("a huge length prefix in a kv command fails without allocating it", "[kv_command]") {
  std::string bytes = node::encode_kv_command({KvOp::Put, 1, 2, "k", "v", "", false});
  // The key length sits after version, op, client_id and seq (1 + 1 + 8 + 8 bytes).
  bytes[18] = bytes[19] = bytes[20] = bytes[21] = '\xff';
  CHECK_FALSE(node::decode_kv_command(bytes).has_value());
}
