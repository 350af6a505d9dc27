#include "storage/dir_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "storage/env.h"

namespace storage {
namespace {

raft::Error io_error(std::string message) { return raft::Error{raft::ErrorCode::Io, std::move(message)}; }

// The pid written in an open LOCK file; 0 if it holds none.
pid_t read_pid(int fd) {
  char buf[32] = {};
  const ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
  if (n <= 0) return 0;
  return static_cast<pid_t>(std::strtol(buf, nullptr, 10));
}

std::string in_use_message(const std::string& node_dir, pid_t pid) {
  return node_dir + " is in use by another raft-node (pid " + (pid > 0 ? std::to_string(pid) : "unknown") +
         ", see " + join_path(node_dir, kLockFileName) + ")";
}

}  // namespace

raft::Result<std::unique_ptr<DirLock>> DirLock::acquire(const std::string& node_dir) {
  const std::string path = join_path(node_dir, kLockFileName);
  // No O_TRUNC: a process that loses the race must leave the holder's pid in place.
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return io_error("cannot open " + path + ": " + std::strerror(errno));
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    const pid_t holder = read_pid(fd);
    close(fd);
    if (err == EWOULDBLOCK) return io_error(in_use_message(node_dir, holder));
    return io_error("cannot lock " + path + ": " + std::strerror(err));
  }
  const std::string pid = std::to_string(getpid()) + "\n";
  if (ftruncate(fd, 0) != 0 || pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    const int err = errno;
    close(fd);
    return io_error("cannot write " + path + ": " + std::strerror(err));
  }
  return std::unique_ptr<DirLock>(new DirLock(fd));
}

DirLock::~DirLock() { close(fd_); }

std::optional<pid_t> lock_holder(const std::string& node_dir) {
  const std::string path = join_path(node_dir, kLockFileName);
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::optional<pid_t> holder;
  // flock works on a read-only descriptor; a shared probe is enough to see an exclusive holder.
  if (flock(fd, LOCK_SH | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) holder = read_pid(fd);
  }
  close(fd);  // also drops the probe's own lock
  return holder;
}

}  // namespace storage
