// Snapshot files: snap/<index>.snap, index in 20 decimal digits.
//
// A snapshot file uses the record framing of the log (log_format.h) and holds exactly one
// batch: a kSnapshotMeta record (magic, index, term, ConfState) and the application data in
// kSnapshotData chunks. It is written to <name>.tmp, synced, renamed over <name>, and the
// folder is synced, so a crash at any moment leaves either the old set of snapshots or the
// new one, never a half-written .snap (a leftover .tmp is garbage and is removed on open).
#pragma once

#include <string>

#include "raft/error.h"
#include "raft/types.h"
#include "storage/env.h"

namespace storage {

std::string snapshot_name(raft::Index index);
bool parse_snapshot_name(const std::string& name, raft::Index* index);
inline constexpr const char* kTmpSuffix = ".tmp";
// A snapshot being received from the leader (docs/snapshots.md): left alone by recovery and
// compaction; the receiver resumes it or removes it.
inline constexpr const char* kPartSuffix = ".part";

// Writes snap_dir/<index>.snap durably (when sync) through a temporary file and a rename.
raft::Result<void> write_snapshot_file(Env& env, const std::string& snap_dir,
                                       const raft::Snapshot& snapshot, bool sync);

// Reads and verifies a snapshot file. Io (naming file, offset and problem) if it is damaged.
raft::Result<raft::Snapshot> read_snapshot_file(Env& env, const std::string& path);

}  // namespace storage
