// Config::validate explains what is wrong with a configuration.
#include <catch2/catch.hpp>

#include <functional>

#include "raft/config.h"

using namespace raft;

TEST_CASE("config validation rejects impossible settings with a reason", "[config]") {
  using Tweak = std::function<void(Config&)>;
  auto [name, tweak, want_ok, want_words] = GENERATE(table<std::string, Tweak, bool, std::string>({
      {"defaults", [](Config&) {}, true, ""},
      {"id 0", [](Config& c) { c.id = 0; }, false, "id"},
      {"heartbeat 0", [](Config& c) { c.heartbeat_tick = 0; }, false, "heartbeat_tick"},
      {"election not above heartbeat", [](Config& c) { c.election_tick = 1; }, false, "election_tick"},
      {"election equals heartbeat", [](Config& c) { c.election_tick = 3; c.heartbeat_tick = 3; }, false, "election_tick"},
      {"min election below election", [](Config& c) { c.min_election_tick = 5; }, false, "min_election_tick"},
      {"min not below max", [](Config& c) { c.min_election_tick = 20; c.max_election_tick = 20; }, false, "max_election_tick"},
      {"custom range", [](Config& c) { c.min_election_tick = 12; c.max_election_tick = 30; }, true, ""},
      {"max inflight 0", [](Config& c) { c.max_inflight_msgs = 0; }, false, "max_inflight_msgs"},
      {"max size 0", [](Config& c) { c.max_size_per_msg = 0; }, false, "max_size_per_msg"},
      {"lease without check quorum",
       [](Config& c) { c.read_only_option = ReadOnlyOption::LeaseBased; c.check_quorum = false; }, false, "check_quorum"},
      {"lease with check quorum", [](Config& c) { c.read_only_option = ReadOnlyOption::LeaseBased; }, true, ""},
      {"no pre-vote, no check quorum", [](Config& c) { c.pre_vote = false; c.check_quorum = false; }, true, ""},
  }));
  CAPTURE(name);
  Config c;
  c.id = 1;
  tweak(c);
  auto r = c.validate();
  CHECK(r.ok() == want_ok);
  if (!want_ok) {
    CHECK(r.code() == ErrorCode::ConfigInvalid);
    CHECK_THAT(r.error().message, Catch::Matchers::Contains(want_words));
  }
}

TEST_CASE("config defaults match the documented ones", "[config]") {
  Config c;
  CHECK(c.election_tick == 10);
  CHECK(c.heartbeat_tick == 1);
  CHECK(c.pre_vote);
  CHECK(c.check_quorum);
  CHECK(c.read_only_option == ReadOnlyOption::Safe);
  CHECK(c.min_election() == 10);
  CHECK(c.max_election() == 20);
}
