#include "tests/sim/kv_app.h"

namespace sim {
namespace {

// A tiny length-prefixed text encoding: numbers as "123;", strings as "5:hello".
void put_u64(std::string& out, uint64_t v) {
  out += std::to_string(v);
  out.push_back(';');
}

void put_str(std::string& out, const std::string& s) {
  out += std::to_string(s.size());
  out.push_back(':');
  out += s;
}

bool get_u64(const std::string& in, size_t& pos, uint64_t& v) {
  const size_t end = in.find(';', pos);
  if (end == std::string::npos || end == pos || end - pos > 20) return false;
  v = 0;
  for (size_t i = pos; i < end; ++i) {
    if (in[i] < '0' || in[i] > '9') return false;
    v = v * 10 + static_cast<uint64_t>(in[i] - '0');
  }
  pos = end + 1;
  return true;
}

bool get_str(const std::string& in, size_t& pos, std::string& s) {
  const size_t colon = in.find(':', pos);
  if (colon == std::string::npos || colon == pos || colon - pos > 20) return false;
  uint64_t n = 0;
  for (size_t i = pos; i < colon; ++i) {
    if (in[i] < '0' || in[i] > '9') return false;
    n = n * 10 + static_cast<uint64_t>(in[i] - '0');
  }
  if (n > in.size() - colon - 1) return false;
  s = in.substr(colon + 1, n);
  pos = colon + 1 + n;
  return true;
}

constexpr char kCommandTag = 'C';
constexpr char kSnapshotTag = 'S';

}  // namespace

std::string encode(const Command& c) {
  std::string out(1, kCommandTag);
  put_u64(out, c.client);
  put_u64(out, c.seq);
  put_u64(out, static_cast<uint64_t>(c.kind));
  put_str(out, c.key);
  put_str(out, c.value);
  put_u64(out, c.expected ? 1 : 0);
  if (c.expected) put_str(out, *c.expected);
  return out;
}

std::optional<Command> decode_command(const std::string& data) {
  if (data.empty() || data[0] != kCommandTag) return std::nullopt;
  Command c;
  size_t pos = 1;
  uint64_t kind = 0, has_expected = 0;
  if (!get_u64(data, pos, c.client) || !get_u64(data, pos, c.seq) || !get_u64(data, pos, kind) ||
      kind > 3 || !get_str(data, pos, c.key) || !get_str(data, pos, c.value) ||
      !get_u64(data, pos, has_expected)) {
    return std::nullopt;
  }
  c.kind = static_cast<lincheck::OpKind>(kind);
  if (has_expected) {
    std::string e;
    if (!get_str(data, pos, e)) return std::nullopt;
    c.expected = std::move(e);
  }
  if (pos != data.size()) return std::nullopt;
  return c;
}

ApplyResult KvApp::apply(const Command& c) {
  ApplyResult r;
  uint64_t& last = last_seq_[c.client];
  if (c.seq <= last) {
    r.duplicate = true;
    return r;
  }
  last = c.seq;
  switch (c.kind) {
    case lincheck::OpKind::Put: kv_[c.key] = c.value; break;
    case lincheck::OpKind::Del: kv_.erase(c.key); break;
    case lincheck::OpKind::Cas:
      if (get(c.key) == c.expected) {
        kv_[c.key] = c.value;
      } else {
        r.ok = false;
      }
      break;
    case lincheck::OpKind::Get: break;  // reads never go through the log here
  }
  return r;
}

std::optional<std::string> KvApp::get(const std::string& key) const {
  auto it = kv_.find(key);
  if (it == kv_.end()) return std::nullopt;
  return it->second;
}

std::string KvApp::snapshot() const {
  std::string out(1, kSnapshotTag);
  put_u64(out, kv_.size());
  for (const auto& [k, v] : kv_) {
    put_str(out, k);
    put_str(out, v);
  }
  put_u64(out, last_seq_.size());
  for (const auto& [c, s] : last_seq_) {
    put_u64(out, c);
    put_u64(out, s);
  }
  return out;
}

std::optional<KvApp> KvApp::restore(const std::string& data) {
  if (data.empty() || data[0] != kSnapshotTag) return std::nullopt;
  KvApp app;
  size_t pos = 1;
  uint64_t n = 0;
  if (!get_u64(data, pos, n)) return std::nullopt;
  for (uint64_t i = 0; i < n; ++i) {
    std::string k, v;
    if (!get_str(data, pos, k) || !get_str(data, pos, v)) return std::nullopt;
    app.kv_[k] = v;
  }
  if (!get_u64(data, pos, n)) return std::nullopt;
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t c = 0, s = 0;
    if (!get_u64(data, pos, c) || !get_u64(data, pos, s)) return std::nullopt;
    app.last_seq_[c] = s;
  }
  if (pos != data.size()) return std::nullopt;
  return app;
}

}  // namespace sim
