// SnapshotStreamWriter: writes a snapshot file (snapshot_file.h format: one batch of a
// kSnapshotMeta record then kSnapshotData records) from data handed over piece by piece, so
// that a large state is never built as one string. Only the current chunk is buffered.
//
// It is what a forked child uses to write a snapshot off the node's loop (node/
// snapshot_taker.h), so it uses nothing but plain system calls on one file descriptor: no
// Env, no logging, no locks shared with other threads of the parent. Errors are reported as
// errno values. The caller names the file (normally snap/<index>.snap.tmp) and makes it
// visible by a rename once finish() succeeded; a file that was not finished is garbage.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "raft/types.h"
#include "storage/log_format.h"

namespace storage {

class SnapshotStreamWriter {
 public:
  // Data chunk size: a chunk is buffered whole before it is written.
  static constexpr size_t kChunkBytes = 1u << 20;

  SnapshotStreamWriter() = default;
  SnapshotStreamWriter(const SnapshotStreamWriter&) = delete;
  SnapshotStreamWriter& operator=(const SnapshotStreamWriter&) = delete;
  ~SnapshotStreamWriter();

  // Creates (truncating) `path` and writes the metadata record. 0 or an errno value.
  int open(const std::string& path, const raft::SnapshotMetadata& metadata);
  // Appends application data. 0 or an errno value (then the writer is failed for good).
  int append(std::string_view data);
  // Writes the last record, then fdatasync (when sync) and close. When `rename_to` is not
  // empty the file is then renamed to it and (when sync) its folder synced, so that the
  // file is complete and durable under its final name. 0 or an errno value.
  int finish(bool sync, const std::string& rename_to = "");

  uint64_t bytes_written() const { return written_; }

 private:
  int emit(std::string_view payload, bool more, RecordType type = RecordType::kSnapshotData);
  int write_all(std::string_view bytes);

  std::string path_;
  int fd_ = -1;
  int error_ = 0;
  std::string pending_;  // data not yet framed (at most one chunk plus the last append)
  std::string frame_;    // one encoded record, reused
  uint64_t written_ = 0;
};

}  // namespace storage
