// raftctl: the command-line client of the cluster (README "Walk-through with raftctl").
//
//   raftctl [--config FILE] [--node ID] [--timeout SECONDS] [--json] [--key NAME] COMMAND ...
//
// With security.curve on in the cluster file, every command that talks to the cluster uses
// CURVE with the client key client-NAME (--key, default "client") from security.keys_dir;
// `raftctl keygen` creates the keys (docs/security.md).
//
// Exit codes: 0 success; 1 not found / cas mismatch; 2 usage or config error;
// 3 unavailable or timed out (outcome unknown for writes); 4 definitely rejected.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iomanip>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <variant>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "client/bench_command.h"
#include "client/client.h"
#include "client/connection.h"
#include "client/keygen.h"
#include "client/push_config.h"
#include "client/shell.h"
#include "config/cluster_config.h"
#include "storage/check_data.h"

namespace {

// 16 hex digits, the form the nodes' logs and check-data use for an incarnation.
std::string incarnation_hex(uint64_t incarnation) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(incarnation));
  return buf;
}

constexpr int kExitUsage = 2;

std::string default_config_path() {
  const char* env = std::getenv("RAFT_CONFIG");
  return env && *env ? env : "config/cluster.yaml";
}

// Prints a request's outcome the way a script wants it: the value (get) or OK on stdout,
// problems on stderr; --json prints one object instead.
int report(const client::Result& r, bool json, bool is_get) {
  if (json) {
    nlohmann::ordered_json j;
    j["result"] = client::to_string(r.outcome);
    if (r.outcome == client::Outcome::Ok && is_get) j["value"] = r.value;
    if (r.outcome == client::Outcome::CasFailed) j["current"] = r.value_present ? nlohmann::json(r.value) : nlohmann::json(nullptr);
    if (!r.error.empty()) j["error"] = r.error;
    std::cout << j.dump() << "\n";
    return client::exit_code(r.outcome);
  }
  switch (r.outcome) {
    case client::Outcome::Ok:
      std::cout << (is_get ? r.value : std::string("OK")) << "\n";
      break;
    case client::Outcome::NotFound:
      std::cerr << "not found\n";
      break;
    case client::Outcome::CasFailed:
      std::cerr << "cas failed: current value is " << (r.value_present ? "'" + r.value + "'" : std::string("absent"))
                << "\n";
      break;
    case client::Outcome::Unknown:
      std::cerr << "unknown outcome (the write may or may not have been applied): " << r.error << "\n";
      break;
    case client::Outcome::Unavailable:
      std::cerr << "unavailable: " << r.error << "\n";
      break;
    case client::Outcome::Rejected:
      std::cerr << "rejected: " << r.error << "\n";
      break;
  }
  return client::exit_code(r.outcome);
}

// "12.3M": a byte count in MiB for the status table.
std::string mib(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1fM", static_cast<double>(bytes) / (1 << 20));
  return buf;
}

std::string id_list(std::vector<raft::NodeId> ids) {
  std::sort(ids.begin(), ids.end());
  std::string s;
  for (auto id : ids) s += (s.empty() ? "" : " ") + std::to_string(id);
  return "(" + s + ")";
}

// The membership as the most authoritative reachable member sees it (the leader of the
// highest term, else the member of the highest term): nullptr if nobody answered.
const transport::NodeStatus* membership_view(const std::vector<client::Client::MemberStatus>& rows) {
  const transport::NodeStatus* best = nullptr;
  for (const auto& r : rows) {
    if (!r.reachable) continue;
    const auto& s = r.status;
    const bool lead = s.role == "leader";
    if (!best || s.term > best->term || (s.term == best->term && lead && best->role != "leader")) best = &s;
  }
  return best;
}

