// SnapshotTaker: writes a snapshot of the key-value state in a forked child process, so that
// the node's loop keeps ticking, replicating and serving while a large state is written (Raft
// thesis §5.2 "memory-based state machines", as LogCabin does; docs/snapshots-taking.md).
//
// fork() gives the child a copy-on-write image of the state at the applied index of the
// moment: the parent goes on applying entries, and only the pages it touches are copied.
// The child streams the state into the snapshot file format (SnapshotStreamWriter) at the
// path it is given (snap/<index>.snap.tmp), syncs it and leaves with _exit: it calls nothing
// that could take a lock another thread of the parent held at the fork (no logging, no
// ZeroMQ, no Env). The parent notices the end with a non-blocking waitpid (poll(), called
// every loop iteration) and then records the file through the storage.
//
// At most one child at a time. A child that failed or was killed leaves a temporary file
// that poll()/abort() remove; abort() (a stop while a child runs, or the destructor) kills
// the child and waits for it, so no half-written file outlives the node's run.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>

#include "node/kv_state_machine.h"
#include "raft/types.h"

namespace node {

class SnapshotTaker {
 public:
  struct Finished {
    raft::SnapshotMetadata metadata;
    std::string tmp_path;
    // 0: the file is complete and synced. > 0: the errno the child failed with. < 0: the
    // child was killed by signal -status.
    int status = 0;
    std::chrono::steady_clock::duration took{};
  };

  SnapshotTaker() = default;
  SnapshotTaker(const SnapshotTaker&) = delete;
  SnapshotTaker& operator=(const SnapshotTaker&) = delete;
  ~SnapshotTaker() { abort(); }

  bool running() const { return pid_ > 0; }
  const raft::SnapshotMetadata& metadata() const { return metadata_; }
  pid_t pid() const { return pid_; }

  // Forks a child that writes `kv` as it is now with `metadata` to `tmp_path` (fdatasync'd
  // when sync). "" on success, else why no child could be started. Requires !running().
  // bytes_per_s > 0 (tests only) caps the child's write rate.
  std::string start(const KvStateMachine& kv, const raft::SnapshotMetadata& metadata, std::string tmp_path,
                    bool sync, uint64_t bytes_per_s = 0);
  // How long the last fork() call took (the parent's pause: page tables are copied).
  std::chrono::steady_clock::duration last_fork_time() const { return fork_time_; }

  // Non-blocking: the outcome once the child has ended (then running() is false). On a
  // failure the temporary file is already removed.
  std::optional<Finished> poll();
  // Kills a running child, waits for it and removes its temporary file. No-op otherwise.
  void abort();

 private:
  Finished finish(int wait_status);

  pid_t pid_ = -1;
  raft::SnapshotMetadata metadata_;
  std::string tmp_path_;
  std::chrono::steady_clock::time_point started_{};
  std::chrono::steady_clock::duration fork_time_{};
};

// The body of the child, exposed for tests: writes the snapshot file and returns 0 or an
// errno value (the child's exit status). Runs in the calling process.
// With `rename_to`, the finished file is renamed to it (and the folder synced when sync).
int write_kv_snapshot_file(const KvStateMachine& kv, const raft::SnapshotMetadata& metadata,
                           const std::string& path, bool sync, uint64_t bytes_per_s = 0,
                           const std::string& rename_to = "");

}  // namespace node
