#include "raft/tracker/inflights.h"

#include "raft/check.h"

namespace raft {

void Inflights::add(Index last) {
  RAFT_CHECK(!full(), "cannot add %lu to a full inflight window of %zu", last, capacity_);
  if (count_ > 0) {
    const Index prev = buffer_[(start_ + count_ - 1) % buffer_.size()];
    RAFT_CHECK(last > prev, "inflight index %lu does not increase after %lu", last, prev);
  }
  if (buffer_.size() < capacity_ && count_ == buffer_.size()) {
    // Grow: unroll the ring into a larger linear buffer.
    std::vector<Index> grown;
    grown.reserve(std::min(capacity_, buffer_.size() * 2 + 4));
    for (size_t i = 0; i < count_; ++i) grown.push_back(buffer_[(start_ + i) % buffer_.size()]);
    grown.resize(grown.capacity());
    buffer_ = std::move(grown);
    start_ = 0;
  }
  buffer_[(start_ + count_) % buffer_.size()] = last;
  ++count_;
}

void Inflights::free_to(Index to) {
  while (count_ > 0 && buffer_[start_] <= to) {
    start_ = (start_ + 1) % buffer_.size();
    --count_;
  }
  if (count_ == 0) start_ = 0;
}

void Inflights::free_first_one() {
  if (count_ == 0) return;
  start_ = (start_ + 1) % buffer_.size();
  if (--count_ == 0) start_ = 0;
}

void Inflights::reset() {
  start_ = 0;
  count_ = 0;
}

}  // namespace raft
