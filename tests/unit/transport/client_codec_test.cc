#include "transport/client_codec.h"

#include <catch2/catch.hpp>

#include <random>

#include "tests/unit/transport/test_messages.h"

using transport::ClientReply;
using transport::ClientRequest;
using transport::DecodeError;

namespace {

ClientRequest rich_request(transport::RequestKind kind) {
  ClientRequest r;
  r.request_id = 0x1122334455667788ull;
  r.client_id = 42;
  r.seq = 9;
  r.kind = kind;
  r.key = "key";
  r.value = std::string("v\0al", 4);
  r.expected = "old";
  r.expected_absent = true;
  r.serializable = true;
  r.conf_change.transition = raft::ConfChangeTransition::Explicit;
  r.conf_change.changes = {{raft::ConfChangeType::AddLearnerNode, 6}, {raft::ConfChangeType::RemoveNode, 2}};
  r.conf_change.context = "6 tcp://127.0.0.1:7106 tcp://127.0.0.1:7206";
  r.target = 4;
  r.cluster_id = "prod-eu";
  return r;
}

ClientReply rich_reply(transport::ReplyCode code) {
  ClientReply r;
  r.request_id = 17;
  r.code = code;
  r.value = "value";
  r.value_present = true;
  r.leader_id = 3;
  r.leader_client = "tcp://127.0.0.1:7203";
  r.error = "why";
  r.status.id = 2;
  r.status.role = "follower";
  r.status.term = 5;
  r.status.leader = 3;
  r.status.commit = 10;
  r.status.applied = 9;
  r.status.last_index = 11;
  r.status.first_index = 2;
  r.status.voters = {1, 2, 3};
  r.status.learners = {4};
  r.status.voters_outgoing = {1, 2};
  r.status.progress_matched = {{1, 10}, {2, 9}};
  r.status.members = {{1, "tcp://127.0.0.1:7101 tcp://127.0.0.1:7201"}, {2, "a b"}};
  r.status.cluster_id = "demo-cluster";
  r.status.incarnation = 0x9f3c0a5e11d2b4c7ull;
  return r;
}

template <class T>
void check_fails(const std::variant<T, DecodeError>& r) {
  CHECK(std::holds_alternative<DecodeError>(r));
}

}  // namespace

TEST_CASE("client requests of every kind round-trip", "[client_codec]") {
  for (int k = 0; k < transport::kRequestKindCount; ++k) {
    const ClientRequest r = rich_request(static_cast<transport::RequestKind>(k));
    auto d = transport::decode_request(transport::encode_request(r));
    REQUIRE(std::holds_alternative<ClientRequest>(d));
    CHECK(std::get<ClientRequest>(d) == r);
  }
  const ClientRequest empty;
  auto d = transport::decode_request(transport::encode_request(empty));
  REQUIRE(std::holds_alternative<ClientRequest>(d));
  CHECK(std::get<ClientRequest>(d) == empty);
}

TEST_CASE("client replies of every code round-trip with a status", "[client_codec]") {
  for (int c = 0; c < transport::kReplyCodeCount; ++c) {
    const ClientReply r = rich_reply(static_cast<transport::ReplyCode>(c));
    auto d = transport::decode_reply(transport::encode_reply(r));
    REQUIRE(std::holds_alternative<ClientReply>(d));
    CHECK(std::get<ClientReply>(d) == r);
  }
}

TEST_CASE("requests, replies and peer frames are not mistaken for each other", "[client_codec]") {
  const std::string request = transport::encode_request(rich_request(transport::RequestKind::Put));
  const std::string reply = transport::encode_reply(rich_reply(transport::ReplyCode::Ok));
  const std::string peer =
      transport::encode_message("demo", transport_test::rich_message(raft::MessageType::MsgAppend));
  check_fails(transport::decode_request(reply));
  check_fails(transport::decode_request(peer));
  check_fails(transport::decode_reply(request));
  check_fails(transport::decode_reply(peer));
  CHECK(std::holds_alternative<DecodeError>(transport::decode_message(request, "demo")));
}

TEST_CASE("truncated client frames fail cleanly at every offset", "[client_codec]") {
  const std::string request = transport::encode_request(rich_request(transport::RequestKind::Cas));
  for (size_t n = 0; n < request.size(); ++n) check_fails(transport::decode_request(std::string_view(request).substr(0, n)));
  const std::string reply = transport::encode_reply(rich_reply(transport::ReplyCode::NotLeader));
  for (size_t n = 0; n < reply.size(); ++n) check_fails(transport::decode_reply(std::string_view(reply).substr(0, n)));
}

TEST_CASE("random and mutated client frames never crash", "[client_codec]") {
  std::mt19937_64 rng(99);
  const std::string request = transport::encode_request(rich_request(transport::RequestKind::ConfChange));
  const std::string reply = transport::encode_reply(rich_reply(transport::ReplyCode::Ok));
  for (int i = 0; i < 10000; ++i) {
    std::string junk(rng() % 128, '\0');
    for (char& c : junk) c = static_cast<char>(rng());
    check_fails(transport::decode_request(junk));
    check_fails(transport::decode_reply(junk));
    std::string a = request, b = reply;
    for (int f = 0; f < 3; ++f) {
      a[rng() % a.size()] = static_cast<char>(rng());
      b[rng() % b.size()] = static_cast<char>(rng());
    }
    (void)transport::decode_request(a);  // may or may not decode; must not crash or over-allocate
    (void)transport::decode_reply(b);
  }
}

TEST_CASE("a client frame claiming a huge key fails without allocating it", "[client_codec]") {
  std::string bytes = transport::encode_request(rich_request(transport::RequestKind::Get));
  // Prologue: endianness (1), version (4), kind (1); then request_id, client_id, seq (24),
  // the request kind (1), then the key length.
  const size_t key_len_at = 1 + 4 + 1 + 24 + 1;
  for (int i = 0; i < 8; ++i) bytes[key_len_at + i] = i == 6 ? 1 : 0;  // 2^48
  auto r = transport::decode_request(bytes);
  REQUIRE(std::holds_alternative<DecodeError>(r));
  CHECK(std::get<DecodeError>(r).message.find("key") != std::string::npos);
}
