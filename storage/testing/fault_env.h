// FaultEnv: an in-memory Env for tests that can lose what a power cut loses and can fail
// writes the way a full disk does.
//
// Model: each file (inode) has its current bytes and its durable bytes; sync() copies the
// first to the second. Each directory has its current entries and its durable entries;
// sync_dir() copies those. power_cut() brings every directory back to its durable entries and
// every file back to its durable bytes, optionally keeping a random part of the unsynced tail
// (a torn write) or zero-filling it (the size reached the disk, the data pages did not).
// Directories themselves are durable as soon as they are created.
//
// Not thread-safe: tests drive it from one thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <string>

#include "storage/env.h"

namespace storage {

class FaultEnv final : public Env {
 public:
  FaultEnv() = default;

  // --- Fault knobs ---

  // Lets `bytes` more bytes be appended (over all files); the append that crosses the limit
  // writes the part that fits and fails with `err` (ENOSPC by default), as do all after it.
  void fail_writes_after(uint64_t bytes, int err = 28 /* ENOSPC */);
  // Every sync() and sync_dir() fails with EIO while set.
  void set_fail_syncs(bool fail) { fail_syncs_ = fail; }
  // Every rename() fails with EIO while set (a crash between writing a file and renaming it).
  void set_fail_renames(bool fail) { fail_renames_ = fail; }
  void clear_faults();

  enum class CutMode {
    kDropUnsynced,   // every unsynced byte disappears
    kTornTail,       // a random prefix of each file's unsynced bytes survives
    kZeroTail,       // a random prefix survives and the rest of the unsynced length reads as zeros
  };
  // Forgets everything that was not made durable. rng is required for the random modes.
  void power_cut(CutMode mode = CutMode::kDropUnsynced, std::mt19937_64* rng = nullptr);

  // --- Test helpers ---

  // The current bytes of a file ("" if missing).
  std::string contents(const std::string& path) const;
  // Replaces a file's bytes (current and durable), creating it durably if needed.
  void set_contents(const std::string& path, std::string data);
  uint64_t sync_count() const { return syncs_; }

  // --- Env ---
  raft::Result<std::unique_ptr<WritableFile>> open_appendable(const std::string& path) override;
  raft::Result<std::unique_ptr<RandomAccessFile>> open_random_access(
      const std::string& path) override;
  raft::Result<std::string> read_file(const std::string& path) override;
  bool exists(const std::string& path) override;
  bool is_directory(const std::string& path) override;
  raft::Result<void> create_dirs(const std::string& path) override;
  raft::Result<std::vector<std::string>> list_dir(const std::string& dir) override;
  raft::Result<uint64_t> file_size(const std::string& path) override;
  raft::Result<void> rename(const std::string& from, const std::string& to) override;
  raft::Result<void> remove_file(const std::string& path) override;
  raft::Result<void> truncate(const std::string& path, uint64_t size) override;
  raft::Result<void> sync_dir(const std::string& dir) override;

 private:
  struct Inode {
    std::string data;
    std::string durable;
  };
  using Entries = std::map<std::string, std::shared_ptr<Inode>>;
  struct Dir {
    Entries live;
    Entries durable;
  };
  class File;
  class Reader;

  std::shared_ptr<Inode> find(const std::string& path) const;
  Dir* dir_of(const std::string& path, std::string* name);
  raft::Result<void> write(Inode& inode, const std::string& path, std::string_view data);
  raft::Result<void> sync_inode(Inode& inode, const std::string& path);

  std::map<std::string, Dir> dirs_;
  bool limit_writes_ = false;
  uint64_t write_budget_ = 0;
  int write_errno_ = 0;
  bool fail_syncs_ = false;
  bool fail_renames_ = false;
  uint64_t syncs_ = 0;
};

}  // namespace storage
