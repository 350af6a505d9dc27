#include "tests/support/history_file.h"

#include <charconv>

namespace lincheck {
namespace {

// A cursor over one line; every reader returns false (and leaves an error) on a mismatch.
class Scanner {
 public:
  explicit Scanner(std::string_view s) : s_(s) {}

  bool literal(std::string_view lit) {
    if (s_.substr(pos_, lit.size()) != lit) return fail("expected \"" + std::string(lit) + "\"");
    pos_ += lit.size();
    return true;
  }

  bool number(uint64_t& out) {
    const char* first = s_.data() + pos_;
    const char* last = s_.data() + s_.size();
    auto [p, ec] = std::from_chars(first, last, out);
    if (ec != std::errc() || p == first) return fail("expected a number");
    pos_ += static_cast<size_t>(p - first);
    return true;
  }

  // Characters up to (not including) the first of `stops`; at least one.
  bool token(std::string_view stops, std::string& out) {
    const size_t end = s_.find_first_of(stops, pos_);
    if (end == std::string_view::npos || end == pos_) return fail("expected a key");
    out.assign(s_.substr(pos_, end - pos_));
    pos_ = end;
    return true;
  }

  // 'text' or absent.
  bool value(std::optional<std::string>& out) {
    if (s_.substr(pos_, 6) == "absent") {
      pos_ += 6;
      out.reset();
      return true;
    }
    std::string v;
    if (!quoted(v)) return false;
    out = std::move(v);
    return true;
  }

  bool quoted(std::string& out) {
    if (!literal("'")) return fail("expected a quoted value or absent");
    const size_t end = s_.find('\'', pos_);
    if (end == std::string_view::npos) return fail("unterminated quoted value");
    out.assign(s_.substr(pos_, end - pos_));
    pos_ = end + 1;
    return true;
  }

  bool at(std::string_view lit) const { return s_.substr(pos_, lit.size()) == lit; }
  size_t pos() const { return pos_; }
  const std::string& error() const { return error_; }

 private:
  bool fail(std::string what) {
    if (error_.empty()) error_ = what + " at column " + std::to_string(pos_ + 1);
    return false;
  }

  std::string_view s_;
  size_t pos_ = 0;
  std::string error_;
};

bool parse_call(Scanner& sc, Op& op) {
  if (sc.at("put(")) {
    op.kind = OpKind::Put;
    return sc.literal("put(") && sc.token(",) ", op.key) && sc.literal(", ") && sc.quoted(op.input) &&
           sc.literal(")");
  }
  if (sc.at("del(")) {
    op.kind = OpKind::Del;
    return sc.literal("del(") && sc.token(",) ", op.key) && sc.literal(")");
  }
  if (sc.at("get(")) {
    op.kind = OpKind::Get;
    return sc.literal("get(") && sc.token(",) ", op.key) && sc.literal(") -> ") && sc.value(op.output);
  }
  if (sc.at("cas(")) {
    op.kind = OpKind::Cas;
    return sc.literal("cas(") && sc.token(",) ", op.key) && sc.literal(", ") && sc.value(op.expected) &&
           sc.literal(" -> ") && sc.quoted(op.input) && sc.literal(")");
  }
  return sc.literal("put(, get(, cas( or del(");
}

bool parse_outcome(Scanner& sc, Outcome& o) {
  if (sc.at("ok")) {
    o = Outcome::Ok;
    return sc.literal("ok");
  }
  if (sc.at("fail")) {
    o = Outcome::Fail;
    return sc.literal("fail");
  }
  if (sc.at("unknown")) {
    o = Outcome::Unknown;
    return sc.literal("unknown");
  }
  return sc.literal("ok, fail or unknown");
}

}  // namespace

bool is_comment_line(std::string_view line) {
  if (line.empty() || line[0] == '#' || line.starts_with("  ") || line.starts_with("chaos summary"))
    return true;
  return line.find_first_not_of(" \t\r") == std::string_view::npos;
}

ParsedOp parse_op(std::string_view line) {
  ParsedOp r;
  Scanner sc(line);
  Op op;
  bool ok = sc.literal("c") && sc.number(op.client) && sc.literal(" ") && parse_call(sc, op) &&
            sc.literal(" = ") && parse_outcome(sc, op.outcome) && sc.literal("  [") &&
            sc.number(op.invoke_time) && sc.literal(", ");
  if (ok) {
    if (op.outcome == Outcome::Unknown) {
      ok = sc.literal("?");
    } else {
      ok = sc.number(op.complete_time);
    }
  }
  ok = ok && sc.literal("]");
  if (!ok) {
    r.error = sc.error();
    return r;
  }
  // Everything after ']' is the client's free-text detail.
  r.op = std::move(op);
  return r;
}

ParsedHistory read_history(std::istream& in) {
  ParsedHistory h;
  std::string line;
  size_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (is_comment_line(line)) continue;
    ParsedOp p = parse_op(line);
    if (!p.op) {
      h.error_line = number;
      h.error = p.error;
      return h;
    }
    h.ops.push_back(std::move(*p.op));
  }
  return h;
}

}  // namespace lincheck
