// Config: the parameters of one Raft node. validate() explains, in words, what is wrong.
#pragma once

#include <cstdint>

#include "raft/error.h"
#include "raft/logger.h"
#include "raft/types.h"

namespace raft {

enum class ReadOnlyOption : uint8_t {
  // ReadIndex confirmed by a round of heartbeats to a quorum (Raft thesis §6.4). Safe.
  Safe,
  // The leader trusts its lease: no heartbeat round. Relies on bounded clock drift, so it is
  // only allowed with check_quorum (which makes a leader step down when the lease is lost).
  LeaseBased,
};

struct Config {
  NodeId id = kNone;
  // Ticks a follower waits without hearing from a leader before campaigning. The actual
  // timeout is drawn uniformly from [min_election_tick, max_election_tick).
  int election_tick = 10;
  int heartbeat_tick = 1;
  int min_election_tick = 0;  // 0 means election_tick
  int max_election_tick = 0;  // 0 means 2 * election_tick
  // Run a pre-vote round before a real election so that a partitioned node rejoining does
  // not disrupt a stable leader (Raft thesis §9.6).
  bool pre_vote = true;
  // A leader that has not heard from a quorum within an election timeout steps down.
  bool check_quorum = true;
  // Byte cap of the entries in one MsgAppend (always at least one entry).
  uint64_t max_size_per_msg = 1 << 20;
  // Appends in flight to one follower in the replicate state.
  size_t max_inflight_msgs = 256;
  // Byte cap of proposed but uncommitted entries; 0 means no cap.
  uint64_t max_uncommitted_size = 0;
  // Byte cap of the committed entries handed out in one Ready or LightReady (always at
  // least one entry); 0 means no cap. With a cap, a node restarted on a long log rebuilds
  // its state machine over several Readies and can step, tick and answer in between.
  uint64_t max_committed_size_per_ready = 0;
  // When the leader's commit index advances and a follower has no append queued to carry
  // it, do not send that follower an empty append just to tell it: it learns the commit
  // from its next append or heartbeat (within heartbeat_tick). Commits never wait on this
  // (the followers' commit index is not needed to commit), but each put then costs every
  // follower one message, one wake-up and one Ready instead of two, which is what a lone
  // client's latency is made of on a loaded machine. Followers apply up to one heartbeat
  // later when the cluster goes idle. A committed conf change is always told at once (a
  // removed member must hear of its removal while it is still sent messages).
  bool lazy_commit_broadcast = false;
  // The last applied index, for a node restarted on existing storage.
  Index applied = 0;
  ReadOnlyOption read_only_option = ReadOnlyOption::Safe;
  // Seed for the election timeout randomness (deterministic runs in tests and simulation).
  uint64_t seed = 1;
  // Destination of the core's log lines; null means discard.
  Logger* logger = nullptr;

  int min_election() const { return min_election_tick ? min_election_tick : election_tick; }
  int max_election() const { return max_election_tick ? max_election_tick : 2 * election_tick; }

  Result<void> validate() const;
};

}  // namespace raft
