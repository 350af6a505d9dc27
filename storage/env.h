// Env: the small file-system interface every byte of storage/ goes through.
//
// It exists so that tests can replace the disk: FaultEnv (testing/fault_env.h) keeps files in memory,
// can fail writes the way a full disk does, and can simulate a power cut by throwing away
// everything that was not made durable with sync() / sync_dir(). The POSIX implementation
// (default_env()) is a thin layer over open/write/fdatasync/rename.
//
// Durability contract (the one FaultEnv enforces): appended bytes are durable after
// WritableFile::sync(); the existence of a file created, renamed or removed in a directory is
// durable after sync_dir() on that directory. Errors are values (raft::ErrorCode::Io) whose
// message names the path and the system error.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "raft/error.h"

namespace storage {

// A file open for appending at its end.
class WritableFile {
 public:
  virtual ~WritableFile() = default;
  // Writes all of `data` at the end of the file (one system call when the OS allows).
  virtual raft::Result<void> append(std::string_view data) = 0;
  // Makes every byte appended so far durable.
  virtual raft::Result<void> sync() = 0;
};

// A file open for positional reads.
class RandomAccessFile {
 public:
  virtual ~RandomAccessFile() = default;
  // Reads exactly n bytes at offset into *out; Io if fewer are available.
  virtual raft::Result<void> read(uint64_t offset, size_t n, std::string* out) const = 0;
};

class Env {
 public:
  virtual ~Env() = default;

  // Opens `path` for appending, creating it (empty) if it does not exist.
  virtual raft::Result<std::unique_ptr<WritableFile>> open_appendable(const std::string& path) = 0;
  virtual raft::Result<std::unique_ptr<RandomAccessFile>> open_random_access(
      const std::string& path) = 0;
  // The whole content of a file, read with as few system calls as possible.
  virtual raft::Result<std::string> read_file(const std::string& path) = 0;

  virtual bool exists(const std::string& path) = 0;
  virtual bool is_directory(const std::string& path) = 0;
  // Creates the directory (and its parents); succeeds if it already exists.
  virtual raft::Result<void> create_dirs(const std::string& path) = 0;
  // Names (not paths) of the entries of a directory, sorted.
  virtual raft::Result<std::vector<std::string>> list_dir(const std::string& dir) = 0;
  virtual raft::Result<uint64_t> file_size(const std::string& path) = 0;

  virtual raft::Result<void> rename(const std::string& from, const std::string& to) = 0;
  virtual raft::Result<void> remove_file(const std::string& path) = 0;
  // Cuts the file to `size` bytes and makes that durable.
  virtual raft::Result<void> truncate(const std::string& path, uint64_t size) = 0;
  // Makes the directory's entries (creations, renames, removals) durable.
  virtual raft::Result<void> sync_dir(const std::string& dir) = 0;
};

// The process-wide POSIX Env. Never null; not owned by the caller.
Env* default_env();

// True if `e` is an Env error caused by a full file system or an exhausted quota (ENOSPC,
// EDQUOT): the operation failed, but the same operation may succeed once space is freed.
bool is_out_of_space_error(const raft::Error& e);

// Joins two path components with one '/'.
std::string join_path(const std::string& dir, const std::string& name);

}  // namespace storage
