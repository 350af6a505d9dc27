// Segment: one file of the write-ahead log.
//
// Naming: wal/<seq>-<next_index>.wal, both numbers in 20 decimal digits so that names sort
// in order. seq numbers the segments 1, 2, 3, ... without gaps (a gap means a lost file);
// next_index is last_index + 1 of the log when the segment was started, for operators (the
// segment's first record restates the log bounds authoritatively). Only the segment with the
// highest seq is ever appended to; it is started afresh when it passes Options::segment_bytes,
// after the previous one has been synced, so every other segment is complete and any damage
// in it is corruption, never a torn write.
//
// Every segment opens with a batch that restates the state of the stream at that point (a
// SegmentHeader with the log bounds, the hard state, the snapshot marker), so the segments
// before any segment can be deleted without losing anything but entries that were compacted.
#pragma once

#include <cstdint>
#include <string>

#include "raft/types.h"

namespace storage {

struct SegmentFile {
  uint64_t seq = 0;
  raft::Index next_index = 0;
  std::string path;
  uint64_t size = 0;
};

std::string segment_name(uint64_t seq, raft::Index next_index);
// Parses a name made by segment_name; false for anything else.
bool parse_segment_name(const std::string& name, uint64_t* seq, raft::Index* next_index);

}  // namespace storage
