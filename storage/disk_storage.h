// DiskStorage: the durable raft::Storage of a node, over <node_dir>/wal/ and <node_dir>/snap/
// (layout.h draws the tree).
//
// Writes: one append-only stream of records (log_format.h) split into segments (segment.h).
// Each persist() call becomes one batch, written with one write() and at most one fsync (group
// commit), and a batch is replayed all or nothing. A conflicting suffix is superseded by
// appending entries from the conflict point; files are never rewritten, only the torn tail of
// the last segment is cut off on recovery. Snapshots go to snap/ (snapshot_file.h) before a
// marker for them is appended to the stream.
//
// Reads: each live entry has a location (segment, record offset) and its term in memory; the
// most recent entries, up to Options::cache_bytes of them, are also kept whole in memory, and
// older ones are read back from their segment (and their checksums verified) on demand. So
// memory grows with the number of entries by about 24 bytes each, not with their size.
//
// Failure: a full disk (ENOSPC or EDQUOT while writing a segment, starting a segment or
// writing a snapshot file) is retryable: the segment is cut back to the end of its last
// complete batch (and a segment or snapshot file started by the call is removed), nothing of
// the call is visible, the storage stays usable and the error is recognised by
// is_no_space(). Any other write or sync failure fails the storage for good: every later
// persist() and create_snapshot() returns Io, and nothing from the failed call is visible to
// reads. (After a failed fsync the kernel may have dropped the dirty pages, so retrying could
// report as durable data that is not: "fsyncgate".)
//
// Invariants kept between calls:
//  - first_index() - 1 <= snapshot index <= (last_index() or more after a received snapshot);
//  - locs_ holds exactly the entries [first_, last]; cache_ holds the last cache_.size() of them;
//  - everything reported persisted by a persist() with must_sync (and Options::fsync) is
//    durable; what a power cut can lose is only a suffix of batches written after the last sync.
//
// Not thread-safe: the node calls it from its Ready loop only.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <optional>
#include <string>
#include <vector>

#include "raft/storage.h"
#include "storage/env.h"
#include "storage/layout.h"
#include "storage/log_reader.h"
#include "storage/log_writer.h"
#include "storage/records.h"
#include "storage/segment.h"

namespace storage {

struct Options {
  bool fsync = true;                       // false only for benchmarks (node logs a warning)
  uint64_t segment_bytes = 64u << 20;      // roll to a new segment file past this size
  uint64_t keep_entries_after_snapshot = 5000;  // entries kept below a snapshot for slow followers
  size_t cache_bytes = 64u << 20;          // recent entries served from memory; older from files
  Env* env = nullptr;                      // nullptr: the POSIX file system (default_env())
};

// What recovery found, file by file (check_data prints it).
struct SegmentReport {
  std::string path;
  uint64_t seq = 0;
  uint64_t size = 0;           // bytes on disk when opened
  uint64_t valid_bytes = 0;    // end of the last complete batch
  uint64_t batches = 0;
  uint64_t records = 0;
  uint64_t entries = 0;        // entries written in this segment (superseded ones included)
  raft::Index min_index = 0;   // smallest and largest entry index written in it (0: none)
  raft::Index max_index = 0;
  std::string torn;            // why the tail was cut, when it was
};

struct SnapshotReport {
  std::string path;
  raft::Index index = 0;
  uint64_t size = 0;
  bool in_use = false;         // the one the log's snapshot marker refers to
};

struct RecoveryReport {
  std::vector<SegmentReport> segments;
  std::vector<SnapshotReport> snapshots;
};

class DiskStorage final : public raft::Storage {
 public:
  // Opens node_dir (creating wal/ and snap/ if missing), loads the newest valid snapshot and
  // replays the stream after it. A torn record at the very tail of the last segment is
  // truncated (warning in recovery_warnings()); a bad record anywhere else is an Io error
  // naming file, offset and problem. Never silently drops data.
  static raft::Result<std::unique_ptr<DiskStorage>> open(const std::string& node_dir,
                                                         const Options& opts);

  // Called for every record replayed, with the file it is in (check-data --dump).
  using RecordSink = std::function<void(const std::string& file, const RecordView& record)>;
  // Like open() but changes nothing on disk (no truncation, no directory creation, no cleanup)
  // and refuses every write. For the data checker: *report and *warnings (when not null) are
  // filled with what was scanned even when opening fails.
  static raft::Result<std::unique_ptr<DiskStorage>> open_read_only(
      const std::string& node_dir, Env* env, const RecordSink& sink,
      RecoveryReport* report = nullptr, std::vector<std::string>* warnings = nullptr);

  ~DiskStorage() override;

