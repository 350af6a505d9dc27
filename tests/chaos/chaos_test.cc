// The chaos suite: five real raft-node processes, concurrent clients, a seeded nemesis; at the
// end the history must be linearizable, every acknowledged write must be found, the cluster
// must elect a leader and serve within a deadline, no node may have crashed, and every
// replica must hold the same data.
//
//   CHAOS_DURATION=seconds   how long the nemesis runs (default 60: the short CI run)
//   CHAOS_SEED=n             replay a run (the seed is printed at the start and on failure)
//   CHAOS_KEEP=1             keep the run directory even when it passes
//   CHAOS_DROP_RATE=p        fraction of every node's peer messages lost for the whole run
//                            (default 0.02; the lossy_node fault raises one node's to 0.3)
//   CHAOS_DELAY_MS=n         every peer message is held for a random 0..n ms (default 2; the
//                            slow_node fault raises one node's to 60)
#include <catch2/catch.hpp>

#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <sstream>
#include <thread>

#include "tests/chaos/chaos_cluster.h"
#include "tests/chaos/firewall.h"
#include "tests/chaos/nemesis.h"
#include "tests/chaos/workload.h"
#include "tests/support/linearizability.h"

namespace chaos {
namespace {

using namespace std::chrono_literals;

uint64_t env_u64(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  return std::stoull(v);
}

std::string tail_of_file(const std::string& path, size_t lines) {
  std::ifstream in(path);
  std::vector<std::string> all;
  for (std::string l; std::getline(in, l);) all.push_back(l);
  std::ostringstream s;
  for (size_t i = all.size() > lines ? all.size() - lines : 0; i < all.size(); ++i) s << "    " << all[i] << "\n";
  return s.str();
}

// The checker's search recurses once per operation of a key, so a long run (hundreds of
// thousands of operations per key) overflows the default 8 MiB stack: run it on a thread with
// a large stack (reserved lazily by mmap, so only the depth actually reached costs memory).
lincheck::CheckResult check_with_big_stack(const std::vector<lincheck::Op>& history) {
  struct Job {
    const std::vector<lincheck::Op>* history;
    lincheck::CheckResult result;
  } job{&history, {}};
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, size_t{4} << 30);
  pthread_t thread;
  auto body = [](void* arg) -> void* {
    auto* j = static_cast<Job*>(arg);
    j->result = lincheck::check(*j->history);
    return nullptr;
  };
  if (pthread_create(&thread, &attr, body, &job) != 0) {
    pthread_attr_destroy(&attr);
    return lincheck::check(history);
  }
  pthread_join(thread, nullptr);
  pthread_attr_destroy(&attr);
  return job.result;
}

double ms(uint64_t ns) { return static_cast<double>(ns) / 1e6; }

// The write (put or cas) that produced each value: values are unique.
std::map<std::string, const lincheck::Op*> writers_by_value(const std::vector<lincheck::Op>& h) {
  std::map<std::string, const lincheck::Op*> out;
  for (auto& op : h)
    if (op.kind == lincheck::OpKind::Put || op.kind == lincheck::OpKind::Cas) out[op.input] = &op;
  return out;
}

// Every acknowledged write must be found: for each key, the value the final read returned
// must come from the last acknowledged write or from a write not entirely before it.
std::vector<std::string> lost_writes(const std::vector<lincheck::Op>& h,
                                     const std::map<std::string, std::optional<std::string>>& final_values) {
  std::vector<std::string> problems;
  auto writers = writers_by_value(h);
  for (auto& [key, value] : final_values) {
    const lincheck::Op* last_acked = nullptr;
    for (auto& op : h) {
      if (op.key != key || op.outcome != lincheck::Outcome::Ok) continue;
      if (op.kind != lincheck::OpKind::Put && op.kind != lincheck::OpKind::Cas) continue;
      if (!last_acked || op.complete_time > last_acked->complete_time) last_acked = &op;
    }
    if (!last_acked) continue;
    if (!value) {
      problems.push_back("key " + key + " is absent at the end, but " + lincheck::describe(*last_acked) +
                         " was acknowledged");
      continue;
    }
    auto it = writers.find(*value);
    if (it == writers.end()) {
      problems.push_back("key " + key + " holds '" + *value + "', which no client wrote");
      continue;
    }
    const lincheck::Op* w = it->second;
    if (w != last_acked && w->outcome != lincheck::Outcome::Unknown && w->complete_time < last_acked->invoke_time)
      problems.push_back("key " + key + " holds '" + *value + "' from " + lincheck::describe(*w) +
                         ", so the later acknowledged " + lincheck::describe(*last_acked) + " was lost");
  }
  return problems;
}

struct Summary {
  size_t ops = 0, ok = 0, fail = 0, unknown = 0;
  std::map<std::string, int> faults;
  uint64_t longest_unavailable_ns = 0;
  std::string longest_fault;
  std::vector<std::string> lines;  // one per fault
};

// For each fault, the time from its start to the completion of the first successful write
// invoked after it started.
Summary summarize(const std::vector<Record>& records, const std::vector<FaultEvent>& events) {
  Summary s;
  std::vector<std::pair<uint64_t, uint64_t>> ok_writes;  // invoke, complete
  for (auto& r : records) {
    ++s.ops;
    if (r.definite_failure) {
      ++s.fail;
    } else if (r.op.outcome == lincheck::Outcome::Unknown) {
      ++s.unknown;
    } else {
      ++s.ok;
    }
    if (r.op.outcome == lincheck::Outcome::Ok && !r.definite_failure &&
        (r.op.kind == lincheck::OpKind::Put || r.op.kind == lincheck::OpKind::Cas))
      ok_writes.emplace_back(r.op.invoke_time, r.op.complete_time);
  }
  for (auto& e : events) {
    ++s.faults[e.kind];
    uint64_t first_ok = UINT64_MAX;
    for (auto& [inv, comp] : ok_writes)
      if (inv >= e.start_ns) first_ok = std::min(first_ok, comp);
    std::ostringstream line;
    line << "  t=" << ms(e.start_ns) / 1000 << "s " << e.kind << " (" << e.detail << "), healed after "
         << ms(e.end_ns - e.start_ns) << " ms, ";
    if (first_ok == UINT64_MAX) {
      line << "no successful write after it";
    } else {
      const uint64_t window = first_ok - e.start_ns;
      line << "unavailable " << ms(window) << " ms";
      if (window > s.longest_unavailable_ns) {
        s.longest_unavailable_ns = window;
        s.longest_fault = e.kind + " (" + e.detail + ")";
      }
    }
    s.lines.push_back(line.str());
  }
  return s;
}

}  // namespace

