#include "node/snapshot_policy.h"

#include <algorithm>
#include <cmath>

namespace node {

double SnapshotPolicy::stagger(uint64_t id) {
  // The fractional parts of id * golden ratio are spread evenly over [0, 1) for consecutive
  // ids (ids 1..5: 0.62, 0.24, 0.85, 0.47, 0.09), so any handful of members gets distinct,
  // well separated factors.
  const double golden = 0.6180339887498949;
  const double frac = std::fmod(static_cast<double>(id % (uint64_t{1} << 52)) * golden, 1.0);
  return 1.0 + frac / 2;
}

SnapshotPolicy SnapshotPolicy::for_member(uint64_t id, uint64_t snapshot_entries, uint64_t snapshot_log_mb) {
  const double f = stagger(id);
  SnapshotPolicy p;
  p.entries = std::max<uint64_t>(1, static_cast<uint64_t>(static_cast<double>(snapshot_entries) * f));
  p.log_bytes = std::max<uint64_t>(1, static_cast<uint64_t>(static_cast<double>(snapshot_log_mb) * f * (1u << 20)));
  return p;
}

}  // namespace node
