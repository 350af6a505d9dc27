// LatencyHistogram: the latency record of `raftctl bench`, a log-linear histogram of
// nanosecond samples with bounded memory and bounded relative error.
//
// Values below 128 ns are kept exactly; above, each power-of-two range [2^e, 2^(e+1)) is cut
// into 128 equal buckets, so a bucket's width is at most 1/128 of its lower bound and any
// percentile read back is within 0.8% of the exact sample (nearest-rank definition). Count,
// sum, min and max are exact. Merging two histograms equals recording both sample sets into
// one, so each load-generator thread may keep its own and merge at the end. Memory is fixed
// (a few thousand counters) whatever the run length: a million-op run costs nothing extra.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace client {

class LatencyHistogram {
 public:
  LatencyHistogram();

  void record(uint64_t nanos);
  void merge(const LatencyHistogram& other);
  void clear();

  uint64_t count() const { return count_; }
  uint64_t min() const { return count_ ? min_ : 0; }
  uint64_t max() const { return max_; }
  double mean() const { return count_ ? static_cast<double>(sum_) / static_cast<double>(count_) : 0.0; }
  // Nearest-rank percentile, q in [0, 100]: the smallest recorded value v (up to the bucket
  // resolution) such that at least q% of the samples are <= v. 0 when empty. The result is
  // clamped to [min(), max()], so percentile(100) == max() exactly.
  uint64_t percentile(double q) const;

  // Bucket arithmetic, exposed for tests: index of a value, and the [low, high] range of the
  // values that share that index.
  static size_t bucket_of(uint64_t nanos);
  static uint64_t bucket_low(size_t index);
  static uint64_t bucket_high(size_t index);

 private:
  std::vector<uint64_t> buckets_;
  uint64_t count_ = 0;
  uint64_t sum_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
};

}  // namespace client
