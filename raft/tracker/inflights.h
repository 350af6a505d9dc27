// Inflights: the window of appends sent to one follower and not yet acknowledged, used for
// flow control in the replicate state. Each in-flight append is remembered by the last
// index it carried; an acknowledgement up to index i frees every append ending at or before i.
//
// Invariant: indexes in the window are strictly increasing; count() <= capacity().
#pragma once

#include <cstddef>
#include <vector>

#include "raft/types.h"

namespace raft {

class Inflights {
 public:
  explicit Inflights(size_t capacity) : capacity_(capacity) {}

  // Records an append whose last entry is `last`. Panics if the window is full or `last`
  // does not increase.
  void add(Index last);
  // Frees every append whose last index is <= to.
  void free_to(Index to);
  void free_first_one();
  void reset();

  bool full() const { return count_ == capacity_; }
  size_t count() const { return count_; }
  size_t capacity() const { return capacity_; }

 private:
  size_t capacity_;
  // Ring buffer, grown lazily: most followers never fill the window.
  std::vector<Index> buffer_;
  size_t start_ = 0;
  size_t count_ = 0;
};

}  // namespace raft
