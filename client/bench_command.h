// The `raftctl bench` subcommand: command-line options, output (text table or one JSON
// object) and exit codes around run_bench() (bench.h).
//
// raftctl keeps its global options (--config, --node, --timeout, --json) in local variables
// of main(); register_bench_command() takes references to them and reads them only when the
// subcommand runs, i.e. after the whole command line was parsed (global options may come
// after the command). The subcommand runs from its CLI11 callback and ends the process with
// its exit code: 0 when the load ran, 2 for a config error, 3 when no leader was found or
// no request succeeded.
//
// Besides the load, `bench --failover-probe` puts one probe key until a put is acknowledged
// and prints how long that took (from --since-epoch-ns, a CLOCK_REALTIME instant such as the
// moment a script killed the leader): the failover time of scripts/bench-vs-etcd.sh.
#pragma once

#include <cstdint>
#include <string>

#include <CLI/CLI.hpp>

namespace client {

void register_bench_command(CLI::App& app, const std::string& config_path, const uint64_t& node_id,
                            const double& timeout_s, const bool& json);

}  // namespace client
