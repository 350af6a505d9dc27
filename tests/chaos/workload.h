// Workload: concurrent clients doing a random mix of put, get and cas on a few keys through
// the client library, recording every operation for the linearizability checker.
//
// Every written value is unique ("c<client>-<n>"), so a read names the write it saw. Times are
// nanoseconds on the steady clock since the run's origin, taken just before the request is
// sent (invoke) and just after the answer (complete). The client library's outcomes map to
// the checker's (linearizability.h):
//   put/cas Ok -> Ok, cas CasFailed -> Fail (a read that saw another value), get Ok/NotFound
//   -> Ok with the value read, write Unknown -> Unknown (may have taken effect);
//   Unavailable / Rejected -> "failed" (definitely nothing happened): kept in the log for the
//   summary but not given to the checker.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/chaos/chaos_cluster.h"
#include "tests/support/linearizability.h"

namespace chaos {

using Clock = std::chrono::steady_clock;

struct Record {
  lincheck::Op op;
  bool definite_failure = false;  // Unavailable / Rejected: not executed
  std::string detail;             // client outcome and error, for the history file
};

struct WorkloadOptions {
  int clients = 4;
  std::vector<std::string> keys{"k0", "k1", "k2", "k3", "k4"};
  std::chrono::milliseconds op_timeout{1500};
  uint64_t seed = 1;
  int think_ms_min = 2, think_ms_max = 12;  // pause between a client's operations
};

class Workload {
 public:
  Workload(ChaosCluster& cluster, Clock::time_point origin, WorkloadOptions opts);
  ~Workload();  // stops and joins the clients

  void start();
  void stop();

  // After stop(): every operation, in no particular order.
  std::vector<Record> records() const;
  // Appends records made outside the client threads (the final reads).
  void add(Record r);
  uint64_t now_ns() const;

 private:
  void run_client(int index);

  ChaosCluster& cluster_;
  const Clock::time_point origin_;
  const WorkloadOptions opts_;
  zmq::context_t ctx_;
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
  mutable std::mutex mu_;
  std::vector<Record> records_;
};

std::string format_record(const Record& r);

}  // namespace chaos
