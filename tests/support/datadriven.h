// A datadriven test runner in the manner of cockroachdb/datadriven, which etcd-io/raft and
// raft-rs use for their testdata/*.txt scenarios. A file is a list of directives:
//
//   # a comment (kept on rewrite)
//   command arg key=value key=(v1,v2)
//   optional input lines
//   ----
//   the expected output, up to the first blank line
//
// An output that itself holds blank lines is written between two double separators
// ("----\n----\n" ... "\n----\n----"). The handler turns each directive into its actual
// output; a mismatch is reported with file:line. With REWRITE=1 in the environment the file
// is rewritten with the actual outputs instead (review the diff before committing it).
//
// Free of any test framework: the caller turns the returned mismatches into failures.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace datadriven {

struct Arg {
  std::string key;
  std::vector<std::string> values;  // key=v: {v}; key=(a,b): {a, b}; a bare key: {}
};

struct Directive {
  std::string pos;  // file:line of the command
  std::string cmd;
  std::vector<Arg> args;
  std::string input;     // the lines between the command and "----"
  std::string expected;  // without the final newline

  bool has(const std::string& key) const;
  // The values of `key`; throws std::runtime_error (naming pos) when it is missing.
  const std::vector<std::string>& values(const std::string& key) const;
  // The single value of `key`, or `fallback` when it is absent.
  std::string value(const std::string& key, const std::string& fallback = "") const;
  uint64_t number(const std::string& key, uint64_t fallback = 0) const;
};

// Runs every directive of `path`. Returns one message per mismatch or handler exception
// (empty: the file passed). Under REWRITE=1 rewrites the file (unless a directive failed)
// and returns only the failures.
std::vector<std::string> run_file(const std::string& path, const std::function<std::string(const Directive&)>& handler);

// The *.txt files of `dir`, sorted.
std::vector<std::string> files_in(const std::string& dir);

}  // namespace datadriven
