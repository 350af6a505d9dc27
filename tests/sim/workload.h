// Workload: simulated clients issuing writes (put, cas, del through the log) and
// linearizable reads (ReadIndex) against a Network, and the history they observe.
//
// A client has at most one operation it waits for; it gives up after a timeout (the
// operation stays Unknown unless it is applied later). A write completes, with its result,
// the first time any node applies it; a read completes when the node that asked serves it
// (applied >= read index). Every invocation and completion gets a distinct logical time, so
// the history can be checked with lincheck::check.
#pragma once

#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "tests/sim/network.h"
#include "tests/support/linearizability.h"

namespace sim {

class Workload {
 public:
  // Installs itself on the network's on_apply and on_read hooks (chaining).
  Workload(Network& net, int clients, int keys, uint64_t timeout_steps);

  // Starts an operation from a random idle client through node `via`; returns a line for
  // the trace ("" if no client was idle or the proposal was refused at once).
  std::string start_op(NodeId via, uint64_t step);
  // Clients waiting since before step - timeout give up.
  void expire(uint64_t step);

  const std::vector<lincheck::Op>& history() const { return ops_; }
  uint64_t acknowledged() const { return acknowledged_; }
  // The highest log index at which an acknowledged write was applied.
  Index max_acked_index() const { return max_acked_index_; }

 private:
  struct Client {
    uint64_t id = 0;
    uint64_t next_seq = 0;
    bool busy = false;
    size_t op = 0;
    uint64_t since = 0;
  };

  void on_apply(const SimNode& n, const Entry& e, const ApplyResult* r);
  void on_read(const SimNode& n, const raft::ReadState& rs);
  void finish(size_t op);

  Network& net_;
  std::mt19937_64 rng_;
  int keys_;
  uint64_t timeout_;
  uint64_t now_ = 0;
  std::vector<Client> clients_;
  std::vector<lincheck::Op> ops_;
  std::map<std::pair<uint64_t, uint64_t>, size_t> writes_;  // (client, seq) -> op
  std::map<std::string, size_t> reads_;                     // read ctx -> op
  std::map<std::string, std::string> last_written_;         // key -> a recent value
  uint64_t acknowledged_ = 0;
  Index max_acked_index_ = 0;
};

}  // namespace sim
