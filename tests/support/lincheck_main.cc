// lincheck FILE [--budget N]: checks a saved chaos history (see history_file.h) offline.
// Prints the operations per key, the verdict, the configurations explored and the wall
// time. Exit status: 0 linearizable, 1 not linearizable, 3 inconclusive (search budget
// exhausted), 2 bad usage or bad input (with the line number).
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <string>

#include "tests/support/history_file.h"
#include "tests/support/linearizability.h"

namespace {

constexpr int kExitLinearizable = 0;
constexpr int kExitNotLinearizable = 1;
constexpr int kExitBadInput = 2;
constexpr int kExitInconclusive = 3;

int usage() {
  std::cerr << "usage: lincheck FILE [--budget CONFIGURATIONS_PER_KEY]\n";
  return kExitBadInput;
}

}  // namespace

int main(int argc, char** argv) {
  std::string path;
  lincheck::CheckOptions options;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--budget") == 0 && i + 1 < argc) {
      try {
        options.max_explored_per_key = std::stoull(argv[++i]);
      } catch (const std::exception&) {
        return usage();
      }
    } else if (path.empty() && argv[i][0] != '-') {
      path = argv[i];
    } else {
      return usage();
    }
  }
  if (path.empty()) return usage();

  std::ifstream in(path);
  if (!in) {
    std::cerr << "lincheck: cannot open " << path << "\n";
    return kExitBadInput;
  }
  const auto parse_start = std::chrono::steady_clock::now();
  const lincheck::ParsedHistory history = lincheck::read_history(in);
  if (!history.ok()) {
    std::cerr << path << ":" << history.error_line << ": " << history.error << "\n";
    return kExitBadInput;
  }
  const auto check_start = std::chrono::steady_clock::now();

  struct Counts {
    size_t ok = 0, fail = 0, unknown = 0;
  };
  std::map<std::string, Counts> per_key;
  for (const auto& op : history.ops) {
    Counts& c = per_key[op.key];
    if (op.outcome == lincheck::Outcome::Ok) ++c.ok;
    if (op.outcome == lincheck::Outcome::Fail) ++c.fail;
    if (op.outcome == lincheck::Outcome::Unknown) ++c.unknown;
  }
  std::cout << history.ops.size() << " operations on " << per_key.size() << " keys\n";
  for (const auto& [key, c] : per_key) {
    std::cout << "  " << key << ": " << c.ok + c.fail + c.unknown << " (ok " << c.ok << ", fail "
              << c.fail << ", unknown " << c.unknown << ")\n";
  }

  const lincheck::CheckResult result = lincheck::check(history.ops, options);
  const auto end = std::chrono::steady_clock::now();
  const auto ms = [](auto d) { return std::chrono::duration<double, std::milli>(d).count(); };

  int status = kExitLinearizable;
  switch (result.verdict) {
    case lincheck::Verdict::Linearizable: std::cout << "verdict: linearizable\n"; break;
    case lincheck::Verdict::NotLinearizable:
      std::cout << "verdict: NOT linearizable\n" << result.explanation;
      status = kExitNotLinearizable;
      break;
    case lincheck::Verdict::Inconclusive:
      std::cout << "verdict: inconclusive\n" << result.explanation;
      status = kExitInconclusive;
      break;
  }
  std::cout << "configurations explored: " << result.explored << "\n";
  std::printf("time: parse %.1f ms, check %.1f ms\n", ms(check_start - parse_start),
              ms(end - check_start));
  return status;
}
