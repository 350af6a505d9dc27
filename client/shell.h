// The `raftctl shell` protocol: one command per input line, one answer line per command.
//
//   put KEY VALUE         -> OK
//   get KEY               -> VALUE <v> | NOT_FOUND
//   del KEY               -> OK | NOT_FOUND
//   cas KEY OLD NEW       -> OK | CAS_FAIL <current or ->
// Any command can also answer FAIL <why> (definitely not applied) or UNKNOWN <why> (a write
// that may or may not have been applied). VALUE and NEW are the rest of the line after one
// space, so they may contain spaces. Blank lines and lines starting with '#' are skipped.
// In cas, OLD '-' means "the key must not exist" (as CAS_FAIL prints '-' for absent).
#pragma once

#include <iosfwd>
#include <string>

#include "client/client.h"

namespace client {

// Executes one line and returns its answer (without newline); empty for a skipped line.
std::string shell_answer(Client& c, const std::string& line);
// Runs until end of input. Returns 0.
int run_shell(Client& c, std::istream& in, std::ostream& out);

}  // namespace client
