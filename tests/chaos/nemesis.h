// Nemesis: a seeded schedule of faults against a ChaosCluster, run on its own thread.
//
// It runs on the calling thread (run_for), which must be the thread that owns the cluster:
// restarted nodes are forked from it (see chaos_cluster.h on PR_SET_PDEATHSIG). Each round waits a random quiet interval, injects one fault (or a combination), holds it
// for a random time, then heals it. Faults: kill -9 of a random node or of the leader (then a
// restart), SIGSTOP/SIGCONT of a random node or of the leader, kill of every node at once and
// a restart of all, partitions (a random majority/minority split, the leader isolated, a
// bridge node that sees both halves), and combinations (a partition plus a killed or paused
// node), a lossy node (restarted dropping a third of its outgoing messages), a slow node
// (restarted holding each outgoing message for up to 60 ms), and membership
// changes under faults (a member — sometimes the leader — removed with push-config, wiped, and
// added back as a new empty member, alone or while another node is killed or paused). Every fault is logged with its start time so that the unavailability window (fault
// to the next successful write invoked after it) can be measured from the history.
//
// The same seed gives the same sequence of choices (node picks and timings); which node is
// leader at a given moment is up to the cluster, so a replay is close, not identical.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <zmq.hpp>

#include "tests/chaos/chaos_cluster.h"
#include "tests/chaos/firewall.h"
#include "tests/chaos/workload.h"

namespace chaos {

struct FaultEvent {
  std::string kind;
  std::string detail;
  uint64_t start_ns = 0;
  uint64_t end_ns = 0;  // when it was healed
};

class Nemesis {
 public:
  Nemesis(ChaosCluster& cluster, Firewall& firewall, Clock::time_point origin, uint64_t seed);

  // Injects faults for `duration` (the last fault is healed when it ends), then heals
  // everything: removes the partition, resumes paused nodes, restarts killed ones.
  void run_for(std::chrono::seconds duration);

  std::vector<FaultEvent> events() const;
  std::map<std::string, int> counts() const;
  // Problems of the nemesis itself (nft failing), reported by the test.
  std::vector<std::string> problems() const;

 private:
  void sleep_ms(int ms);  // interruptible
  uint64_t now_ns() const;
  uint64_t pick(const std::vector<uint64_t>& from);
  std::vector<uint64_t> shuffled_ids();
  void heal_all();
  void record(FaultEvent e);
  bool partition(const std::vector<uint64_t>& a, const std::vector<uint64_t>& b, const std::vector<uint64_t>& bridge);
  // push-config of `file` through the client library; returns raftctl's exit code and puts
  // the tool's last line in *last_line.
  int push(const std::string& file, std::chrono::milliseconds timeout, std::string* last_line);
  // Removes `id` from the membership (push of a file without it). The node stops itself once
  // it applies its removal; until restore_membership() it is not restarted by heal_all().
  std::string remove_member(uint64_t id);
  // Brings every member that the leader does not list back: kill, wipe, start empty, push the
  // full file (which adds it as a learner, waits for its catch-up and promotes it). Retries
  // until `timeout`; returns "" on success or what went wrong.
  std::string restore_membership(std::chrono::milliseconds timeout);

  ChaosCluster& cluster_;
  Firewall& firewall_;
  const Clock::time_point origin_;
  std::mt19937_64 rng_;
  static constexpr double kLossyNodeDropRate = 0.3;
  static constexpr int kSlowNodeDelayMs = 60;
  const NetworkFaults base_network_;
  zmq::context_t ctx_{1};
  std::set<uint64_t> wiped_;    // outside members whose data is already gone
  std::set<uint64_t> outside_;  // members removed (or maybe removed) and not yet added back
  Clock::time_point until_;
  mutable std::mutex mu_;
  std::vector<FaultEvent> events_;
  std::vector<std::string> problems_;
};

}  // namespace chaos
