// LogReader parses a file image (segment or snapshot file) into batches of records.
//
// It never fails silently and never trusts a length: a record whose header checksum fails is
// not followed. Damage is classified the way a crash produces it:
//  - a torn tail: the file ends inside a record or inside a batch, or what follows the last
//    complete batch is zero bytes (but for a cut header), or the very last record's payload
//    checksum fails with nothing but zeros after it. read_batch() returns kEof; torn_tail() tells, and
//    valid_end() is where the good prefix ends. Only the caller knows whether this file may
//    have a torn tail (the last segment) or not (anything else: then it is corruption).
//  - corruption: anything else (a bad checksum with non-zero bytes after it, an unknown type,
//    an impossible length). read_batch() returns kCorruption and error() names the file, the
//    byte offset and the problem.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "storage/log_format.h"

namespace storage {

struct RecordView {
  uint8_t type = 0;       // RecordType, without kMoreFlag
  uint64_t offset = 0;    // of the header in the file
  uint32_t length = 0;    // payload bytes
  std::string_view payload;
};

class LogReader {
 public:
  // `data` must outlive the reader. `file` is used in messages only.
  LogReader(std::string_view data, std::string file);

  enum class Status { kBatch, kEof, kCorruption };
  // Reads the next complete batch into *batch (replacing its content).
  Status read_batch(std::vector<RecordView>* batch);

  // After kEof: whether bytes after valid_end() were ignored as a torn tail, and why.
  bool torn_tail() const { return !torn_reason_.empty(); }
  const std::string& torn_reason() const { return torn_reason_; }
  // The end of the last complete batch read so far.
  uint64_t valid_end() const { return valid_end_; }
  // After kCorruption: "<file>: offset <n>: <problem>".
  const std::string& error() const { return error_; }
  const std::string& file() const { return file_; }

 private:
  Status torn(uint64_t at, std::string reason);
  Status corrupt(uint64_t at, std::string problem);
  bool zeros_from(uint64_t at) const;

  std::string_view data_;
  std::string file_;
  uint64_t pos_ = 0;
  uint64_t valid_end_ = 0;
  std::string torn_reason_;
  std::string error_;
};

}  // namespace storage
