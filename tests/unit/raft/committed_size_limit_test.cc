// Config::max_committed_size_per_ready: a node restarted on a long committed log hands its
// entries to the application in bounded chunks, over several Readies, in order.
#include <catch2/catch.hpp>

#include "tests/unit/raft/test_util.h"

using namespace raft;
using namespace raft::test;

namespace {

// Storage of a restarted voter of {1, 2, 3}: `n` committed entries of 100 bytes at term 1.
std::unique_ptr<MemStorage> committed_log(size_t n) {
  std::vector<Entry> tail;
  for (size_t i = 1; i <= n; ++i) tail.push_back(ent(i, 1, std::string(100, 'a' + i % 26)));
  auto s = storage_with(0, 0, {1, 2, 3}, tail);
  s->set_hard_state(HardState{1, kNone, n});
  return s;
}

uint64_t payload(const std::vector<Entry>& es) {
  uint64_t size = 0;
  for (const auto& e : es) size += e.payload_size();
  return size;
}

}  // namespace

TEST_CASE("committed entries of a restarted node come out in chunks of at most max_committed_size_per_ready", "[raft][apply]") {
  use_throwing_panics();
  auto store = committed_log(100);
  Config c = cfg(1);
  c.max_committed_size_per_ready = 1000;  // ten entries of 100 bytes
  auto node = RawNode::create(c, *store);
  REQUIRE(node.ok());
  RawNode& n = **node;
  Index next = 1;
  int readies = 0;
  while (n.has_ready() && readies < 100) {
    ++readies;
    Ready rd = n.ready();
    CHECK(payload(rd.committed_entries) <= 1000);
    for (const auto& e : rd.committed_entries) REQUIRE(e.index == next++);
    LightReady light = n.advance(std::move(rd));
    CHECK(payload(light.committed_entries) <= 1000);
    for (const auto& e : light.committed_entries) REQUIRE(e.index == next++);
    n.advance_apply();
  }
  CHECK(next == 101);
  CHECK(readies >= 5);  // 100 entries, at most 20 per Ready (one chunk + one in the advance)
  CHECK(n.raft().raft_log().applied() == 100);
}

TEST_CASE("without max_committed_size_per_ready a restarted node hands out its whole committed log at once", "[raft][apply]") {
  use_throwing_panics();
  auto store = committed_log(100);
  auto node = RawNode::create(cfg(1), *store);
  REQUIRE(node.ok());
  Ready rd = (*node)->ready();
  REQUIRE(rd.committed_entries.size() == 100);
  CHECK(rd.committed_entries.back().index == 100);
}

TEST_CASE("a single committed entry larger than max_committed_size_per_ready still comes out", "[raft][apply]") {
  use_throwing_panics();
  auto store = committed_log(3);
  Config c = cfg(1);
  c.max_committed_size_per_ready = 10;
  auto node = RawNode::create(c, *store);
  REQUIRE(node.ok());
  Ready rd = (*node)->ready();
  REQUIRE(rd.committed_entries.size() == 1);
  CHECK(rd.committed_entries[0].index == 1);
}
