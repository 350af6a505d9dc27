// Firewall: network partitions between node pairs with nftables, in a private table per run
// (`inet raftchaos_<pid>`), so that nothing else on the machine is touched.
//
// A cut pair (a, b) drops, on the output hook, every packet a's processes send to b's raft
// port and every packet b's processes send to a's raft port: the nodes run under their own
// uids (chaos_cluster.h), so `meta skuid` names the sender and `ip daddr` the receiver.
// Client traffic is never cut (clients are outside the cluster and may reach either side).
//
// Invariant: the table exists only while a Firewall object does; the destructor deletes it,
// the emergency handler deletes it on a fatal signal, and the constructor first deletes the
// tables of earlier runs whose process is gone (a run killed by SIGKILL cannot clean up).
#pragma once

#include <set>
#include <string>
#include <utility>

#include "tests/chaos/chaos_cluster.h"

namespace chaos {

class Firewall {
 public:
  explicit Firewall(const ChaosCluster& cluster);
  ~Firewall();
  Firewall(const Firewall&) = delete;
  Firewall& operator=(const Firewall&) = delete;

  // Whether partitions can be made (nft present, root, per-node uids); why not otherwise.
  bool available() const { return available_; }
  const std::string& why_unavailable() const { return why_; }

  // Replaces the current rules: exactly the given pairs are cut. Returns false (with why())
  // if nft failed.
  bool cut(const std::set<std::pair<uint64_t, uint64_t>>& pairs);
  bool heal() { return cut({}); }
  const std::string& last_error() const { return why_; }

 private:
  bool nft(const std::string& script);

  const ChaosCluster& cluster_;
  std::string table_;
  bool available_ = false;
  std::string why_;
};

}  // namespace chaos
