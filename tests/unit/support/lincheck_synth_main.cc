// lincheck_synth OPS [SEED] [--stale] [--clients N] [--keys N] [--long PER_MILLE]
// [--unknown PER_MILLE]: writes a synthetic linearizable history (see
// synthetic_history.h) in the chaos history format to stdout, for measuring `lincheck`;
// --stale injects one stale read near the end.
#include <cstring>
#include <iostream>
#include <string>

#include "tests/support/linearizability.h"
#include "tests/unit/support/synthetic_history.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: lincheck_synth OPS [SEED] [--stale] [--clients N] [--keys N] [--long PM] [--unknown PM]\n";
    return 2;
  }
  lincheck::testing::SyntheticOptions o;
  bool stale = false;
  try {
    o.ops = std::stoull(argv[1]);
    for (int i = 2; i < argc; ++i) {
      if (std::strcmp(argv[i], "--stale") == 0) {
        stale = true;
      } else if (std::strcmp(argv[i], "--clients") == 0 && i + 1 < argc) {
        o.clients = std::stoi(argv[++i]);
      } else if (std::strcmp(argv[i], "--keys") == 0 && i + 1 < argc) {
        o.keys = std::stoi(argv[++i]);
      } else if (std::strcmp(argv[i], "--long") == 0 && i + 1 < argc) {
        o.long_per_mille = std::stoi(argv[++i]);
      } else if (std::strcmp(argv[i], "--unknown") == 0 && i + 1 < argc) {
        o.unknown_per_mille = std::stoi(argv[++i]);
      } else {
        o.seed = std::stoull(argv[i]);
      }
    }
  } catch (const std::exception&) {
    std::cerr << "usage: lincheck_synth OPS [SEED] [--stale] [--clients N] [--keys N] [--long PM] [--unknown PM]\n";
    return 2;
  }
  std::vector<uint64_t> points;
  auto history = lincheck::testing::make_history(o, &points);
  if (stale && lincheck::testing::inject_stale_read(history) < 0) {
    std::cerr << "no stale read could be injected\n";
    return 1;
  }
  std::cout << "# synthetic history, seed " << o.seed << "\n";
  // The free text after each operation says when it took effect in the generating run.
  for (size_t i = 0; i < history.size(); ++i) {
    std::cout << lincheck::describe(history[i]) << "  took effect at ";
    if (points[i] == ~uint64_t{0}) {
      std::cout << "never\n";
    } else {
      std::cout << points[i] << "\n";
    }
  }
  return 0;
}
