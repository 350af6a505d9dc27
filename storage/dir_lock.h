// DirLock: the exclusive lock that makes one node folder belong to one process at a time.
//
// Two raft-node processes on one folder would append to the same log and overwrite each
// other's hard state (two voters behind one id: a vote given twice). So a node takes
// flock(LOCK_EX) on <node_dir>/LOCK before it reads anything and holds it until the process
// ends (the kernel drops it on exit, even on SIGKILL: a stale LOCK file never blocks a
// restart). The holder's pid is written into the file, only to name it in refusals.
//
// A process that fails to take the lock changes nothing in the folder: LOCK is opened without
// truncation and written only once the lock is held. This is the same discipline as leveldb's
// and etcd's LOCK files, done here with plain POSIX calls.
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>

#include "raft/error.h"

namespace storage {

inline constexpr const char* kLockFileName = "LOCK";

class DirLock {
 public:
  // Takes the lock of `node_dir` (which must exist) and writes this process's pid into LOCK.
  // Fails (ErrorCode::Io) with a one-line message naming the folder and, when the lock is
  // held, the holder's pid: "<dir> is in use by another raft-node (pid 1234, see <dir>/LOCK)".
  static raft::Result<std::unique_ptr<DirLock>> acquire(const std::string& node_dir);
  ~DirLock();  // releases the lock (closing the descriptor)

  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;

 private:
  explicit DirLock(int fd) : fd_(fd) {}
  int fd_;
};

// A probe for readers (raftctl check-data): if a process holds the lock of `node_dir`, the pid
// written in LOCK (0 if unreadable); nullopt if nobody holds it or there is no LOCK file.
// Changes nothing: LOCK is opened read-only and never created.
std::optional<pid_t> lock_holder(const std::string& node_dir);

}  // namespace storage