TEST_CASE("five real nodes under a seeded nemesis stay linearizable and lose no acknowledged write",
          "[chaos]") {
  const uint64_t seed = env_u64("CHAOS_SEED", std::random_device{}());
  const uint64_t duration_s = env_u64("CHAOS_DURATION", 60);
  std::cout << "chaos: seed " << seed << ", nemesis for " << duration_s << " s (replay with CHAOS_SEED=" << seed
            << ")" << std::endl;

  ChaosClusterOptions options;
  if (const char* v = std::getenv("CHAOS_DROP_RATE")) options.network.drop_rate = std::stod(v);
  if (const char* v = std::getenv("CHAOS_DELAY_MS")) options.network.delay_ms = std::stoi(v);
  ChaosCluster cluster(options);
  std::cout << "chaos: run directory " << cluster.dir() << ", nodes on " << cluster.host(1) << ".."
            << cluster.host(5) << ", " << options.network.drop_rate * 100
            << "% of peer messages lost, each delayed 0.." << options.network.delay_ms << " ms" << std::endl;
  Firewall firewall(cluster);
  if (!firewall.available()) std::cout << "chaos: partitions disabled: " << firewall.why_unavailable() << std::endl;
  const auto origin = Clock::now();
  for (auto id : cluster.ids()) cluster.start(id);
  REQUIRE(cluster.wait_for_leader(30s));

  std::vector<std::string> failures;
  Workload workload(cluster, origin, {4, {"k0", "k1", "k2", "k3", "k4"}, 1500ms, seed});
  Nemesis nemesis(cluster, firewall, origin, seed);
  workload.start();
  nemesis.run_for(std::chrono::seconds(duration_s));
  for (auto& p : nemesis.problems()) failures.push_back("nemesis: " + p);

  // Liveness after healing: a leader within a bounded time, and writes succeed again.
  const auto healed = Clock::now();
  auto leader = cluster.wait_for_leader(30s);
  const auto leader_after = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - healed);
  if (!leader) failures.push_back("no leader within 30 s after healing");
  // Clients keep going for a moment on the healed cluster, then stop.
  std::this_thread::sleep_for(2s);
  workload.stop();

  // Final reads: every key, linearizable, through a fresh client; they join the history.
  std::map<std::string, std::optional<std::string>> final_values;
  {
    zmq::context_t ctx(1);
    client::Client c(ctx, cluster.client_options(10s));
    for (const std::string key : {"k0", "k1", "k2", "k3", "k4"}) {
      Record r;
      r.op.client = 999;
      r.op.key = key;
      r.op.kind = lincheck::OpKind::Get;
      r.op.invoke_time = workload.now_ns();
      auto res = c.get(key, false);
      r.op.complete_time = workload.now_ns();
      r.detail = std::string("final read: ") + client::to_string(res.outcome) + " " + res.error;
      if (res.outcome == client::Outcome::Ok || res.outcome == client::Outcome::NotFound) {
        r.op.outcome = lincheck::Outcome::Ok;
        if (res.outcome == client::Outcome::Ok) r.op.output = res.value;
        final_values[key] = r.op.output;
      } else {
        r.op.outcome = lincheck::Outcome::Unknown;
        r.definite_failure = true;
        failures.push_back("final read of " + key + " failed: " + r.detail);
      }
      workload.add(r);
    }
  }

  const auto records = workload.records();
  std::vector<lincheck::Op> history;
  for (auto& r : records)
    if (!r.definite_failure) history.push_back(r.op);
  // The history goes to disk before the check, so that even a crash of the checker leaves it.
  {
    std::ofstream h(cluster.dir() + "/history.txt");
    h << "# seed " << seed << "\n";
    auto sorted = records;
    std::sort(sorted.begin(), sorted.end(),
              [](const Record& a, const Record& b) { return a.op.invoke_time < b.op.invoke_time; });
    for (auto& r : sorted) h << format_record(r) << "\n";
  }
  const auto check_start = Clock::now();
  const auto check = check_with_big_stack(history);
  const auto check_ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - check_start).count();
  if (check.verdict == lincheck::Verdict::NotLinearizable)
    failures.push_back("history is not linearizable:\n" + check.explanation);
  for (auto& p : lost_writes(history, final_values)) failures.push_back("lost acknowledged write: " + p);

  // Replicas agree: once every node has applied the leader's commit index, a serializable
  // read of every key on every node returns the linearizable value.
  if (leader) {
    const auto st = cluster.statuses(1s);
    const uint64_t commit = st.count(*leader) ? st.at(*leader).commit : 0;
    const auto deadline = Clock::now() + 20s;
    bool caught_up = false;
    while (!caught_up && Clock::now() < deadline) {
      auto now = cluster.statuses(500ms);
      caught_up = now.size() == cluster.ids().size() &&
                  std::all_of(now.begin(), now.end(), [&](auto& kv) { return kv.second.applied >= commit; });
      if (!caught_up) std::this_thread::sleep_for(100ms);
    }
    if (!caught_up) failures.push_back("not every node applied index " + std::to_string(commit) + " within 20 s");
    zmq::context_t ctx(1);
    for (auto id : cluster.ids()) {
      client::Client c(ctx, cluster.client_options(3s, id));
      for (auto& [key, value] : final_values) {
        auto res = c.get(key, true);
        std::optional<std::string> got;
        if (res.outcome == client::Outcome::Ok) got = res.value;
        if (res.outcome != client::Outcome::Ok && res.outcome != client::Outcome::NotFound) {
          failures.push_back("node " + std::to_string(id) + " did not answer a serializable read of " + key);
        } else if (got != value) {
          failures.push_back("node " + std::to_string(id) + " holds " + key + "=" + got.value_or("(absent)") +
                             " but the cluster answered " + value.value_or("(absent)"));
        }
      }
    }
  }
  for (auto& c : cluster.crashes()) failures.push_back("crash: " + c);
  for (auto id : cluster.ids()) {
    std::ifstream in(cluster.log_path(id));
    for (std::string l; std::getline(in, l);)
      if (l.find("critical") != std::string::npos || l.find("AddressSanitizer") != std::string::npos ||
          l.find("runtime error") != std::string::npos) {
        failures.push_back("node " + std::to_string(id) + " log: " + l);
        break;
      }
  }

  const auto events = nemesis.events();
  const Summary s = summarize(records, events);
  std::ostringstream out;
  out << "chaos summary (seed " << seed << ", " << duration_s << " s of faults):\n"
      << "  operations " << s.ops << ": ok " << s.ok << ", fail " << s.fail << ", unknown " << s.unknown << "\n"
      << "  faults " << events.size() << ":";
  for (auto& [k, n] : s.faults) out << " " << k << "=" << n;
  out << "\n  longest unavailability " << ms(s.longest_unavailable_ns) << " ms after " << s.longest_fault << "\n"
      << "  leader after final heal in " << leader_after.count() << " ms, checker explored " << check.explored
      << " configurations in " << check_ms << " ms"
      << (check.verdict == lincheck::Verdict::Inconclusive ? " (INCONCLUSIVE: " + check.explanation + ")" : "")
      << "\n";
  for (auto& l : s.lines) out << l << "\n";
  std::cout << out.str() << std::flush;
  {
    std::ofstream h(cluster.dir() + "/summary.txt");
    h << out.str();
  }

  const bool keep = !failures.empty() || std::getenv("CHAOS_KEEP");
  if (!failures.empty()) {
    std::cout << "chaos FAILED (seed " << seed << ", replay with CHAOS_SEED=" << seed
              << "); history and node logs kept in " << cluster.dir() << "\n";
    for (auto& f : failures) std::cout << "  - " << f << "\n";
    for (auto id : cluster.ids())
      std::cout << "  -- node " << id << " log tail (" << cluster.log_path(id) << ")\n" << tail_of_file(cluster.log_path(id), 15);
  } else if (keep) {
    std::cout << "chaos: run directory kept in " << cluster.dir() << "\n";
  }
  std::cout << std::flush;
  const std::string dir = cluster.dir();
  CHECK(failures.empty());
  if (!keep) {
    // Processes first (the cluster's destructor runs later; kill them now to remove files).
    for (auto id : cluster.ids()) cluster.kill(id);
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
}

}  // namespace chaos
