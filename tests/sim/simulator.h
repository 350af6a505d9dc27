// Simulator: the randomized, seeded fault-injection run over a Network.
//
// One RNG, seeded from the run's seed, picks every step: deliver / drop / duplicate / reorder
// a message, tick a node, handle a node's Ready (sometimes crashing before persisting it),
// start a client operation (write or ReadIndex read), snapshot and compact a node's log,
// campaign, partition (random split, isolated leader, bridge node) and heal, crash and
// restart nodes, lose a node's disk (it restarts empty under a new incarnation that its peers
// refuse, and is removed from the membership), change the membership (add voter or learner, promote, demote, remove,
// joint changes with automatic or explicit leave), and transfer leadership. The Invariants
// are checked after every step. Then the liveness phase heals everything, restarts every
// node and requires, within a bounded number of ticks, a leader and every acknowledged write
// applied on every member of the final configuration; finally the client history must be
// linearizable.
//
// The same seed always produces the same run, so a failure is replayed with SIM_SEED.
#pragma once

#include <cstdint>
#include <string>

namespace sim {

struct SimOptions {
  uint64_t seed = 1;
  int steps = 2000;
  // Print every step to stderr.
  bool trace = false;
  // Ticks the liveness phase may take.
  int liveness_ticks = 500;
};

struct SimReport {
  bool ok = true;
  std::string failure;  // the full report (seed, step, property, logs, replay command)
  // What the run did, for summaries.
  uint64_t leaders = 0;
  uint64_t committed = 0;
  uint64_t ops = 0;
  uint64_t acknowledged = 0;
  uint64_t crashes = 0;
  uint64_t disk_losses = 0;  // crashes that lost everything (also counted in crashes)
  uint64_t conf_changes = 0;
  uint64_t snapshots_sent = 0;
  int liveness_ticks = 0;
};

SimReport run_simulation(const SimOptions& options);

}  // namespace sim
