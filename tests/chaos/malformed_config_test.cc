// Malformed cluster files (mutations of the example config/cluster.yaml) and bad command-line
// arguments: raft-node and raftctl must refuse them with exit code 2 and a one-line error,
// never crash, never hang, and agree with each other on which files are valid.
//
// A mutation may leave the file valid (deleting an optional key, changing a digit of a port);
// such a file is accepted (raft-node --print-config exits 0) and is not an error. What is
// checked is that every outcome is one of the two allowed ones.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "tests/integration/cluster_harness.h"

using namespace std::chrono_literals;

namespace {

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The example without comments and blank lines (so that most mutations hit content), with
// ports moved where no real cluster listens (raftctl may try to reach a valid file's nodes).
std::string example_content() {
  std::istringstream in(read(std::string(PROJECT_DIR) + "/config/cluster.yaml"));
  std::string out;
  for (std::string l; std::getline(in, l);) {
    const auto first = l.find_first_not_of(' ');
    if (first == std::string::npos || l[first] == '#') continue;
    if (auto p = l.find("127.0.0.1:7"); p != std::string::npos) l.replace(p, 11, "127.0.0.1:2");
    out += l + "\n";
  }
  return out;
}

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

std::string join(const std::vector<std::string>& lines) {
  std::string out;
  for (auto& l : lines) out += l + "\n";
  return out;
}

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

struct Mutant {
  std::string name;
  std::string content;
};

std::vector<Mutant> mutants(const std::string& base, uint64_t seed) {
  std::vector<Mutant> out;
  const auto lines = lines_of(base);
  for (size_t i = 0; i < lines.size(); ++i) {
    auto l = lines;
    l.erase(l.begin() + static_cast<long>(i));
    out.push_back({"delete line " + std::to_string(i + 1), join(l)});
  }
  for (size_t i = 0; i < lines.size(); ++i) {
    auto l = lines;
    l.insert(l.begin() + static_cast<long>(i), lines[i]);
    out.push_back({"duplicate line " + std::to_string(i + 1), join(l)});
  }
  std::mt19937_64 rng(seed);
  for (int k = 0; k < 40; ++k) {
    std::string s = base;
    const size_t p = rng() % (s.size() - 1);
    std::swap(s[p], s[p + 1]);
    out.push_back({"swap chars at " + std::to_string(p), s});
  }
  for (int k = 0; k < 40; ++k) {
    std::string s = base;
    const size_t p = rng() % s.size();
    const char b = static_cast<char>(rng());
    s[p] = b;
    out.push_back({"byte " + std::to_string(static_cast<unsigned char>(b)) + " at " + std::to_string(p), s});
  }
  for (int k = 0; k < 10; ++k) {
    std::string s = base;
    s.resize(rng() % s.size());
    out.push_back({"truncated to " + std::to_string(s.size()), s});
  }
  return out;
}

}  // namespace

TEST_CASE("mutated cluster files give exit code 2 and one line from raft-node and raftctl, or are valid",
          "[chaos][bad_input]") {
  const auto dir = std::filesystem::temp_directory_path() / ("raftkv-badcfg-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "cluster.yaml").string();
  const std::string base = example_content();
  int refused = 0, accepted = 0;
  for (const auto& m : mutants(base, 20261128)) {
    {
      std::ofstream f(path, std::ios::binary | std::ios::trunc);
      f << m.content;
    }
    INFO("mutation: " << m.name << "\n--- file ---\n" << m.content << "------------");
    auto node = harness::run({RAFT_NODE_BIN, "--config", path, "--print-config"}, "", 10s);
    INFO("raft-node said (" << node.exit_code << "): " << node.out);
    REQUIRE((node.exit_code == 0 || node.exit_code == 2));
    auto ctl = harness::run({RAFTCTL_BIN, "--config", path, "--timeout", "0.2", "get", "k"}, "", 10s);
    INFO("raftctl said (" << ctl.exit_code << "): " << ctl.out);
    if (node.exit_code == 2) {
      ++refused;
      CHECK(trimmed(node.out).find('\n') == std::string::npos);
      CHECK(!trimmed(node.out).empty());
      CHECK(ctl.exit_code == 2);
      CHECK(trimmed(ctl.out).find('\n') == std::string::npos);
    } else {
      ++accepted;
      // A valid file: raftctl gets as far as the network (nobody listens: unavailable).
      CHECK(ctl.exit_code == 3);
    }
  }
  std::filesystem::remove_all(dir);
  // The mutations must mostly produce invalid files, or this test proves little.
  CHECK(refused > accepted);
}

TEST_CASE("bad raftctl and raft-node arguments give exit code 2", "[chaos][bad_input]") {
  const std::string cfg = std::string(PROJECT_DIR) + "/config/cluster.yaml";
  const std::vector<std::vector<std::string>> ctl_cases{
      {},
      {"frobnicate"},
      {"put"},
      {"put", "k"},
      {"get"},
      {"get", "k", "extra"},
      {"cas", "k", "v"},
      {"del"},
      {"--timeout", "abc", "get", "k"},
      {"--node", "x", "get", "k"},
      {"--bogus-option", "get", "k"},
      {"--config", "/nonexistent/cluster.yaml", "get", "k"},
      {"--config"},
      {"transfer-leader", "notanumber"},
  };
  for (const auto& args : ctl_cases) {
    std::vector<std::string> argv{RAFTCTL_BIN};
    if (args.empty() || args[0] != "--config") argv.insert(argv.end(), {"--config", cfg});
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = harness::run(argv, "", 10s);
    std::string shown;
    for (auto& a : args) shown += a + " ";
    INFO("raftctl " << shown << "-> " << r.exit_code << ": " << r.out);
    CHECK(r.exit_code == 2);
  }
  const std::vector<std::vector<std::string>> node_cases{
      {},
      {"--config"},
      {"--config", cfg, "--id", "0"},
      {"--config", cfg, "--id", "99"},
      {"--config", cfg, "--id", "abc"},
      {"--config", cfg, "--id", "1", "--frobnicate"},
      {"--config", "/nonexistent/cluster.yaml", "--id", "1"},
  };
  for (const auto& args : node_cases) {
    std::vector<std::string> argv{RAFT_NODE_BIN};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = harness::run(argv, "", 10s);
    std::string shown;
    for (auto& a : args) shown += a + " ";
    INFO("raft-node " << shown << "-> " << r.exit_code << ": " << r.out);
    CHECK(r.exit_code == 2);
  }
}
