#include "transport/codec.h"

#include <catch2/catch.hpp>

#include <cstring>
#include <random>

#include "tests/unit/transport/test_messages.h"
#include "transport/wire.h"

using transport::DecodeError;
using transport::DecodeFailure;
using transport_test::rich_message;

namespace {

const std::string kCluster = "demo";

DecodeError decode_fails(std::string_view bytes, const std::string& cluster = kCluster) {
  auto r = transport::decode_message(bytes, cluster);
  if (!std::holds_alternative<DecodeError>(r)) FAIL("decoding was expected to fail");
  return std::get<DecodeError>(r);
}

// Writes the frame prologue by hand, to build hostile frames the encoder never makes.
struct FrameWriter {
  std::ostringstream out{std::ios::binary};
  cereal::PortableBinaryOutputArchive ar{out};
  FrameWriter& version(uint32_t v = transport::kPeerWireVersion) { ar(v); return *this; }
  FrameWriter& u8(uint8_t v) { ar(v); return *this; }
  FrameWriter& u64(uint64_t v) { ar(v); return *this; }
  FrameWriter& str(const std::string& s) { transport::wire::save_bytes(ar, s); return *this; }
  FrameWriter& peer_prologue(const std::string& cluster = kCluster) {
    return version().u8(1).str(cluster).u64(3).u64(5).u64(0x1234).u8(0);
  }
  std::string bytes() { return out.str(); }
};

}  // namespace

TEST_CASE("every peer message type round-trips with entries, snapshot and context", "[codec]") {
  for (int t = 0; t < raft::kMessageTypeCount; ++t) {
    const auto type = static_cast<raft::MessageType>(t);
    if (raft::is_local_msg(type)) continue;
    CAPTURE(raft::to_string(type));
    const raft::Message m = rich_message(type);
    auto r = transport::decode_message(transport::encode_message(kCluster, m), kCluster);
    REQUIRE(std::holds_alternative<raft::Message>(r));
    CHECK(std::get<raft::Message>(r) == m);
  }
}

TEST_CASE("an empty message round-trips", "[codec]") {
  raft::Message m = transport_test::small_message(1, 2, 0);
  auto r = transport::decode_message(transport::encode_message(kCluster, m), kCluster);
  REQUIRE(std::holds_alternative<raft::Message>(r));
  CHECK(std::get<raft::Message>(r) == m);
}

TEST_CASE("local-only message types are refused at decode", "[codec]") {
  for (auto type : {raft::MessageType::MsgHup, raft::MessageType::MsgBeat, raft::MessageType::MsgUnreachable,
                    raft::MessageType::MsgSnapStatus, raft::MessageType::MsgCheckQuorum}) {
    CAPTURE(raft::to_string(type));
    const DecodeError e = decode_fails(transport::encode_message(kCluster, rich_message(type)));
    CHECK(e.reason == DecodeFailure::LocalMessage);
  }
}

TEST_CASE("a frame of another cluster is refused as such", "[codec]") {
  const std::string bytes = transport::encode_message("other", rich_message(raft::MessageType::MsgAppend));
  const DecodeError e = decode_fails(bytes);
  CHECK(e.reason == DecodeFailure::WrongCluster);
  CHECK(e.message.find("other") != std::string::npos);
  CHECK(decode_fails(bytes, "othe").reason == DecodeFailure::WrongCluster);
  // Bytes from the network end up in logs: they are made printable first.
  const std::string hostile = transport::encode_message("a\nb\x1b", rich_message(raft::MessageType::MsgAppend));
  CHECK(decode_fails(hostile).message.find("'a?b?'") != std::string::npos);
}

TEST_CASE("a frame of another wire version is refused before its body is read", "[codec]") {
  std::string bytes = transport::encode_message(kCluster, rich_message(raft::MessageType::MsgAppend));
  bytes[1] = 1;  // the version follows the endianness byte, little-endian: 1 is an older node's
  const DecodeError e = decode_fails(bytes);
  CHECK(e.reason == DecodeFailure::UnsupportedVersion);
  CHECK(e.message.find("version 1") != std::string::npos);
}

TEST_CASE("the envelope carries the sender's incarnation and claims-slot flag", "[codec]") {
  const raft::Message m = rich_message(raft::MessageType::MsgRequestVote);
  const transport::SenderIdentity sender{0x9f3c0a5e11d2b4c7ull, true};
  const std::string bytes = transport::encode_message(kCluster, m, sender);
  CHECK(bytes == transport::encode_message_cereal(kCluster, m, sender));
  CHECK(bytes.size() == transport::encoded_message_size(kCluster, m));
  transport::SenderIdentity got;
  auto r = transport::decode_message(bytes, kCluster, &got);
  REQUIRE(std::holds_alternative<raft::Message>(r));
  CHECK(std::get<raft::Message>(r) == m);
  CHECK(got == sender);
  // A claims-slot byte other than 0 or 1 is malformed, as any boolean.
  std::string bad = bytes;
  const size_t claims_at = 1 + 4 + 1 + 8 + kCluster.size() + 8 + 8 + 8;
  REQUIRE(bad[claims_at] == 1);
  bad[claims_at] = 2;
  CHECK(decode_fails(bad).message.find("claims-slot flag") != std::string::npos);
}

TEST_CASE("truncation at every byte offset fails cleanly", "[codec]") {
  const std::string bytes = transport::encode_message(kCluster, rich_message(raft::MessageType::MsgSnapshot));
  for (size_t n = 0; n < bytes.size(); ++n) {
    CAPTURE(n);
    CHECK(decode_fails(std::string_view(bytes).substr(0, n)).reason == DecodeFailure::Malformed);
  }
}

