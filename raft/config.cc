#include "raft/config.h"

#include "raft/check.h"

namespace raft {

NullLogger& null_logger() {
  static NullLogger logger;
  return logger;
}

Result<void> Config::validate() const {
  auto invalid = [](std::string why) { return make_error(ErrorCode::ConfigInvalid, std::move(why)); };
  if (id == kNone) return invalid("id must not be 0 (0 means \"no node\")");
  if (heartbeat_tick <= 0) return invalid(format("heartbeat_tick must be > 0, got %d", heartbeat_tick));
  if (election_tick <= heartbeat_tick) {
    return invalid(format("election_tick (%d) must be greater than heartbeat_tick (%d)",
                          election_tick, heartbeat_tick));
  }
  if (min_election() < election_tick) {
    return invalid(format("min_election_tick (%d) must not be less than election_tick (%d)",
                          min_election(), election_tick));
  }
  if (min_election() >= max_election()) {
    return invalid(format("min_election_tick (%d) must be less than max_election_tick (%d)",
                          min_election(), max_election()));
  }
  if (max_inflight_msgs == 0) return invalid("max_inflight_msgs must be > 0");
  if (max_size_per_msg == 0) return invalid("max_size_per_msg must be > 0");
  if (read_only_option == ReadOnlyOption::LeaseBased && !check_quorum) {
    return invalid("read_only_option LeaseBased requires check_quorum");
  }
  return {};
}

}  // namespace raft
