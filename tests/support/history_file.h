// Reading a saved chaos history: the text file the chaos test writes before it checks the
// history (tests/chaos/chaos_test.cc), one operation a line as printed by
// lincheck::describe(), possibly followed by free text (the client's detail).
//
// Line kinds:
//   - comments and the run summary: lines starting with '#', with two spaces, or with
//     "chaos summary", and blank lines; skipped;
//   - operation lines: "c<client> <op> = <outcome>  [<invoke>, <complete>|?]<free text>",
//     e.g. "c2 cas(k4, absent -> 'c2-1') = ok  [349521568, 355575204]  ok by 5".
// Invariant: parse_op(describe(op)) gives back op for every op describe() can print
// faithfully (keys without ',', ')' or spaces; values without quotes; complete_time 0 for
// unknown outcomes, whose completion is not printed; only the fields that matter for the
// op's kind set).
//
// Errors are values: a bad line yields its line number and what was wrong, never an
// exception.
#pragma once

#include <cstddef>
#include <istream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tests/support/linearizability.h"

namespace lincheck {

struct ParsedOp {
  std::optional<Op> op;  // set on success
  std::string error;     // why the line is not an operation, otherwise
};

// Parses one operation line (no comment handling).
ParsedOp parse_op(std::string_view line);

// Whether the line is a comment, the summary or blank (skipped by read_history).
bool is_comment_line(std::string_view line);

struct ParsedHistory {
  std::vector<Op> ops;
  size_t error_line = 0;  // 1-based; 0 when the whole input parsed
  std::string error;

  bool ok() const { return error_line == 0; }
};

// Reads every operation of a history file; stops at the first bad line.
ParsedHistory read_history(std::istream& in);

}  // namespace lincheck