  // Brand-new: no hard state, no entries, no snapshot.
  bool empty() const;
  const std::vector<std::string>& recovery_warnings() const { return warnings_; }
  // The error that failed the storage, if any (then every write is refused).
  const std::optional<raft::Error>& failure() const { return failure_; }

  // --- raft::Storage ---
  raft::Result<raft::RaftState> initial_state() const override;
  raft::Result<std::vector<raft::Entry>> entries(raft::Index lo, raft::Index hi,
                                                 uint64_t max_size) const override;
  raft::Result<raft::Term> term(raft::Index idx) const override;
  raft::Result<raft::Index> first_index() const override;
  raft::Result<raft::Index> last_index() const override;
  raft::Result<raft::Snapshot> snapshot(raft::Index request_index) const override;

  // One call per raft Ready (group commit: one write() and at most one fsync, done when
  // must_sync && opts.fsync). `snapshot` is a snapshot received from the leader (nullptr when
  // none): it is written to snap/ (tmp file, fsync, rename, dir fsync), a marker goes in the
  // stream, and the log restarts after it. If its data is a descriptor (snapshot_stream.h),
  // the file was already received, verified, synced and renamed into snap/: it is adopted
  // (its size and metadata checked, Io if they differ), not rewritten. Entries replace any conflicting suffix (by
  // appending: files are never rewritten). On any write error returns Io and the storage
  // refuses further writes (the node must stop acknowledging): nothing is reported persisted
  // that is not. Except on a full disk: then the error satisfies is_no_space(), nothing of
  // the call was kept, and the same call may be retried later. SnapshotOutOfDate (nothing written) if the snapshot is older than the
  // current one. Panics if entries are not consecutive, overwrite compacted entries or leave a
  // gap after the last one (a caller bug, as with MemStorage::append).
  raft::Result<void> persist(const raft::Snapshot* snapshot, const std::vector<raft::Entry>& entries,
                             const std::optional<raft::HardState>& hard_state, bool must_sync);

  // A snapshot of the application state at applied index `index` with membership `cs`:
  // written like above (always synced when opts.fsync), then entries before
  // index + 1 - keep_entries_after_snapshot are discarded and the segments and snapshot files
  // no longer needed are deleted. SnapshotOutOfDate if index <= the current snapshot's index.
  // On a full disk nothing is kept and the error satisfies is_no_space() (the storage stays
  // usable; try again later).
  // Panics if index > last_index().
  raft::Result<void> create_snapshot(raft::Index index, const raft::ConfState& cs, std::string data);

  // The snapshot in force as a descriptor (snapshot_stream.h) instead of its data: metadata
  // plus file size and hash, without reading the data (the hash is computed once per file,
  // streaming). What the node's Raft core sends; the file itself travels in chunks
  // (docs/snapshots.md). Same errors as snapshot().
  raft::Result<raft::Snapshot> snapshot_descriptor(raft::Index request_index) const;
  // snap/<index>.snap, whether or not it exists.
  std::string snapshot_path(raft::Index index) const;
  const std::string& snap_dir() const { return layout_.snap_dir; }
  // The file system this storage works through.
  Env& env() const { return *env_; }
  // A pinned snapshot file is not deleted by compaction (a transfer is reading it); pins are
  // counted. Unpinning the last pin of a file no longer in force deletes it.
  void pin_snapshot(raft::Index index);
  void unpin_snapshot(raft::Index index);
  // The same in two steps, for a snapshot written elsewhere (a forked child, see
  // node/snapshot_taker.h) while this storage keeps serving: the writer puts a complete,
  // synced snapshot file for `index` (snapshot_file.h format) at snapshot_tmp_path(index);
  // (or has already renamed it to snap/<index>.snap and synced the folder itself);
  // record_snapshot(meta) then renames it to snap/<index>.snap, syncs the folder, appends
  // the marker and compacts the log exactly as create_snapshot does (same errors; the
  // temporary file is removed when the call fails before the rename). SnapshotOutOfDate
  // (and the temporary file removed) if a newer snapshot was installed meanwhile. Panics if
  // meta.index > last_index() or meta.term is not the log's term at meta.index.
  std::string snapshot_tmp_path(raft::Index index) const;
  raft::Result<void> record_snapshot(const raft::SnapshotMetadata& meta);

  // The metadata of the snapshot in force (index 0: none).
  const raft::SnapshotMetadata& snapshot_metadata() const { return snap_; }
  // Entries currently held in the memory cache (for tests and status).
  size_t cached_entries() const { return cache_.size(); }
  size_t segment_count() const { return segments_.size(); }

