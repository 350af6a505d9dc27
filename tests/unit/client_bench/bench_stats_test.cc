// LatencyHistogram: bucket arithmetic, exact count/min/max/mean, nearest-rank percentiles
// within the promised 1/128 relative error, and merge == recording everything in one.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include <catch2/catch.hpp>

#include "client/bench_stats.h"

using client::LatencyHistogram;

namespace {

// Nearest rank on the sorted samples: the ceil(q% * n)-th smallest, at least the first.
uint64_t exact_percentile(std::vector<uint64_t> v, double q) {
  std::sort(v.begin(), v.end());
  auto rank = static_cast<size_t>(std::ceil(q / 100.0 * static_cast<double>(v.size())));
  rank = std::clamp<size_t>(rank, 1, v.size());
  return v[rank - 1];
}

void require_close(uint64_t got, uint64_t want) {
  CAPTURE(got, want);
  const double tolerance = std::max(1.0, static_cast<double>(want) / 128.0);
  REQUIRE(std::abs(static_cast<double>(got) - static_cast<double>(want)) <= tolerance);
}

}  // namespace

TEST_CASE("an empty histogram reports zeros", "[bench_stats]") {
  LatencyHistogram h;
  REQUIRE(h.count() == 0);
  REQUIRE(h.percentile(50) == 0);
  REQUIRE(h.min() == 0);
  REQUIRE(h.max() == 0);
  REQUIRE(h.mean() == 0.0);
}

TEST_CASE("small values are kept exactly", "[bench_stats]") {
  LatencyHistogram h;
  for (uint64_t v = 0; v < 256; ++v) {
    REQUIRE(LatencyHistogram::bucket_of(v) == v);
    REQUIRE(LatencyHistogram::bucket_low(v) == v);
    REQUIRE(LatencyHistogram::bucket_high(v) == v);
  }
  for (uint64_t v = 1; v <= 100; ++v) h.record(v);
  REQUIRE(h.percentile(50) == 50);
  REQUIRE(h.percentile(99) == 99);
  REQUIRE(h.percentile(100) == 100);
  REQUIRE(h.percentile(0) == 1);
  REQUIRE(h.mean() == Approx(50.5));
}

TEST_CASE("every value falls inside its bucket and buckets tile the range without gaps", "[bench_stats]") {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 100000; ++i) {
    const uint64_t v = rng() >> (rng() % 64);
    const size_t b = LatencyHistogram::bucket_of(v);
    CAPTURE(v, b);
    REQUIRE(LatencyHistogram::bucket_low(b) <= v);
    REQUIRE(v <= LatencyHistogram::bucket_high(b));
    // relative width bound that the percentile accuracy rests on
    const uint64_t width = LatencyHistogram::bucket_high(b) - LatencyHistogram::bucket_low(b);
    REQUIRE(static_cast<double>(width) <= static_cast<double>(LatencyHistogram::bucket_low(b)) / 128.0);
  }
  for (size_t b = 0; b + 1 < 7000; ++b) {
    CAPTURE(b);
    REQUIRE(LatencyHistogram::bucket_high(b) + 1 == LatencyHistogram::bucket_low(b + 1));
  }
  REQUIRE(LatencyHistogram::bucket_high(LatencyHistogram::bucket_of(UINT64_MAX)) == UINT64_MAX);
}

TEST_CASE("percentiles match nearest rank within one part in 128", "[bench_stats]") {
  std::mt19937_64 rng(GENERATE(1, 2, 3));
  // Latency-like: a lognormal body around 1 ms and a few slow outliers.
  std::lognormal_distribution<double> body(std::log(1e6), 0.5);
  std::vector<uint64_t> samples;
  LatencyHistogram h;
  for (int i = 0; i < 50000; ++i) {
    uint64_t v = static_cast<uint64_t>(body(rng));
    if (i % 1000 == 0) v *= 50;
    samples.push_back(v);
    h.record(v);
  }
  for (double q : {1.0, 10.0, 50.0, 90.0, 99.0, 99.9, 99.99}) {
    CAPTURE(q);
    require_close(h.percentile(q), exact_percentile(samples, q));
  }
  REQUIRE(h.count() == samples.size());
  REQUIRE(h.max() == *std::max_element(samples.begin(), samples.end()));
  REQUIRE(h.min() == *std::min_element(samples.begin(), samples.end()));
  REQUIRE(h.percentile(100) == h.max());
  double sum = 0;
  for (auto v : samples) sum += static_cast<double>(v);
  REQUIRE(h.mean() == Approx(sum / static_cast<double>(samples.size())));
}

TEST_CASE("a percentile never leaves the observed range", "[bench_stats]") {
  LatencyHistogram h;
  h.record(1000001);  // alone in a bucket whose midpoint is below it
  REQUIRE(h.percentile(50) == 1000001);
  h.record(1000003);
  REQUIRE(h.percentile(1) >= 1000001);
  REQUIRE(h.percentile(100) == 1000003);
}

TEST_CASE("merging equals recording both sample sets into one histogram", "[bench_stats]") {
  std::mt19937_64 rng(11);
  LatencyHistogram a, b, both;
  for (int i = 0; i < 10000; ++i) {
    const uint64_t v = rng() % 10000000;
    (i % 3 ? a : b).record(v);
    both.record(v);
  }
  a.merge(b);
  REQUIRE(a.count() == both.count());
  REQUIRE(a.min() == both.min());
  REQUIRE(a.max() == both.max());
  REQUIRE(a.mean() == Approx(both.mean()));
  for (double q : {50.0, 90.0, 99.0, 99.9}) REQUIRE(a.percentile(q) == both.percentile(q));
  a.clear();
  REQUIRE(a.count() == 0);
  REQUIRE(a.percentile(99) == 0);
}