TEST_CASE("trailing bytes after a message are refused", "[codec]") {
  std::string bytes = transport::encode_message(kCluster, rich_message(raft::MessageType::MsgAppend));
  bytes.push_back('\0');
  CHECK(decode_fails(bytes).message.find("trailing") != std::string::npos);
}

TEST_CASE("random bytes fail cleanly", "[codec]") {
  std::mt19937_64 rng(20261128);
  for (int i = 0; i < 20000; ++i) {
    std::string bytes(rng() % 256, '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    // Half of the inputs get a valid prologue so that the body decoder is exercised too.
    if (i % 2 == 0 && bytes.size() > 20) {
      FrameWriter w;
      const std::string p = w.peer_prologue().bytes();
      bytes.replace(0, p.size(), p);
    }
    auto r = transport::decode_message(bytes, kCluster);
    CHECK(std::holds_alternative<DecodeError>(r));
  }
}

TEST_CASE("mutated valid frames never crash and decode only to valid messages", "[codec]") {
  const std::string good = transport::encode_message(kCluster, rich_message(raft::MessageType::MsgAppend));
  std::mt19937_64 rng(7);
  int decoded = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string bytes = good;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) bytes[rng() % bytes.size()] = static_cast<char>(rng());
    auto r = transport::decode_message(bytes, kCluster);
    if (auto* m = std::get_if<raft::Message>(&r)) {
      ++decoded;
      CHECK_FALSE(raft::is_local_msg(m->msg_type));
      CHECK(m->from != raft::kNone);
      CHECK(m->to != raft::kNone);
    }
  }
  CHECK(decoded > 0);  // flips inside payload bytes still decode: the test reached the body
}

TEST_CASE("a 20-byte frame claiming a 2^48-byte string fails without allocating it", "[codec]") {
  FrameWriter w;
  w.version().u8(1).u64(uint64_t{1} << 48).u8(0).u8(0).u8(0).u8(0).u8(0).u8(0);
  const std::string bytes = w.bytes();
  REQUIRE(bytes.size() == 20);
  const DecodeError e = decode_fails(bytes);
  CHECK(e.reason == DecodeFailure::Malformed);
  CHECK(e.message.find("cluster id") != std::string::npos);
}

TEST_CASE("huge counts and lengths inside the body fail without allocating them", "[codec]") {
  const uint64_t huge = uint64_t{1} << 48;
  auto body_start = [](FrameWriter& w) {
    w.peer_prologue().u8(static_cast<uint8_t>(raft::MessageType::MsgAppend)).u64(1).u64(1).u64(1).u64(1);
  };
  SECTION("entry count") {
    FrameWriter w;
    body_start(w);
    w.u64(huge).u64(0).u64(0);
    CHECK(decode_fails(w.bytes()).message.find("entries") != std::string::npos);
  }
  SECTION("entry count over the cap even when the bytes would fit") {
    FrameWriter w;
    body_start(w);
    w.u64(transport::wire::kMaxEntriesPerMessage + 1);
    CHECK(decode_fails(w.bytes()).message.find("at most") != std::string::npos);
  }
  SECTION("entry data length") {
    FrameWriter w;
    body_start(w);
    w.u64(1).u8(0).u64(1).u64(1).u64(huge).u64(0);
    CHECK(decode_fails(w.bytes()).message.find("entry data") != std::string::npos);
  }
  SECTION("snapshot data length") {
    FrameWriter w;
    body_start(w);
    w.u64(0).u64(huge).u64(0);
    CHECK(decode_fails(w.bytes()).message.find("snapshot data") != std::string::npos);
  }
  SECTION("voter count") {
    FrameWriter w;
    body_start(w);
    w.u64(0).str("").u64(huge).u64(0);
    CHECK(decode_fails(w.bytes()).message.find("voters") != std::string::npos);
  }
}

TEST_CASE("bad enum and boolean bytes are refused", "[codec]") {
  const raft::Message m = transport_test::small_message(1, 2, 3);  // no entries, empty context
  const std::string good = transport::encode_message(kCluster, m);
  SECTION("message type out of range") {
    FrameWriter w;
    w.peer_prologue();
    std::string bytes = good;
    bytes[w.bytes().size()] = static_cast<char>(raft::kMessageTypeCount);
    CHECK(decode_fails(bytes).message.find("message type") != std::string::npos);
  }
  SECTION("reject is neither 0 nor 1") {
    std::string bytes = good;
    bytes[bytes.size() - 17] = 2;  // reject, reject_hint (8), context length (8)
    CHECK(decode_fails(bytes).message.find("reject") != std::string::npos);
  }
}

TEST_CASE("zero sender or receiver ids are refused", "[codec]") {
  raft::Message m = transport_test::small_message(0, 2, 1);
  CHECK(decode_fails(transport::encode_message(kCluster, m)).reason == DecodeFailure::Malformed);
  m = transport_test::small_message(1, 0, 1);
  CHECK(decode_fails(transport::encode_message(kCluster, m)).reason == DecodeFailure::Malformed);
}

TEST_CASE("a frame over the size limit is refused before decoding", "[codec]") {
  const std::string big(transport::kMaxFrameBytes + 1, '\x01');
  CHECK(decode_fails(big).message.find("exceeds") != std::string::npos);
}
