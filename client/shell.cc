#include "client/shell.h"

#include <iostream>

namespace client {
namespace {

// Splits off the first space-separated word of `rest` (leading spaces skipped).
std::string next_word(std::string& rest) {
  const size_t start = rest.find_first_not_of(' ');
  if (start == std::string::npos) {
    rest.clear();
    return {};
  }
  const size_t end = rest.find(' ', start);
  std::string word = rest.substr(start, end == std::string::npos ? std::string::npos : end - start);
  rest = end == std::string::npos ? std::string() : rest.substr(end + 1);
  return word;
}

std::string answer(const Result& r, bool is_get) {
  switch (r.outcome) {
    case Outcome::Ok: return is_get ? "VALUE " + r.value : "OK";
    case Outcome::NotFound: return "NOT_FOUND";
    case Outcome::CasFailed: return "CAS_FAIL " + (r.value_present ? r.value : std::string("-"));
    case Outcome::Unknown: return "UNKNOWN " + r.error;
    case Outcome::Unavailable:
    case Outcome::Rejected: return "FAIL " + r.error;
  }
  return "FAIL internal error";
}

}  // namespace

std::string shell_answer(Client& c, const std::string& raw) {
  std::string line = raw;
  if (!line.empty() && line.back() == '\r') line.pop_back();
  std::string rest = line;
  const std::string cmd = next_word(rest);
  if (cmd.empty() || cmd[0] == '#') return {};
  if (cmd == "put") {
    const std::string key = next_word(rest);
    if (key.empty()) return "FAIL usage: put KEY VALUE";
    return answer(c.put(key, rest), false);
  }
  if (cmd == "get") {
    const std::string key = next_word(rest);
    if (key.empty() || !rest.empty()) return "FAIL usage: get KEY";
    return answer(c.get(key, false), true);
  }
  if (cmd == "del") {
    const std::string key = next_word(rest);
    if (key.empty() || !rest.empty()) return "FAIL usage: del KEY";
    return answer(c.del(key), false);
  }
  if (cmd == "cas") {
    const std::string key = next_word(rest);
    const std::string old = next_word(rest);
    if (key.empty() || old.empty()) return "FAIL usage: cas KEY OLD NEW";
    return answer(c.cas(key, old, old == "-", rest), false);
  }
  return "FAIL unknown command '" + cmd + "' (put, get, del, cas)";
}

int run_shell(Client& c, std::istream& in, std::ostream& out) {
  std::string line;
  while (std::getline(in, line)) {
    const std::string a = shell_answer(c, line);
    if (a.empty()) continue;
    out << a << std::endl;  // flush: a script may wait for each answer
  }
  return 0;
}

}  // namespace client
