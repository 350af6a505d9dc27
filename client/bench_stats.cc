#include "client/bench_stats.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace client {
namespace {

constexpr unsigned kSubBits = 7;
constexpr uint64_t kSub = uint64_t{1} << kSubBits;  // buckets per power of two
// Highest index: values with their top bit at 63.
constexpr size_t kBucketCount = (63 - kSubBits + 2) * kSub;

}  // namespace

LatencyHistogram::LatencyHistogram() : buckets_(kBucketCount, 0) {}

size_t LatencyHistogram::bucket_of(uint64_t v) {
  if (v < kSub) return static_cast<size_t>(v);
  const unsigned e = 63 - static_cast<unsigned>(std::countl_zero(v));  // e >= kSubBits
  const unsigned shift = e - kSubBits;
  const uint64_t m = v >> shift;  // in [kSub, 2 * kSub)
  return static_cast<size_t>((e - kSubBits + 1) * kSub + (m - kSub));
}

uint64_t LatencyHistogram::bucket_low(size_t index) {
  if (index < kSub) return index;
  const uint64_t group = index / kSub;  // >= 1; the top bit of the values is group + kSubBits - 1
  const unsigned shift = static_cast<unsigned>(group - 1);
  const uint64_t m = kSub + index % kSub;
  return m << shift;
}

uint64_t LatencyHistogram::bucket_high(size_t index) {
  if (index < kSub) return index;
  const unsigned shift = static_cast<unsigned>(index / kSub - 1);
  return bucket_low(index) + ((uint64_t{1} << shift) - 1);
}

void LatencyHistogram::record(uint64_t nanos) {
  ++buckets_[bucket_of(nanos)];
  ++count_;
  sum_ += nanos;
  min_ = std::min(min_, nanos);
  max_ = std::max(max_, nanos);
}

void LatencyHistogram::merge(const LatencyHistogram& other) {
  for (size_t i = 0; i < buckets_.size(); ++i) buckets_[i] += other.buckets_[i];
  count_ += other.count_;
  sum_ += other.sum_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
}

void LatencyHistogram::clear() {
  std::fill(buckets_.begin(), buckets_.end(), 0);
  count_ = sum_ = max_ = 0;
  min_ = UINT64_MAX;
}

uint64_t LatencyHistogram::percentile(double q) const {
  if (count_ == 0) return 0;
  q = std::clamp(q, 0.0, 100.0);
  // Nearest rank: the ceil(q% of n)-th smallest sample, at least the first.
  uint64_t rank = static_cast<uint64_t>(std::ceil(q / 100.0 * static_cast<double>(count_)));
  rank = std::clamp<uint64_t>(rank, 1, count_);
  uint64_t seen = 0;
  for (size_t i = 0; i < buckets_.size(); ++i) {
    seen += buckets_[i];
    if (seen >= rank) {
      const uint64_t low = bucket_low(i), high = bucket_high(i);
      const uint64_t mid = low + (high - low) / 2;
      return std::clamp(mid, min(), max_);
    }
  }
  return max_;
}

}  // namespace client
