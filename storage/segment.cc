#include "storage/segment.h"

#include "raft/check.h"

namespace storage {
namespace {

bool parse_digits(const std::string& s, size_t from, size_t n, uint64_t* v) {
  *v = 0;
  for (size_t i = from; i < from + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    const uint64_t d = static_cast<uint64_t>(s[i] - '0');
    if (*v > (UINT64_MAX - d) / 10) return false;
    *v = *v * 10 + d;
  }
  return true;
}

}  // namespace

std::string segment_name(uint64_t seq, raft::Index next_index) {
  return raft::format("%020lu-%020lu.wal", seq, next_index);
}

bool parse_segment_name(const std::string& name, uint64_t* seq, raft::Index* next_index) {
  // 20 digits, '-', 20 digits, ".wal"
  if (name.size() != 45 || name[20] != '-' || name.compare(41, 4, ".wal") != 0) return false;
  return parse_digits(name, 0, 20, seq) && parse_digits(name, 21, 20, next_index) && *seq > 0;
}

}  // namespace storage
