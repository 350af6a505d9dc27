// LogWriter frames records (log_format.h) into batches and appends them to one file.
//
// A batch is built with add() ... end_batch() and reaches the file with write(): one append
// system call however many records and batches are pending, which is what makes one Ready
// cost one write. sync() then makes it durable. The writer remembers the file offset of every
// record it frames, so the caller can index entries without reading them back.
//
// Invariant: size() is the file's length after every successful write(); after a failed
// write() the file's tail is unknown and the writer must not be used again, unless the
// caller cuts the file back to size() first (DiskStorage does so on a full disk).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "storage/env.h"
#include "storage/log_format.h"

namespace storage {

// Appends one framed record to *out. `more` marks a record that is not the last of its batch.
void encode_record(RecordType type, bool more, std::string_view payload, std::string* out);

// Checksum used for both header and payload: low 32 bits of XXH3-64.
uint32_t checksum(const char* data, size_t n);

class LogWriter {
 public:
  // `size` is the current length of the file (appends go after it).
  LogWriter(std::unique_ptr<WritableFile> file, uint64_t size);

  // Frames a record into the pending batch and returns the file offset it will occupy.
  uint64_t add(RecordType type, std::string_view payload);
  // Closes the pending batch: its last record loses the "more" flag. No-op if empty.
  void end_batch();
  // Appends everything pending in one call. Panics if a batch is still open.
  raft::Result<void> write();
  raft::Result<void> sync();

  uint64_t size() const { return size_; }

 private:
  // Constant after construction
  std::unique_ptr<WritableFile> file_;

  uint64_t size_;
  std::string buf_;
  // Position in buf_ of the last record added to the open batch, or npos when none is open.
  size_t open_record_ = std::string::npos;
};

}  // namespace storage
