// The byte encoding of membership changes in log entries.
#include <catch2/catch.hpp>

#include <random>

#include "raft/conf_change.h"

using namespace raft;

namespace {
using CT = ConfChangeType;
using TR = ConfChangeTransition;

ConfChangeV2 v2(TR tr, std::vector<ConfChangeSingle> changes, std::string ctx = {}) {
  ConfChangeV2 cc;
  cc.transition = tr;
  cc.changes = std::move(changes);
  cc.context = std::move(ctx);
  return cc;
}
}  // namespace

TEST_CASE("conf changes round-trip through the encoding", "[conf_change]") {
  auto cc = GENERATE(
      v2(TR::Auto, {}),
      v2(TR::Auto, {{CT::AddNode, 1}}),
      v2(TR::Implicit, {{CT::AddNode, 4}, {CT::AddLearnerNode, 5}, {CT::RemoveNode, 2}}),
      v2(TR::Explicit, {{CT::RemoveNode, UINT64_MAX}}, "ctx"),
      v2(TR::Auto, {{CT::AddNode, 300}}, std::string("\0binary\xff", 8)),
      v2(TR::Explicit, {}, std::string(1000, 'c')));
  CAPTURE(describe(cc));
  auto back = decode_conf_change(encode_conf_change(cc));
  REQUIRE(back.ok());
  CHECK(*back == cc);
}

TEST_CASE("every truncation of a valid encoding is rejected", "[conf_change]") {
  const std::string bytes =
      encode_conf_change(v2(TR::Implicit, {{CT::AddNode, 1234567}, {CT::RemoveNode, 2}}, "context"));
  for (size_t len = 0; len < bytes.size(); ++len) {
    CAPTURE(len);
    auto r = decode_conf_change(bytes.substr(0, len));
    REQUIRE_FALSE(r.ok());
    CHECK(r.code() == ErrorCode::ConfigInvalid);
  }
}

TEST_CASE("malformed conf change bytes are rejected", "[conf_change]") {
  auto [bytes, why] = GENERATE(table<std::string, std::string>({
      {std::string(""), "empty"},
      {std::string("\x02\x00\x00\x00", 4), "unknown version"},
      {std::string("\x01\x03\x00\x00", 4), "bad transition"},
      {std::string("\x01\x00\x01\x03\x01\x00", 6), "bad change type"},
      {std::string("\x01\x00\x7f\x00", 4), "change count larger than the input"},
      {std::string("\x01\x00\x00\x05\x61", 5), "context longer than the input"},
      {std::string("\x01\x00\x00\x00\x00", 5), "trailing bytes"},
      {std::string("\x01\x00\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 14), "varint overflow"},
  }));
  CAPTURE(why);
  auto r = decode_conf_change(bytes);
  REQUIRE_FALSE(r.ok());
  CHECK(r.code() == ErrorCode::ConfigInvalid);
}

TEST_CASE("random garbage never decodes to something that re-encodes differently", "[conf_change]") {
  std::mt19937_64 rng(5);
  int accepted = 0;
  for (int iter = 0; iter < 20000; ++iter) {
    std::string bytes(rng() % 12, '\0');
    for (auto& b : bytes) b = static_cast<char>(rng() % 4 == 0 ? rng() % 256 : rng() % 4);
    auto r = decode_conf_change(bytes);
    if (r.ok()) {
      ++accepted;
      CAPTURE(iter);
      REQUIRE(encode_conf_change(*r) == bytes);  // the encoding is canonical
    }
  }
  CHECK(accepted > 0);  // the generator does hit valid encodings
}

TEST_CASE("a single ConfChange becomes a ConfChangeV2 with one change", "[conf_change]") {
  ConfChange cc{CT::AddLearnerNode, 7, "addr"};
  ConfChangeV2 v = as_v2(cc);
  CHECK(v.transition == TR::Auto);
  REQUIRE(v.changes.size() == 1);
  CHECK(v.changes[0] == ConfChangeSingle{CT::AddLearnerNode, 7});
  CHECK(v.context == "addr");
}

TEST_CASE("enter_joint is needed for several changes or an explicit transition", "[conf_change]") {
  auto [tr, n_changes, want_joint, want_auto_leave] = GENERATE(table<TR, int, bool, bool>({
      {TR::Auto, 0, false, false},
      {TR::Auto, 1, false, false},
      {TR::Auto, 2, true, true},
      {TR::Implicit, 1, true, true},
      {TR::Explicit, 1, true, false},
      {TR::Explicit, 3, true, false},
  }));
  CAPTURE(tr, n_changes);
  ConfChangeV2 cc;
  cc.transition = tr;
  for (int i = 0; i < n_changes; ++i) cc.changes.push_back({CT::AddNode, NodeId(i + 1)});
  bool auto_leave = false;
  CHECK(cc.enter_joint(&auto_leave) == want_joint);
  if (want_joint) CHECK(auto_leave == want_auto_leave);
  CHECK(cc.leave_joint() == (n_changes == 0));
}

TEST_CASE("describe names the transition and each change", "[conf_change]") {
  CHECK(describe(v2(TR::Auto, {{CT::AddNode, 4}, {CT::AddLearnerNode, 5}, {CT::RemoveNode, 2}})) ==
        "v2{auto: add 4, learner 5, remove 2}");
  CHECK(describe(v2(TR::Explicit, {})) == "v2{explicit: leave-joint}");
}
