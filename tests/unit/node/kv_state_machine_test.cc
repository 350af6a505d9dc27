#include <catch2/catch.hpp>

#include "node/kv_state_machine.h"

using node::KvCommand;
using node::KvOp;
using node::KvResult;
using node::KvResultCode;
using node::KvStateMachine;

namespace {
KvCommand put(std::string k, std::string v, uint64_t client = 0, uint64_t seq = 0) {
  return {KvOp::Put, client, seq, std::move(k), std::move(v), "", false};
}
KvCommand del(std::string k, uint64_t client = 0, uint64_t seq = 0) {
  return {KvOp::Del, client, seq, std::move(k), "", "", false};
}
KvCommand cas(std::string k, std::string expected, std::string v, uint64_t client = 0, uint64_t seq = 0) {
  return {KvOp::Cas, client, seq, std::move(k), std::move(v), std::move(expected), false};
}
}  // namespace

TEST_CASE("put, get and del behave like a map", "[kv_state_machine]") {
  KvStateMachine sm;
  CHECK_FALSE(sm.get("a").has_value());
  CHECK(sm.apply(put("a", "1")) == KvResult{});
  CHECK(sm.get("a") == "1");
  CHECK(sm.apply(put("a", "2")) == KvResult{});
  CHECK(sm.get("a") == "2");
  CHECK(sm.apply(del("a")) == KvResult{});
  CHECK_FALSE(sm.get("a").has_value());
  CHECK(sm.apply(del("a")).code == KvResultCode::NotFound);
}

TEST_CASE("cas replaces only the expected value and reports the current one", "[kv_state_machine]") {
  KvStateMachine sm;
  auto missing = sm.apply(cas("k", "x", "y"));
  CHECK(missing == KvResult{KvResultCode::CasFailed, "", false});
  KvCommand create{KvOp::Cas, 0, 0, "k", "v1", "", true};
  CHECK(sm.apply(create) == KvResult{});
  CHECK(sm.get("k") == "v1");
  CHECK(sm.apply(create) == KvResult{KvResultCode::CasFailed, "v1", true});
  CHECK(sm.apply(cas("k", "wrong", "v2")) == KvResult{KvResultCode::CasFailed, "v1", true});
  CHECK(sm.get("k") == "v1");
  CHECK(sm.apply(cas("k", "v1", "v2")) == KvResult{});
  CHECK(sm.get("k") == "v2");
}

TEST_CASE("a retried write is applied at most once and gets the first reply", "[kv_state_machine]") {
  KvStateMachine sm;
  CHECK(sm.apply(cas("k", "", "v1", 5, 1)).code == KvResultCode::CasFailed);
  CHECK(sm.apply(put("k", "v1", 5, 2)) == KvResult{});
  // A retry of seq 2 after someone else changed the key must not write again.
  CHECK(sm.apply(put("k", "other", 6, 1)) == KvResult{});
  CHECK(sm.apply(put("k", "v1", 5, 2)) == KvResult{});
  CHECK(sm.get("k") == "other");
  // A cas retry returns the cached success even though it would now fail.
  CHECK(sm.apply(cas("k", "other", "v3", 5, 3)) == KvResult{});
  CHECK(sm.apply(cas("k", "other", "v3", 5, 3)) == KvResult{});
  CHECK(sm.get("k") == "v3");
  // An old duplicate that surfaces late is not applied.
  CHECK(sm.apply(put("k", "late", 5, 1)).code == KvResultCode::Stale);
  CHECK(sm.get("k") == "v3");
}

TEST_CASE("writes without a client id are never deduplicated", "[kv_state_machine]") {
  KvStateMachine sm;
  CHECK(sm.apply(put("k", "a")) == KvResult{});
  CHECK(sm.apply(del("k")) == KvResult{});
  CHECK(sm.apply(del("k")).code == KvResultCode::NotFound);
  CHECK(sm.session_count() == 0);
}

TEST_CASE("the deduplication table forgets the oldest client when full", "[kv_state_machine]") {
  KvStateMachine sm;
  const uint64_t n = KvStateMachine::kMaxSessions + 10;
  for (uint64_t c = 1; c <= n; ++c) (void)sm.apply(put("k", "v", c, 1));
  CHECK(sm.session_count() == KvStateMachine::kMaxSessions);
  // Client 1 was forgotten, so its retry applies again; the newest client is remembered.
  CHECK(sm.apply(del("k", n, 1)) == KvResult{});
  CHECK(sm.get("k") == "v");
  CHECK(sm.apply(del("k", 1, 1)) == KvResult{});
  CHECK_FALSE(sm.get("k").has_value());
}

TEST_CASE("a snapshot restores data, sessions and members exactly", "[kv_state_machine]") {
  KvStateMachine sm;
  (void)sm.apply(put("a", "1", 3, 1));
  (void)sm.apply(put(std::string("b\0c", 3), "", 4, 9));
  (void)sm.apply(cas("a", "zz", "2", 3, 2));
  sm.set_member({6, "tcp://127.0.0.1:7106", "tcp://127.0.0.1:7206", 0x9f3c0a5e11d2b4c7ull});
  KvStateMachine copy;
  std::string error;
  REQUIRE(copy.restore(sm.snapshot(), &error));
  CHECK(copy == sm);
  // The restored dedup table still answers retries from the cache.
  CHECK(copy.apply(cas("a", "zz", "2", 3, 2)).code == KvResultCode::CasFailed);
  CHECK(copy.get("a") == "1");
}

