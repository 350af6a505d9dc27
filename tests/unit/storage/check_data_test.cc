// check_data: the summary it prints, the damage it reports and its exit codes.
#include <catch2/catch.hpp>

#include <sstream>

#include "storage/check_data.h"
#include "storage/disk_storage.h"
#include "storage/testing/fault_env.h"
#include "storage_test_util.h"

using namespace storage;

namespace {

// A node dir with a snapshot at 1, entries 2..6 and a hard state; returns the segment path.
std::string make_node(FaultEnv& env) {
  Options opts;
  opts.env = &env;
  auto s = DiskStorage::open("/n", opts);
  REQUIRE(s.ok());
  auto snap = storage_test::snapshot(1, 1, {1, 2, 3}, "kv");
  REQUIRE((*s)->persist(&snap, {}, storage_test::hard_state(1, 0, 1), true).ok());
  REQUIRE((*s)->persist(nullptr, storage_test::entries(2, {1, 1, 2}), storage_test::hard_state(2, 1, 3), true).ok());
  REQUIRE((*s)->persist(nullptr, storage_test::entries(5, {2, 2}), storage_test::hard_state(2, 1, 6), true).ok());
  auto names = env.list_dir("/n/wal");
  REQUIRE(names.ok());
  REQUIRE(names->size() == 1);
  return "/n/wal/" + names->front();
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace

TEST_CASE("check-data prints a summary of a clean node dir and returns 0", "[check_data]") {
  FaultEnv env;
  const std::string seg = make_node(env);
  std::ostringstream out;
  CHECK(check_data("/n", false, out, &env) == 0);
  const std::string text = out.str();
  INFO(text);
  CHECK(contains(text, "wal: 1 segment(s)"));
  CHECK(contains(text, seg + ": "));
  CHECK(contains(text, "5 entries written in 2..6"));
  CHECK(contains(text, "log: entries 2..6 (5), terms 1..2, term before first 1"));
  CHECK(contains(text, "hard state: term 2, vote 1, commit 6"));
  CHECK(contains(text, "snapshot: index 1, term 1, voters=[1,2,3]"));
  CHECK(contains(text, "(in use)"));
  CHECK(contains(text, "result: clean"));
  CHECK_FALSE(contains(text, "records of"));
}

TEST_CASE("check-data with dump prints every record", "[check_data]") {
  FaultEnv env;
  make_node(env);
  std::ostringstream out;
  CHECK(check_data("/n", true, out, &env) == 0);
  const std::string text = out.str();
  INFO(text);
  CHECK(contains(text, "records of /n/wal/"));
  CHECK(contains(text, "segment-header seq=1"));
  CHECK(contains(text, "snapshot-marker index=1 term=1 voters=[1,2,3]"));
  CHECK(contains(text, "log-start first=2 prev_term=1 reset"));
  CHECK(contains(text, "entries 2..4 terms 1..2 (3 entries"));
  CHECK(contains(text, "hard-state term=2 vote=1 commit=6"));
}

TEST_CASE("check-data reports damage with file and offset and returns 1", "[check_data]") {
  FaultEnv env;
  const std::string seg = make_node(env);
  std::string img = env.contents(seg);
  img[img.size() / 2] ^= 0x01;
  env.set_contents(seg, img);
  std::ostringstream out;
  CHECK(check_data("/n", false, out, &env) == 1);
  const std::string text = out.str();
  INFO(text);
  CHECK(contains(text, "DAMAGED: " + seg + ": offset "));
  CHECK(contains(text, "wal: 1 segment(s)"));
  // The checker changes nothing.
  CHECK(env.contents(seg) == img);
}

TEST_CASE("check-data reports a damaged snapshot file", "[check_data]") {
  FaultEnv env;
  make_node(env);
  const std::string snap = "/n/snap/00000000000000000001.snap";
  std::string img = env.contents(snap);
  REQUIRE_FALSE(img.empty());
  img.back() ^= 0x01;
  env.set_contents(snap, img);
  std::ostringstream out;
  CHECK(check_data("/n", false, out, &env) == 1);
  INFO(out.str());
  CHECK(contains(out.str(), snap + ": offset "));
}

TEST_CASE("check-data reports a torn tail as a warning and returns 0", "[check_data]") {
  FaultEnv env;
  const std::string seg = make_node(env);
  std::string img = env.contents(seg);
  env.set_contents(seg, img.substr(0, img.size() - 5));
  std::ostringstream out;
  CHECK(check_data("/n", false, out, &env) == 0);
  const std::string text = out.str();
  INFO(text);
  CHECK(contains(text, "warning: " + seg));
  CHECK(contains(text, "torn tail"));
  CHECK(contains(text, "log: entries 2..4"));
  CHECK(env.contents(seg).size() == img.size() - 5);  // not truncated by the checker
}

TEST_CASE("check-data on something that is not a node dir returns 2", "[check_data]") {
  FaultEnv env;
  std::ostringstream out;
  CHECK(check_data("/nowhere", false, out, &env) == 2);
  REQUIRE(env.create_dirs("/empty").ok());
  CHECK(check_data("/empty", false, out, &env) == 2);
  CHECK(contains(out.str(), "not a node data dir"));
}
