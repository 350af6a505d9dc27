// push-config: changes the cluster's membership to the member list of a cluster file
// (README "Changing membership", docs/membership.md).
//
// The tool is a loop of "observe, then take the next step", so that it is idempotent and can
// finish what an earlier push (or a leader that died) left half done:
//   1. observe: ask every known member for its status and take the leader's view of the
//      membership (voters, outgoing voters, learners, progress);
//   2. a joint configuration is left first (an empty ConfChangeV2);
//   3. a leader that is to be removed hands leadership to a remaining voter first (new
//      members know only the addresses of their file, where the remaining voters are);
//   4. members of the file that the cluster does not know join as learners (one
//      ConfChangeV2, their addresses in the context) and are waited for until they are
//      within kMaxCatchUpLag entries of the leader's commit;
//   5. ONE ConfChangeV2 promotes the learners and removes the members that are not in the
//      file (joint consensus when more than one voter changes, left automatically);
//   6. done when the voters are exactly the file's members, with no learner and no joint
//      configuration left.
// Before the first change, pre-flight checks refuse (exit 4) a file of another cluster, a new
// member that does not answer or already holds data, or a member whose address differs from
// the one the cluster knows. Exit codes follow raftctl's: 0 done (or nothing to do), 2 bad
// file, 3 unavailable or timed out, 4 refused.
#pragma once

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <string>

#include <zmq.hpp>

#include "config/cluster_config.h"

namespace client {

// A learner is promoted once its matched index is within this many entries of the commit
// (within a quarter of the commit index on a shorter log).
inline constexpr uint64_t kMaxCatchUpLag = 64;

struct PushOptions {
  std::string file;  // the desired cluster file
  bool dry_run = false;
  std::chrono::milliseconds timeout{30000};          // the whole push
  std::chrono::milliseconds catchup_timeout{30000};  // waiting for new members to catch up
};

// `current` is raftctl's --config: its members are asked for the current membership, along
// with the members of the pushed file. Output goes to `out` (plan, progress, outcome) and
// `err` (problems). Returns the exit code.
int push_config(zmq::context_t& ctx, const config::ClusterConfig& current, const PushOptions& options,
                std::ostream& out, std::ostream& err);

}  // namespace client