TEST_CASE("a version-1 snapshot (members without incarnations) is still restored", "[kv_state_machine]") {
  KvStateMachine sm;
  (void)sm.apply(put("a", "1", 3, 1));
  sm.set_member({6, "r", "c", 0});
  // Version 2 with the members last: version 1 is the same bytes under "RKV1" without the
  // last member's u64 incarnation.
  std::string v1 = sm.snapshot();
  REQUIRE(v1.substr(0, 4) == "RKV2");
  v1[3] = '1';
  v1.resize(v1.size() - 8);
  KvStateMachine restored;
  std::string error;
  REQUIRE(restored.restore(v1, &error));
  CHECK(restored == sm);
  CHECK(restored.members().at(6).incarnation == 0);
}

TEST_CASE("an empty state machine has a valid snapshot", "[kv_state_machine]") {
  KvStateMachine empty;
  KvStateMachine restored;
  (void)restored.apply(put("x", "y"));
  REQUIRE(restored.restore(empty.snapshot()));
  CHECK(restored == empty);
}

TEST_CASE("a corrupt or truncated snapshot is refused and leaves the state unchanged", "[kv_state_machine]") {
  KvStateMachine sm;
  (void)sm.apply(put("a", "1", 3, 1));
  sm.set_member({2, "r", "c"});
  const std::string bytes = sm.snapshot();
  KvStateMachine target;
  (void)target.apply(put("keep", "me"));
  const KvStateMachine before = target;
  for (size_t n = 0; n < bytes.size(); ++n) {
    CAPTURE(n);
    std::string error;
    CHECK_FALSE(target.restore(std::string_view(bytes).substr(0, n), &error));
    CHECK_FALSE(error.empty());
  }
  CHECK_FALSE(target.restore(bytes + "x"));
  std::string huge = bytes;
  for (int i = 12; i < 20; ++i) huge[i] = '\xff';  // the key count
  CHECK_FALSE(target.restore(huge));
  CHECK(target == before);
}

TEST_CASE("a snapshot restores the same from pieces of any size, and a damaged stream changes nothing",
          "[kv_state_machine]") {
  KvStateMachine sm;
  for (int i = 0; i < 50; ++i) (void)sm.apply(put("k" + std::to_string(i), std::string(100 + i, 'v'), 7, i + 1));
  sm.set_member({2, "r", "c"});
  const std::string bytes = sm.snapshot();
  // Hands out `bytes` in pieces of `size`; fails with "disk error" after `fail_after` bytes.
  auto source = [&](size_t size, size_t fail_after) {
    auto pos = std::make_shared<size_t>(0);
    return [&bytes, pos, size, fail_after](std::string* piece, std::string* error) {
      if (*pos >= fail_after) {
        *error = "disk error";
        return false;
      }
      if (*pos >= bytes.size()) return false;
      *piece = bytes.substr(*pos, std::min(size, fail_after - *pos));
      *pos += piece->size();
      return true;
    };
  };
  for (size_t size : {size_t{1}, size_t{7}, size_t{1000}, bytes.size()}) {
    CAPTURE(size);
    KvStateMachine copy;
    std::string error;
    REQUIRE(copy.restore_stream(source(size, SIZE_MAX), bytes.size(), &error));
    CHECK(copy == sm);
  }
  KvStateMachine target;
  (void)target.apply(put("keep", "me"));
  const KvStateMachine before = target;
  for (size_t at : {size_t{0}, size_t{5}, bytes.size() / 2, bytes.size()}) {
    CAPTURE(at);
    std::string error;
    CHECK_FALSE(target.restore_stream(source(13, at), bytes.size(), &error));
    CHECK(error.find("disk error") != std::string::npos);
  }
  // A bound smaller than the data refuses lengths and counts past it.
  CHECK_FALSE(target.restore_stream(source(64, SIZE_MAX), 100));
  CHECK(target == before);
}

TEST_CASE("state_bytes counts keys and values through puts, cas, deletes and restore", "[kv_state_machine]") {
  KvStateMachine sm;
  CHECK(sm.state_bytes() == 0);
  CHECK(sm.growth_if_set("key", 5) == 8);
  sm.apply(put("key", "vvvvv"));
  CHECK(sm.state_bytes() == 8);
  CHECK(sm.growth_if_set("key", 2) == -3);  // overwriting with a shorter value shrinks
  sm.apply(put("key", "vv"));
  CHECK(sm.state_bytes() == 5);
  sm.apply(cas("key", "vv", "abcdef"));
  CHECK(sm.state_bytes() == 9);
  sm.apply(cas("key", "nope", "x"));  // failed cas: unchanged
  CHECK(sm.state_bytes() == 9);
  sm.apply(put("k2", "1"));
  CHECK(sm.state_bytes() == 12);
  KvStateMachine copy;
  REQUIRE(copy.restore(sm.snapshot()));
  CHECK(copy.state_bytes() == 12);
  CHECK(copy == sm);
  sm.apply(del("key"));
  sm.apply(del("missing"));
  CHECK(sm.state_bytes() == 3);
}

TEST_CASE("snapshot_to hands out the bytes of snapshot() in bounded pieces", "[kv_state_machine]") {
  KvStateMachine sm;
  for (int i = 0; i < 300; ++i) sm.apply(put("key" + std::to_string(i), std::string(1000, 'a' + i % 26), 7, i + 1));
  std::string streamed;
  size_t pieces = 0, largest = 0;
  CHECK(sm.snapshot_to([&](std::string_view piece) {
    streamed.append(piece);
    ++pieces;
    largest = std::max(largest, piece.size());
    return 0;
  }) == 0);
  CHECK(streamed == sm.snapshot());
  CHECK(pieces > 1);
  CHECK(largest < KvStateMachine::kSnapshotPieceBytes + 2000);
  // A failing sink stops the stream with its error.
  int calls = 0;
  CHECK(sm.snapshot_to([&](std::string_view) { return ++calls == 2 ? 28 : 0; }) == 28);
  CHECK(calls == 2);
}
