// Bench: the closed-loop load generator behind `raftctl bench`.
//
// N virtual clients each keep exactly one request outstanding (closed loop): when its reply
// arrives the client records the latency and sends its next request at once. The clients
// are multiplexed over a few pipelined Connections (connection.h), all driven by one thread
// and one zmq::poll loop, so 256 clients cost 256 map entries, not 256 sockets or threads.
// Writes and linearizable reads go to the leader (found by asking every member's status,
// then followed through NotLeader hints); serializable reads are spread over every member.
//
// Each virtual client has its own random client_id and numbers its writes, so the node's
// deduplication table (one entry per client_id, one write in flight) sees exactly what the
// blocking Client would send. A request that gets NotLeader is resent, with the same
// (client_id, seq), to the named leader and its latency keeps running: a user waits that
// long. A request with no reply within the request timeout is given up (a write counts as
// unknown, a read as an error) and the leader is looked up again.
//
// Timeline: `warmup` seconds whose replies are not counted, then `duration` seconds whose
// replies are counted; a reply counts when it arrives inside the window. Throughput is the
// number of replies counted divided by the window's length.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "client/bench_stats.h"
#include "client/client.h"

namespace client {

struct BenchOptions {
  size_t clients = 1;           // concurrent closed-loop clients
  double duration_s = 10.0;     // measured window
  double warmup_s = 1.0;        // before the window, not counted
  size_t value_size = 100;      // bytes per put value
  uint64_t keys = 100000;       // key space: keys are k%08d in [0, keys)
  double read_ratio = 0.0;      // fraction of requests that are gets
  bool serializable = false;    // gets read the local state of any member (no ReadIndex)
  size_t connections = 1;       // sockets per target member
  std::chrono::milliseconds request_timeout{5000};
  // Called about once a second while running, with a one-line progress report.
  std::function<void(const std::string&)> progress;
};

struct OpStats {
  uint64_t ok = 0;  // answered (for gets, a missing key is a normal answer)
  LatencyHistogram latency;
};

struct BenchResult {
  double elapsed_s = 0;  // the measured window's real length
  OpStats puts, gets;
  LatencyHistogram all;  // puts and gets together
  uint64_t errors = 0;     // definite failures (rejected, read timeouts, unexpected answers)
  uint64_t unknown = 0;    // writes whose outcome is unknown (timeout, Unknown reply)
  uint64_t redirects = 0;  // NotLeader answers followed
  uint64_t busy = 0;       // Busy answers (retried)
  raft::NodeId leader = raft::kNone;  // the member writes went to at the end
  std::string error;       // set when the run could not start (no leader found)

  double ops_per_s() const { return elapsed_s > 0 ? static_cast<double>(all.count()) / elapsed_s : 0; }
};

// Runs the load against `members` and returns what it measured. Blocks for about
// warmup_s + duration_s (plus up to one request timeout to collect late replies).
BenchResult run_bench(zmq::context_t& ctx, const std::vector<Member>& members, const BenchOptions& options);

// Failover probe: puts one key over and over (each try waits at most `try_timeout`, any
// member) until a put is acknowledged, and returns the milliseconds from `since` to that
// acknowledgement; -1 if none before `deadline`.
double probe_first_write(zmq::context_t& ctx, const std::vector<Member>& members,
                         std::chrono::steady_clock::time_point since, std::chrono::steady_clock::time_point deadline,
                         std::chrono::milliseconds try_timeout);

}  // namespace client