 private:
  // Where an entry lives: its record (segment seq, offset of the record header, payload
  // length) and, because term() must be cheap, its term.
  struct EntryLoc {
    raft::Term term;
    uint64_t offset;
    uint32_t seq;
    uint32_t length;
  };

  DiskStorage(std::string node_dir, const Options& opts, bool read_only);

  raft::Result<void> recover(const RecordSink& sink);
  raft::Result<void> replay_segment(const SegmentFile& file, bool is_last, uint64_t bytes_after,
                                    const RecordSink& sink);
  // `cache` says whether entries in the record are worth materializing for the cache.
  raft::Result<void> apply_record(const RecordView& rec, uint32_t seq, const std::string& file,
                                  bool cache);
  raft::Result<void> load_snapshots();

  // In-memory effects, shared by replay and the write path. They return a description of
  // what is impossible about the change ("" when it was applied).
  // Entries first.. with these terms, in the record at (seq, offset). `ents` (the entries
  // themselves, moved into the cache) may be null: then the cache is emptied instead, which
  // keeps it a suffix of the log.
  std::string apply_entries(raft::Index first, const std::vector<raft::Term>& terms,
                            std::vector<raft::Entry>* ents, uint32_t seq, uint64_t offset,
                            uint32_t length);
  std::string apply_log_start(const LogStart& s);
  void trim_cache();
  // Entries compacted out of the cache are freed a few per persist() instead of all at once:
  // right after a snapshot child (node/snapshot_taker.h) the parent's pages are still
  // write-protected from the fork, and freeing 10 000 cached entries at once took up to a
  // second of page faults on the loop (measured: 0.6 ms without a fork before, 324 ms after).
  static constexpr size_t kReleasedPerPersist = 64;
  void free_released(size_t n) {
    for (; n > 0 && !released_.empty(); --n) released_.pop_front();
  }

  raft::Result<void> check_writable() const;
  raft::Error fail(const raft::Error& e);
  // The error persist()/create_snapshot() return for a retryable out-of-space `e`.
  raft::Error no_space(const raft::Error& e) const;
  // After writer_->write() failed with `e`: on a full disk, cuts the segment back to its last
  // complete batch (removing it if the failed write was its first) and returns no_space(e);
  // otherwise fails the storage.
  raft::Error undo_failed_write(const raft::Error& e);
  // After a failed call wrote the snapshot file of `index`: removes it (best effort) unless
  // it is the one in force.
  void drop_snapshot_file(raft::Index index);
  raft::Result<void> start_segment();
  raft::Result<void> remove_obsolete_files();
  // Marker + compaction + cleanup for a snapshot file of `meta` already complete in snap/.
  raft::Result<void> install_snapshot(const raft::SnapshotMetadata& meta);
  raft::Result<std::string> read_record(const EntryLoc& loc) const;

  raft::Index last() const { return base_ + locs_.size() - 1; }
  raft::Index cache_first() const { return last() + 1 - cache_.size(); }

  // Constant after construction
  Env* env_;
  Layout layout_;
  Options opts_;
  bool read_only_;

  // The log. Entries [first_, last()] are live; term(first_ - 1) == prev_term_.
  // Invariant: base_ == first_ except while replaying, where entries [first_, base_) may be
  // in segments not replayed (they must be gone by the end of recovery).
  raft::Index first_ = 1;
  raft::Term prev_term_ = 0;
  raft::Index base_ = 1;
  std::deque<EntryLoc> locs_;  // locs_[i] is entry base_ + i
  std::deque<raft::Entry> cache_;  // the newest entries, ending at last()
  std::deque<raft::Entry> released_;  // compacted out of cache_, not freed yet (free_released)
  size_t cache_bytes_ = 0;

  raft::HardState hs_;
  raft::SnapshotMetadata snap_;

  std::map<uint64_t, SegmentFile> segments_;  // by seq; the last one is being appended to
  std::unique_ptr<LogWriter> writer_;          // on segments_.rbegin(), once there is one
  bool unsynced_ = false;                      // bytes written since the last sync
  std::optional<raft::Error> failure_;

  std::vector<std::string> warnings_;
  RecoveryReport report_;
  mutable std::map<uint64_t, std::unique_ptr<RandomAccessFile>> readers_;
  mutable std::map<raft::Index, std::pair<uint64_t, uint64_t>> snapshot_hashes_;  // index -> (hash, size)
  std::multiset<raft::Index> pinned_;
};

// True if `e`, returned by DiskStorage::persist or create_snapshot, means the disk is full
// (nothing of the call was kept, the storage is still usable, the call may be retried). Its
// message reads "disk full in <node_dir>: <system error>".
bool is_no_space(const raft::Error& e);

}  // namespace storage
