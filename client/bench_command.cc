#include "client/bench_command.h"

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <variant>

#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "client/bench.h"
#include "config/cluster_config.h"

namespace client {
namespace {

constexpr int kExitUsage = 2;
constexpr int kExitUnavailable = 3;

struct BenchArgs {
  BenchOptions options;
  bool failover_probe = false;
  int64_t since_epoch_ns = 0;
  double probe_try_ms = 100;
  double probe_limit_s = 30;
};

double ms(uint64_t nanos) { return static_cast<double>(nanos) / 1e6; }

nlohmann::ordered_json latency_json(const LatencyHistogram& h) {
  return {{"p50", ms(h.percentile(50))}, {"p90", ms(h.percentile(90))},   {"p99", ms(h.percentile(99))},
          {"p999", ms(h.percentile(99.9))}, {"max", ms(h.max())},         {"min", ms(h.min())},
          {"mean", h.mean() / 1e6}};
}

std::string latency_text(const LatencyHistogram& h) {
  char buf[256];
  std::snprintf(buf, sizeof buf, "p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  max %.3f  (mean %.3f)",
                ms(h.percentile(50)), ms(h.percentile(90)), ms(h.percentile(99)), ms(h.percentile(99.9)),
                ms(h.max()), h.mean() / 1e6);
  return buf;
}

int print_result(const BenchArgs& a, const BenchResult& r, bool json) {
  const auto& o = a.options;
  if (json) {
    nlohmann::ordered_json j;
    j["clients"] = o.clients;
    j["connections"] = o.connections;
    j["warmup_s"] = o.warmup_s;
    j["duration_s"] = o.duration_s;
    j["value_size"] = o.value_size;
    j["keys"] = o.keys;
    j["read_ratio"] = o.read_ratio;
    j["serializable"] = o.serializable;
    j["leader"] = r.leader;
    j["elapsed_s"] = r.elapsed_s;
    j["ops"] = r.all.count();
    j["ops_per_s"] = r.ops_per_s();
    j["latency_ms"] = latency_json(r.all);
    j["puts"] = {{"ops", r.puts.ok}, {"latency_ms", latency_json(r.puts.latency)}};
    j["gets"] = {{"ops", r.gets.ok}, {"latency_ms", latency_json(r.gets.latency)}};
    j["errors"] = r.errors;
    j["unknown"] = r.unknown;
    j["redirects"] = r.redirects;
    j["busy"] = r.busy;
    if (!r.error.empty()) j["error"] = r.error;
    std::cout << j.dump() << std::endl;
  } else if (r.error.empty()) {
    std::printf("bench: %zu clients, %zu connection(s) per member, %.1f s after %.1f s warm-up, %zu-byte values, "
                "%llu keys, read ratio %.2f%s\n",
                o.clients, o.connections, o.duration_s, o.warmup_s, o.value_size,
                static_cast<unsigned long long>(o.keys), o.read_ratio, o.serializable ? " (serializable)" : "");
    std::printf("throughput   %.0f ops/s  (%llu ops in %.2f s: %llu puts, %llu gets)\n", r.ops_per_s(),
                static_cast<unsigned long long>(r.all.count()), r.elapsed_s,
                static_cast<unsigned long long>(r.puts.ok), static_cast<unsigned long long>(r.gets.ok));
    std::printf("latency ms   %s\n", latency_text(r.all).c_str());
    if (r.puts.ok && r.gets.ok) {
      std::printf("  puts       %s\n", latency_text(r.puts.latency).c_str());
      std::printf("  gets       %s\n", latency_text(r.gets.latency).c_str());
    }
    std::printf("errors %llu  unknown %llu  redirects %llu  busy %llu  leader %llu\n",
                static_cast<unsigned long long>(r.errors), static_cast<unsigned long long>(r.unknown),
                static_cast<unsigned long long>(r.redirects), static_cast<unsigned long long>(r.busy),
                static_cast<unsigned long long>(r.leader));
    std::fflush(stdout);
  }
  if (!r.error.empty()) {
    std::cerr << "raftctl bench: " << r.error << "\n";
    return kExitUnavailable;
  }
  return r.all.count() > 0 ? 0 : kExitUnavailable;
}

int run(const BenchArgs& a, const std::string& config_path, uint64_t node_id, double timeout_s, bool json) {
  auto loaded = config::load(config_path);
  if (auto* err = std::get_if<config::ConfigError>(&loaded)) {
    std::cerr << "raftctl: config error: " << err->message << "\n";
    return kExitUsage;
  }
  const auto& cfg = std::get<config::ClusterConfig>(loaded);
  if (node_id != 0 && !cfg.find(node_id)) {
    std::cerr << "raftctl: node " << node_id << " is not in " << cfg.path << "\n";
    return kExitUsage;
  }
  std::vector<Member> members;
  for (const auto& n : cfg.nodes)
    if (node_id == 0 || n.id == node_id) members.push_back({n.id, n.client});
  zmq::context_t ctx(1);

  if (a.failover_probe) {
    using Clock = std::chrono::steady_clock;
    auto since = Clock::now();
    if (a.since_epoch_ns > 0) {
      const int64_t now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count();
      since -= std::chrono::nanoseconds(std::max<int64_t>(0, now_ns - a.since_epoch_ns));
    }
    const auto deadline = Clock::now() + std::chrono::milliseconds(static_cast<int64_t>(a.probe_limit_s * 1000));
    const double took = probe_first_write(ctx, members, since, deadline,
                                          std::chrono::milliseconds(static_cast<int64_t>(a.probe_try_ms)));
    if (json) std::cout << nlohmann::ordered_json{{"first_write_ms", took}}.dump() << std::endl;
    else std::cout << "first_write_ms=" << took << std::endl;
    return took >= 0 ? 0 : kExitUnavailable;
  }

  BenchOptions o = a.options;
  o.request_timeout = std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000));
  o.progress = [](const std::string& line) { std::cerr << line << std::endl; };
  const BenchResult r = run_bench(ctx, members, o);
  return print_result(a, r, json);
}

}  // namespace

