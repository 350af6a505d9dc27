// The on-disk constants of the write-ahead log and snapshot files (docs/log_format.md is the
// full specification; this header holds only the numbers it names).
//
// A file is a sequence of records. Each record is a 13-byte header followed by its payload:
//
//   offset 0  u32 header checksum   low 32 bits of XXH3-64 over bytes 4..12 of the header
//   offset 4  u32 payload checksum  low 32 bits of XXH3-64 over the payload
//   offset 8  u32 payload length    at most kMaxPayloadBytes
//   offset 12 u8  type              RecordType in the low 7 bits, kMoreFlag in the top bit
//
// All integers are little-endian. Records are grouped into batches: every record of a batch
// but the last carries kMoreFlag, so a batch (one persist call) is applied all or nothing.
#pragma once

#include <cstddef>
#include <cstdint>

namespace storage {

inline constexpr size_t kHeaderSize = 13;
inline constexpr uint32_t kMaxPayloadBytes = 1u << 30;

// Set on every record of a batch except the last one.
inline constexpr uint8_t kMoreFlag = 0x80;
inline constexpr uint8_t kTypeMask = 0x7f;

enum class RecordType : uint8_t {
  // 0 is never written: an all-zero header is what a preallocated or lost page looks like.
  kZero = 0,
  kSegmentHeader = 1,   // first record of every segment: magic, version, seq, log bounds
  kEntries = 2,         // a run of consecutive entries; replaces any suffix from its first index
  kHardState = 3,       // term, vote, commit
  kSnapshotMarker = 4,  // index, term, ConfState of the snapshot now in force
  kLogStart = 5,        // entries before first_index are discarded (or all of them: reset)
  kSnapshotMeta = 6,    // snapshot files only: magic, index, term, ConfState
  kSnapshotData = 7,    // snapshot files only: a chunk of the application data
};
inline constexpr uint8_t kMaxRecordType = 7;

inline constexpr uint32_t kSegmentMagic = 0x4c41574bu;   // "KWAL" read as little-endian bytes
inline constexpr uint32_t kSnapshotMagic = 0x50414e53u;  // "SNAP"
inline constexpr uint32_t kFormatVersion = 1;

// Snapshot data is split into chunks so that no record comes near kMaxPayloadBytes.
inline constexpr size_t kSnapshotChunkBytes = 16u << 20;

}  // namespace storage
