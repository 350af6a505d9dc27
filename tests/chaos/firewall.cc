#include "tests/chaos/firewall.h"

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/chaos/emergency.h"
#include "tests/integration/cluster_harness.h"

namespace chaos {
namespace {

constexpr const char* kNft = "/usr/sbin/nft";

// Deletes raftchaos_<pid> tables whose process no longer exists.
void delete_stale_tables() {
  auto r = harness::run({kNft, "list", "tables"});
  std::istringstream in(r.out);
  const std::string prefix = "table inet raftchaos_";
  for (std::string line; std::getline(in, line);) {
    // Lines look like "table inet raftchaos_1234".
    const auto at = line.find(prefix);
    if (at == std::string::npos) continue;
    const std::string digits = line.substr(at + prefix.size());
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos) continue;
    const pid_t pid = static_cast<pid_t>(std::stol(digits));
    const std::string table = "raftchaos_" + digits;
    if (pid != getpid() && ::kill(pid, 0) != 0) (void)harness::run({kNft, "delete", "table", "inet", table});
  }
}

}  // namespace

Firewall::Firewall(const ChaosCluster& cluster) : cluster_(cluster) {
  table_ = "raftchaos_" + std::to_string(getpid());
  if (!cluster_.separate_uids()) {
    why_ = cluster_.why_shared_uid();
    return;
  }
  if (!std::filesystem::exists(kNft)) {
    why_ = "nft not installed (apt-get install -y nftables)";
    return;
  }
  delete_stale_tables();
  emergency::set_table(("inet " + table_).c_str());
  available_ = nft("add table inet " + table_ + "\n" + "add chain inet " + table_ +
                   " out { type filter hook output priority -10 ; policy accept ; }\n");
  if (!available_) emergency::set_table("");
}

Firewall::~Firewall() {
  if (!available_) return;
  (void)harness::run({kNft, "delete", "table", "inet", table_});
  emergency::set_table("");
}

bool Firewall::cut(const std::set<std::pair<uint64_t, uint64_t>>& pairs) {
  if (!available_) return false;
  std::ostringstream s;
  s << "flush chain inet " << table_ << " out\n";
  for (auto [a, b] : pairs) {
    for (auto [from, to] : {std::pair{a, b}, std::pair{b, a}})
      s << "add rule inet " << table_ << " out meta skuid " << cluster_.uid(from) << " ip daddr "
        << cluster_.host(to) << " tcp dport " << cluster_.raft_port() << " drop\n";
  }
  return nft(s.str());
}

bool Firewall::nft(const std::string& script) {
  const std::string path = cluster_.dir() + "/nft-" + table_ + ".rules";
  {
    std::ofstream f(path);
    f << script;
  }
  auto r = harness::run({kNft, "-f", path}, "", std::chrono::seconds(10));
  if (r.exit_code != 0) {
    why_ = "nft failed (" + std::to_string(r.exit_code) + "): " + r.out;
    return false;
  }
  return true;
}

}  // namespace chaos