int print_status(client::Client& c, const config::ClusterConfig& cfg, double timeout_s, bool json) {
  // Status asks every member at once with a short timeout: one dead member must not make
  // the table slow.
  const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(std::min(timeout_s, 1.0) * 1000));
  auto rows = c.status_all(timeout);
  bool any = false;
  const transport::NodeStatus* view = membership_view(rows);
  if (json) {
    nlohmann::ordered_json nodes = nlohmann::ordered_json::array();
    for (const auto& r : rows) {
      any = any || r.reachable;
      nodes.push_back({{"id", r.member.id},
                       {"role", r.reachable ? r.status.role : std::string("unknown")},
                       {"term", r.status.term},
                       {"leader", r.status.leader},
                       {"commit", r.status.commit},
                       {"applied", r.status.applied},
                       {"last_index", r.status.last_index},
                       {"state_bytes", r.status.state_bytes},
                       {"rss_bytes", r.status.rss_bytes},
                       {"snapshot_index", r.status.snapshot_index},
                       {"snapshot_running", r.status.snapshot_running != 0},
                       {"slowest_loop_us", r.status.slowest_loop_us},
                       {"slowest_snapshot_loop_us", r.status.slowest_snapshot_loop_us},
                       {"slowest_fork_us", r.status.slowest_fork_us},
                       {"slowest_snapshot_step_us", r.status.slowest_snapshot_step_us},
                       {"reachable", r.reachable},
                       {"problem", r.status.problem},
                       {"incarnation", r.reachable ? incarnation_hex(r.status.incarnation) : std::string()}});
    }
    nlohmann::ordered_json j{{"nodes", nodes}};
    if (view) {
      auto sorted = [](std::vector<raft::NodeId> v) {
        std::sort(v.begin(), v.end());
        return v;
      };
      j["voters"] = sorted(view->voters);
      j["learners"] = sorted(view->learners);
      j["voters_outgoing"] = sorted(view->voters_outgoing);
    }
    std::cout << j.dump() << "\n";
    return any ? 0 : 3;
  }
  std::ostringstream out;
  out << std::left << std::setw(4) << "ID" << std::setw(24) << "ADDRESS" << std::setw(14) << "ROLE"
      << std::right << std::setw(6) << "TERM" << std::setw(8) << "LEADER" << std::setw(10) << "COMMIT"
      << std::setw(10) << "APPLIED" << std::setw(12) << "LAST_INDEX" << std::setw(10) << "STATE" << std::setw(10) << "RSS" << "  REACHABLE\n";
  for (const auto& r : rows) {
    any = any || r.reachable;
    std::string address = r.member.client;
    if (const auto* n = cfg.find(r.member.id)) address = n->raft;
    if (address.rfind("tcp://", 0) == 0) address = address.substr(6);
    out << std::left << std::setw(4) << r.member.id << std::setw(24) << address;
    if (r.reachable) {
      const auto& s = r.status;
      out << std::setw(14) << s.role << std::right << std::setw(6) << s.term << std::setw(8)
          << (s.leader ? std::to_string(s.leader) : std::string("-")) << std::setw(10) << s.commit << std::setw(10)
          << s.applied << std::setw(12) << s.last_index << std::setw(10) << mib(s.state_bytes) << std::setw(10)
          << mib(s.rss_bytes) << "  yes";
      // A node that cannot do its job (disk full, ...) says so on its row.
      if (!s.problem.empty()) out << "  ! " << s.problem;
      out << "\n";
    } else {
      out << std::setw(14) << "-" << std::right << std::setw(6) << "-" << std::setw(8) << "-" << std::setw(10) << "-"
          << std::setw(10) << "-" << std::setw(12) << "-" << std::setw(10) << "-" << std::setw(10) << "-" << "  no ("
          << r.error << ")\n";
    }
  }
  if (view) {
    out << "membership (node " << view->id << "'s view): voters " << id_list(view->voters);
    if (!view->voters_outgoing.empty())
      out << " && " << id_list(view->voters_outgoing) << "  [joint configuration: a change is in progress]";
    if (!view->learners.empty()) out << ", learners " << id_list(view->learners);
    out << "\n";
  }
  std::cout << out.str();
  return any ? 0 : 3;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"raftctl: the client of a raftkv cluster.\n"
               "Exit codes: 0 success, 1 not found or cas mismatch, 2 usage or config error,\n"
               "3 unavailable or timed out (the outcome of a write is unknown), 4 definitely rejected."};
  app.fallthrough();  // global options are accepted after the command too
  app.require_subcommand(1);
  std::string config_path = default_config_path();
  uint64_t node_id = 0;
  double timeout_s = 5.0;
  bool json = false;
  app.add_option("--config", config_path, "cluster file (default: $RAFT_CONFIG or config/cluster.yaml)");
  app.add_option("--node", node_id, "send requests to this member only (by id)");
  app.add_option("--timeout", timeout_s, "give up after this many seconds (default 5)")->check(CLI::PositiveNumber);
  app.add_flag("--json", json, "print results as JSON");
  std::string key_name = client::kDefaultClientKey;
  app.add_option("--key", key_name,
                 "with security.curve on: use the client key client-NAME.key/.pub of keys_dir (default: client)");
  client::register_bench_command(app, config_path, node_id, timeout_s, json);

  std::string key, value, expected;
  bool serializable = false, expect_absent = false;
  auto* put = app.add_subcommand("put", "set KEY to VALUE (exit 0 when applied on a majority)");
  put->add_option("KEY", key, "the key")->required();
  std::string value_file;
  auto* value_opt = put->add_option("VALUE", value, "the value");
  // A command-line argument is limited to 128 KiB by the kernel: larger values come from a file.
  auto* value_file_opt = put->add_option("--value-file", value_file, "read the value from this file ('-': stdin)");
  value_opt->excludes(value_file_opt);
  put->callback([&] {
    if (!*value_opt && !*value_file_opt) throw CLI::RequiredError("VALUE or --value-file");
  });
  auto* get = app.add_subcommand(
      "get", "print the value of KEY (exit 1 if absent). Linearizable unless --serializable");
  get->add_option("KEY", key, "the key")->required();
  get->add_flag("--serializable", serializable,
                "read the local state of the member reached (with --node, that member's); may be stale");
  auto* del = app.add_subcommand("del", "delete KEY (exit 1 if it did not exist)");
  del->add_option("KEY", key, "the key")->required();
  auto* cas = app.add_subcommand(
      "cas", "compare-and-set: set KEY to NEW only if it holds EXPECTED (exit 1 and print the current value otherwise)");
  cas->add_option("KEY", key, "the key")->required();
  cas->add_option("EXPECTED", expected, "the value KEY must hold (ignored with --absent)")->required();
  cas->add_option("NEW", value, "the new value")->required();
  cas->add_flag("--absent", expect_absent, "succeed only if KEY does not exist yet");
  auto* status = app.add_subcommand(
      "status", "one row per member: id, address, role, term, leader, commit, applied, last index, reachable");
  client::PushOptions push;
  double catchup_timeout_s = 0;
  auto* push_config = app.add_subcommand(
      "push-config",
      "change the cluster's membership to the members of FILE: new members (started first, empty, without "
      "--bootstrap) join as learners and catch up, then one change makes the voters exactly FILE's members "
      "(joint consensus when more than one voter changes); a leader to be removed hands over first. Prints the "
      "plan, progress and outcome. Pushing the same file again does nothing; after an interrupted push it "
      "finishes the change. Exit 0 done, 2 bad FILE, 3 unavailable or timed out, 4 refused (pre-flight or "
      "cluster). --timeout bounds the whole push (default 30 s here)");
  push_config->add_option("FILE", push.file, "the cluster file with the desired members")->required();
  push_config->add_flag("--dry-run", push.dry_run, "print the plan only, change nothing");
  push_config->add_option("--catchup-timeout", catchup_timeout_s,
                          "give up waiting for new members to catch up after this many seconds (default: --timeout)")
      ->check(CLI::PositiveNumber);
  uint64_t transfer_target = 0;
  auto* transfer = app.add_subcommand(
      "transfer-leader",
      "ask the leader to hand leadership to voter ID (it brings ID up to date, then ID campaigns); exit 0 once ID "
      "leads, 3 if it did not happen in time, 4 if ID is not a voter");
  transfer->add_option("ID", transfer_target, "the voter that should lead")->required();
  std::string check_dir;
  bool check_dump = false;
  auto* check = app.add_subcommand(
      "check-data",
      "verify a node's data folder offline (DIR is <data_dir>/node-N; stop the node first): every log segment "
      "and snapshot is read and checked; prints the folder's identity (cluster, node id, incarnation) and a summary (first/last index, terms, hard state, snapshot, sizes) "
      "and any damage with its file and offset. Exit 0 clean (a torn tail is a warning: start-up cuts it), "
      "1 damaged, 2 DIR is not a node data folder, 4 refused: a running node holds the folder (its LOCK)");
  check->add_option("DIR", check_dir, "the node's data folder, e.g. data/node-1")->required();
  check->add_flag("--dump", check_dump, "also print every record");
  std::vector<std::string> keygen_clients;
  auto* keygen = app.add_subcommand(
      "keygen",
      "create the CURVE keys of the cluster file's security.keys_dir (made with mode 0700 if missing): "
      "node-<id>.key/.pub for every node of the file and client-client.key/.pub, plus client-NAME.key/.pub "
      "for each --client NAME. Secret keys get mode 0600. Existing keys are never overwritten. Prints the "
      "files written and public-key fingerprints, never a secret key");
  keygen->add_option("--client", keygen_clients, "also create the client key client-NAME (repeatable)");
  auto* shell = app.add_subcommand(
      "shell",
      "read commands from stdin, one per line: put K V | get K | del K | cas K OLD NEW (values are the rest of "
      "the line); answers OK, VALUE v, NOT_FOUND, CAS_FAIL <current or ->, FAIL why, UNKNOWN why");

  // Runs once the command line is parsed and before any command (bench runs inside the parse):
  // with CURVE on, every socket this process opens must be a CURVE client.
  app.parse_complete_callback([&] {
    if (keygen->parsed() || check->parsed()) return;
    auto loaded = config::load(config_path);
    const auto* cfg = std::get_if<config::ClusterConfig>(&loaded);
    if (!cfg || !cfg->security.curve) return;  // a config error is reported by the command
    auto curve = client::load_client_curve(cfg->security.keys_dir, key_name);
    if (auto* e = std::get_if<transport::KeyError>(&curve)) {
      // As for any failure to reach the cluster (the README's exit codes): 3.
      std::cerr << "raftctl: security.curve is on in " << cfg->path << " but the client key cannot be used: "
                << e->message << "\n";
      std::exit(3);
    }
    client::set_client_curve(std::make_shared<const client::ClientCurve>(std::move(std::get<client::ClientCurve>(curve))));
  });

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    (void)app.exit(e);
    return kExitUsage;
  }

  // check-data works on a folder, offline: it needs no cluster file.
  if (check->parsed()) return storage::check_data(check_dir, check_dump, std::cout);

  auto loaded = config::load(config_path);
  if (auto* err = std::get_if<config::ConfigError>(&loaded)) {
    std::cerr << "raftctl: config error: " << err->message << "\n";
    return kExitUsage;
  }
  const auto& cfg = std::get<config::ClusterConfig>(loaded);
  if (keygen->parsed()) return client::keygen(cfg, keygen_clients, std::cout, std::cerr);
  if (node_id != 0 && !cfg.find(node_id)) {
    std::cerr << "raftctl: node " << node_id << " is not in " << cfg.path << "\n";
    return kExitUsage;
  }

  client::Options opts;
  for (const auto& n : cfg.nodes) opts.members.push_back({n.id, n.client});
  opts.only_node = node_id;
  opts.cluster_id = cfg.cluster_id;
  opts.max_key_bytes = cfg.max_key_bytes;
  opts.max_value_bytes = cfg.max_value_bytes;
  opts.timeout = std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000));
  // One attempt waits about an election timeout before trying another member.
  opts.attempt_timeout = std::chrono::milliseconds(
      std::clamp<int64_t>(int64_t{2} * cfg.tick_ms * cfg.election_ticks, 300, 3000));
  zmq::context_t ctx(1);
  client::Client c(ctx, opts);

  if (*put) {
    if (!value_file.empty()) {
      std::ostringstream buf;
      if (value_file == "-") {
        buf << std::cin.rdbuf();
      } else {
        std::ifstream in(value_file, std::ios::binary);
        if (!in) {
          std::cerr << "raftctl: cannot read " << value_file << "\n";
          return kExitUsage;
        }
        buf << in.rdbuf();
      }
      value = std::move(buf).str();
    }
    return report(c.put(key, value), json, false);
  }
  if (*get) return report(c.get(key, serializable), json, true);
  if (*del) return report(c.del(key), json, false);
  if (*cas) return report(c.cas(key, expected, expect_absent, value), json, false);
  if (*status) return print_status(c, cfg, timeout_s, json);
  if (*push_config) {
    // A membership change waits for new members to catch up: a longer default than requests.
    const bool timeout_given = app.get_option("--timeout")->count() > 0;
    push.timeout = std::chrono::milliseconds(static_cast<int64_t>((timeout_given ? timeout_s : 30.0) * 1000));
    push.catchup_timeout = catchup_timeout_s > 0
                               ? std::chrono::milliseconds(static_cast<int64_t>(catchup_timeout_s * 1000))
                               : push.timeout;
    return client::push_config(ctx, cfg, push, std::cout, std::cerr);
  }
  if (*transfer) {
    auto r = c.transfer_leader(transfer_target);
    if (r.outcome == client::Outcome::Ok && !json) {
      std::cout << "node " << transfer_target << " leads\n";
      return 0;
    }
    return report(r, json, false);
  }
  if (*shell) return client::run_shell(c, std::cin, std::cout);
  return kExitUsage;
}
