#include "node/snapshot_taker.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <thread>
#include <cstring>

#include "storage/snapshot_stream_writer.h"

namespace node {

using Clock = std::chrono::steady_clock;

int write_kv_snapshot_file(const KvStateMachine& kv, const raft::SnapshotMetadata& metadata, const std::string& path,
                           bool sync, uint64_t bytes_per_s, const std::string& rename_to) {
  storage::SnapshotStreamWriter w;
  if (int e = w.open(path, metadata); e != 0) return e;
  const auto started = Clock::now();
  uint64_t handed = 0;
  auto sink = [&](std::string_view piece) {
    handed += piece.size();
    if (bytes_per_s > 0) {
      const auto due = started + std::chrono::microseconds(handed * 1000000 / bytes_per_s);
      std::this_thread::sleep_until(due);
    }
    return w.append(piece);
  };
  if (int e = kv.snapshot_to(sink); e != 0) return e;
  return w.finish(sync, rename_to);
}

std::string SnapshotTaker::start(const KvStateMachine& kv, const raft::SnapshotMetadata& metadata,
                                 std::string tmp_path, bool sync, uint64_t bytes_per_s) {
  if (running()) return "a snapshot is already being taken";
  // The child also renames the file to its final name (snap/<index>.snap) and syncs the
  // folder: two more waits on the disk that the loop does not have to make. Until the
  // storage has recorded it, a file under its final name is just ignored on a restart.
  const std::string suffix = ".tmp";
  const bool has_suffix = tmp_path.size() > suffix.size() &&
                          tmp_path.compare(tmp_path.size() - suffix.size(), suffix.size(), suffix) == 0;
  const std::string final_path = has_suffix ? tmp_path.substr(0, tmp_path.size() - suffix.size()) : "";
  const pid_t parent = ::getpid();
  const auto before = Clock::now();
  const pid_t pid = ::fork();
  if (pid < 0) return std::string("fork: ") + std::strerror(errno);
  if (pid == 0) {
    // The child. Die with the parent (a node killed mid-snapshot leaves no writer behind);
    // the parent may already be gone by the time the request is made.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(ECHILD);
    // A stop signal is for the node, whose handler writes to its stop pipe: the child must
    // not, it just dies (the parent removes what it left).
    ::signal(SIGTERM, SIG_DFL);
    ::signal(SIGINT, SIG_DFL);
    // Yield the CPU to the node's loop: on a small machine the child competes with it.
    (void)::setpriority(PRIO_PROCESS, 0, 10);
    const int status = write_kv_snapshot_file(kv, metadata, tmp_path, sync, bytes_per_s, final_path);
    ::_exit(status > 255 || status < 0 ? EIO : status);
  }
  started_ = Clock::now();
  fork_time_ = started_ - before;
  pid_ = pid;
  metadata_ = metadata;
  tmp_path_ = std::move(tmp_path);
  return "";
}

std::optional<SnapshotTaker::Finished> SnapshotTaker::poll() {
  if (!running()) return std::nullopt;
  int ws = 0;
  const pid_t r = ::waitpid(pid_, &ws, WNOHANG);
  if (r == 0) return std::nullopt;
  if (r < 0) {
    // ECHILD: not our child any more (cannot happen unless SIGCHLD is ignored): treat as lost.
    const int err = errno == 0 ? ECHILD : errno;
    Finished f = finish(0);
    f.status = err;
    (void)::unlink(f.tmp_path.c_str());
    return f;
  }
  return finish(ws);
}

SnapshotTaker::Finished SnapshotTaker::finish(int wait_status) {
  Finished f;
  f.metadata = metadata_;
  f.tmp_path = tmp_path_;
  f.took = Clock::now() - started_;
  if (WIFEXITED(wait_status)) {
    f.status = WEXITSTATUS(wait_status);
  } else if (WIFSIGNALED(wait_status)) {
    f.status = -WTERMSIG(wait_status);
  } else {
    f.status = EIO;
  }
  if (f.status != 0) (void)::unlink(f.tmp_path.c_str());
  pid_ = -1;
  return f;
}

void SnapshotTaker::abort() {
  if (!running()) return;
  (void)::kill(pid_, SIGKILL);
  int ws = 0;
  while (::waitpid(pid_, &ws, 0) < 0 && errno == EINTR) {
  }
  (void)::unlink(tmp_path_.c_str());
  pid_ = -1;
}

}  // namespace node
