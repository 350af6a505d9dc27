#include "tests/support/datadriven.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <utility>

namespace datadriven {

namespace {

constexpr const char* kSeparator = "----";

std::string trim_trailing_newlines(std::string s) {
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

// Splits "cmd a k=v k=(x,y)" into the command and its arguments.
void parse_command(const std::string& line, Directive* d) {
  std::vector<std::string> tokens;
  std::string cur;
  int depth = 0;
  for (char c : line) {
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if (c == ' ' && depth == 0) {
      if (!cur.empty()) tokens.push_back(std::exchange(cur, {}));
      continue;
    }
    cur += c;
  }
  if (!cur.empty()) tokens.push_back(cur);
  if (depth != 0) throw std::runtime_error(d->pos + ": unbalanced parentheses");
  d->cmd = tokens.front();
  for (size_t i = 1; i < tokens.size(); ++i) {
    Arg a;
    const auto eq = tokens[i].find('=');
    a.key = tokens[i].substr(0, eq);
    if (eq != std::string::npos) {
      std::string v = tokens[i].substr(eq + 1);
      if (v.size() >= 2 && v.front() == '(' && v.back() == ')') {
        std::stringstream list(v.substr(1, v.size() - 2));
        for (std::string item; std::getline(list, item, ',');) {
          item.erase(0, item.find_first_not_of(' '));
          a.values.push_back(item);
        }
      } else {
        a.values.push_back(v);
      }
    }
    d->args.push_back(std::move(a));
  }
}

void write_output(std::ostringstream& out, const std::string& actual) {
  if (actual.find("\n\n") != std::string::npos) {
    out << kSeparator << "\n" << kSeparator << "\n" << actual << "\n" << kSeparator << "\n" << kSeparator << "\n";
  } else {
    out << kSeparator << "\n" << actual << "\n";
  }
}

}  // namespace

bool Directive::has(const std::string& key) const {
  return std::any_of(args.begin(), args.end(), [&](const Arg& a) { return a.key == key; });
}

const std::vector<std::string>& Directive::values(const std::string& key) const {
  for (const auto& a : args)
    if (a.key == key) return a.values;
  throw std::runtime_error(pos + ": " + cmd + " needs " + key + "=");
}

std::string Directive::value(const std::string& key, const std::string& fallback) const {
  if (!has(key)) return fallback;
  const auto& v = values(key);
  if (v.size() != 1) throw std::runtime_error(pos + ": " + key + " takes one value");
  return v[0];
}

uint64_t Directive::number(const std::string& key, uint64_t fallback) const {
  if (!has(key)) return fallback;
  const std::string v = value(key);
  size_t used = 0;
  const uint64_t n = std::stoull(v, &used);
  if (used != v.size()) throw std::runtime_error(pos + ": " + key + "=" + v + " is not a number");
  return n;
}

std::vector<std::string> run_file(const std::string& path, const std::function<std::string(const Directive&)>& handler) {
  std::ifstream in(path);
  if (!in) return {path + ": cannot be read"};
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  const char* rewrite_env = std::getenv("REWRITE");
  const bool rewrite = rewrite_env && std::string(rewrite_env) == "1";

  std::vector<std::string> errors;      // reported even under REWRITE
  std::vector<std::string> mismatches;  // outputs that differ
  std::ostringstream out;  // the rewritten file
  size_t i = 0;
  while (i < lines.size()) {
    const std::string& line = lines[i];
    if (line.empty() || line[0] == '#') {
      out << line << "\n";
      ++i;
      continue;
    }
    Directive d;
    d.pos = path + ":" + std::to_string(i + 1);
    parse_command(line, &d);
    out << line << "\n";
    ++i;
    while (i < lines.size() && lines[i] != kSeparator) {
      d.input += lines[i] + "\n";
      out << lines[i] << "\n";
      ++i;
    }
    if (i == lines.size()) {
      errors.push_back(d.pos + ": no \"----\" after the command");
      break;
    }
    ++i;  // the separator
    std::string expected;
    if (i < lines.size() && lines[i] == kSeparator) {
      // Double-separator block: up to "----\n----".
      ++i;
      while (i + 1 < lines.size() && !(lines[i] == kSeparator && lines[i + 1] == kSeparator)) expected += lines[i++] + "\n";
      i += 2;
    } else {
      while (i < lines.size() && !lines[i].empty()) expected += lines[i++] + "\n";
    }
    d.expected = trim_trailing_newlines(expected);
    std::string actual;
    try {
      actual = trim_trailing_newlines(handler(d));
    } catch (const std::exception& e) {
      errors.push_back(d.pos + ": " + d.cmd + " threw: " + e.what());
      actual = d.expected;  // keep the file as it was
    }
    write_output(out, actual);
    if (actual != d.expected && !rewrite) {
      mismatches.push_back(d.pos + ": " + line + "\n  expected:\n" + d.expected + "\n  actual:\n" + actual);
    }
  }
  if (rewrite) {
    if (errors.empty()) std::ofstream(path, std::ios::trunc) << out.str();
    return errors;
  }
  errors.insert(errors.end(), mismatches.begin(), mismatches.end());
  return errors;
}

std::vector<std::string> files_in(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.is_regular_file() && e.path().extension() == ".txt") out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace datadriven
