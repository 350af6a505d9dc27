// TriggerFaultEnv: an Env wrapper for tests of whole raft-node processes (test-only), whose
// faults are switched on and off from outside the process by creating and removing files.
//
// It forwards every call to a base Env (normally default_env()) and adds, while the named
// trigger file exists:
//  - fsync_delay_file: every sync() and sync_dir() first sleeps for the number of
//    milliseconds written in the file (a stalling disk);
//  - fsync_fail_file: every sync() and sync_dir() fails with EIO (a dying disk);
//  - disk_full_file: every append fails with ENOSPC without writing anything (a full disk,
//    for machines where a small file system cannot be mounted).
// An empty path disables that fault. The trigger files are checked with one stat() per call,
// which is noise next to an fsync. node/main.cc builds one from RAFT_TEST_* environment
// variables; production never does.
#pragma once

#include <memory>
#include <string>

#include "storage/env.h"

namespace storage {

struct TriggerFiles {
  std::string fsync_delay_file;
  std::string fsync_fail_file;
  std::string disk_full_file;

  bool any() const { return !fsync_delay_file.empty() || !fsync_fail_file.empty() || !disk_full_file.empty(); }
};

class TriggerFaultEnv final : public Env {
 public:
  // `base` must outlive this Env.
  TriggerFaultEnv(Env* base, TriggerFiles triggers);

  // The fault a sync (or sync_dir) of `path` must suffer now: sleeps if asked, then returns
  // an EIO error if asked. Used by the wrapped files too.
  raft::Result<void> before_sync(const std::string& path) const;
  // ENOSPC error if the disk is "full" now.
  raft::Result<void> before_append(const std::string& path) const;

  raft::Result<std::unique_ptr<WritableFile>> open_appendable(const std::string& path) override;
  raft::Result<std::unique_ptr<RandomAccessFile>> open_random_access(const std::string& path) override {
    return base_->open_random_access(path);
  }
  raft::Result<std::string> read_file(const std::string& path) override { return base_->read_file(path); }
  bool exists(const std::string& path) override { return base_->exists(path); }
  bool is_directory(const std::string& path) override { return base_->is_directory(path); }
  raft::Result<void> create_dirs(const std::string& path) override { return base_->create_dirs(path); }
  raft::Result<std::vector<std::string>> list_dir(const std::string& dir) override { return base_->list_dir(dir); }
  raft::Result<uint64_t> file_size(const std::string& path) override { return base_->file_size(path); }
  raft::Result<void> rename(const std::string& from, const std::string& to) override {
    return base_->rename(from, to);
  }
  raft::Result<void> remove_file(const std::string& path) override { return base_->remove_file(path); }
  raft::Result<void> truncate(const std::string& path, uint64_t size) override {
    return base_->truncate(path, size);
  }
  raft::Result<void> sync_dir(const std::string& dir) override;

 private:
  // Constant after construction
  Env* base_;
  TriggerFiles triggers_;
};

}  // namespace storage