void register_bench_command(CLI::App& app, const std::string& config_path, const uint64_t& node_id,
                            const double& timeout_s, const bool& json) {
  auto args = std::make_shared<BenchArgs>();
  auto* cmd = app.add_subcommand(
      "bench",
      "closed-loop load: N clients, each with one request in flight, pipelined over few sockets; warm-up, then a "
      "measured window; prints throughput, latency percentiles (p50 p90 p99 p99.9 max), errors and unknown "
      "outcomes (one JSON object with --json); a progress line each second on stderr");
  auto& o = args->options;
  cmd->add_option("--clients", o.clients, "concurrent closed-loop clients (default 1)")->check(CLI::Range(1, 100000));
  cmd->add_option("--duration", o.duration_s, "measured seconds (default 10)")->check(CLI::PositiveNumber);
  cmd->add_option("--warmup", o.warmup_s, "seconds before measuring (default 1)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--value-size", o.value_size, "bytes per put value (default 100)")->check(CLI::Range(0, 1 << 24));
  cmd->add_option("--keys", o.keys, "key space: keys k00000000 .. (default 100000)")->check(CLI::PositiveNumber);
  cmd->add_option("--read-ratio", o.read_ratio, "fraction of requests that are gets, 0..1 (default 0)")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_flag("--serializable", o.serializable, "gets read any member's local state (no ReadIndex; may be stale)");
  cmd->add_option("--connections", o.connections, "sockets per member the clients share (default 1)")
      ->check(CLI::Range(1, 1024));
  cmd->add_flag("--failover-probe", args->failover_probe,
                "no load: put a probe key until one put is acknowledged (each try waits --probe-try-ms) and print "
                "the milliseconds it took (for scripts that time a failover)");
  cmd->add_option("--since-epoch-ns", args->since_epoch_ns,
                  "with --failover-probe: count from this CLOCK_REALTIME instant in ns (e.g. `date +%s%N` when the "
                  "leader was killed) instead of from the start of the probe");
  cmd->add_option("--probe-try-ms", args->probe_try_ms, "with --failover-probe: timeout of one try (default 100)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--probe-limit", args->probe_limit_s, "with --failover-probe: give up after this many seconds "
                                                        "(default 30)")
      ->check(CLI::PositiveNumber);
  // Runs after the whole command line is parsed, so the global options are final here.
  cmd->callback([args, &config_path, &node_id, &timeout_s, &json] {
    const int code = run(*args, config_path, node_id, timeout_s, json);
    std::cout.flush();
    std::cerr.flush();
    std::exit(code);
  });
}

}  // namespace client
