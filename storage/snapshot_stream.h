// Snapshot files read as streams, and the descriptor that stands for a snapshot file.
//
// A snapshot can be much larger than what a node should hold twice in memory, so the transfer
// and restore paths never read a snapshot file whole:
//  - SnapshotDescriptor is what the Raft core carries in Snapshot::data when the real data is
//    a file (docs/snapshots.md): the snapshot's index and term, the file's size and the
//    XXH3-64 of its bytes. It is small, starts with a magic that no KV snapshot starts with,
//    and names exactly one file content.
//  - SnapshotFileReader walks a snapshot file (snapshot_file.h) record by record through a
//    RandomAccessFile, verifying every checksum, and hands out the data chunks one at a time.
//  - hash_file computes the descriptor's hash reading a bounded buffer at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "raft/error.h"
#include "raft/types.h"
#include "storage/env.h"

namespace storage {

struct SnapshotDescriptor {
  raft::Index index = 0;
  raft::Term term = 0;
  uint64_t file_size = 0;
  uint64_t file_hash = 0;  // XXH3-64 of the whole file
  bool operator==(const SnapshotDescriptor&) const = default;
};

std::string encode_snapshot_descriptor(const SnapshotDescriptor& d);
// nullopt unless `data` is exactly an encoded descriptor.
std::optional<SnapshotDescriptor> decode_snapshot_descriptor(std::string_view data);

// XXH3-64 of the file's bytes and its size, read `buffer_bytes` at a time.
raft::Result<std::pair<uint64_t, uint64_t>> hash_file(Env& env, const std::string& path,
                                                      size_t buffer_bytes = 1u << 20);

class SnapshotFileReader {
 public:
  // Opens `path` and reads its metadata record. Io naming the file if it is not a snapshot.
  static raft::Result<std::unique_ptr<SnapshotFileReader>> open(Env& env, const std::string& path);

  const raft::SnapshotMetadata& metadata() const { return metadata_; }
  // The next chunk of application data in *chunk; false at the end (then check error()).
  bool next(std::string* chunk);
  // Empty unless the file turned out damaged (a bad checksum, a torn end, trailing bytes).
  const std::optional<raft::Error>& error() const { return error_; }

 private:
  SnapshotFileReader(std::unique_ptr<RandomAccessFile> file, std::string path, uint64_t size)
      : file_(std::move(file)), path_(std::move(path)), size_(size) {}
  // Reads the record at pos_ (header and payload, checksums verified).
  bool read_record(uint8_t* type, bool* more, std::string* payload);
  bool fail(const std::string& what);

  std::unique_ptr<RandomAccessFile> file_;
  std::string path_;
  uint64_t size_;
  uint64_t pos_ = 0;
  bool more_ = true;  // the last record read had kMoreFlag: the batch goes on
  raft::SnapshotMetadata metadata_;
  std::optional<raft::Error> error_;
};

// Reads the whole file through SnapshotFileReader, discarding the data: its metadata if the
// file is a complete, undamaged snapshot file, Io otherwise.
raft::Result<raft::SnapshotMetadata> verify_snapshot_file(Env& env, const std::string& path);

}  // namespace storage
