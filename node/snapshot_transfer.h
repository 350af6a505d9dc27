// The snapshot transfer protocol as pure state machines (docs/snapshots.md): a sender on the
// leader that streams snapshot files to followers in chunks, and a receiver on each follower
// that writes them to a temporary file and puts the verified file in its snap/ folder.
//
// No sockets and no clock of their own: the node (or a test) feeds them packets and the time
// and sends what they return, so lost, duplicated, reordered and corrupted chunks, restarts
// and timeouts can all be driven from a unit test. Files go through a storage::Env.
//
// Sender, per follower:
//  - reads the file chunk by chunk (chunk_bytes, default 1 MiB) from the pinned snapshot file
//    and never holds more than one chunk; every chunk carries its XXH3-64;
//  - keeps at most window_chunks unacknowledged chunks in flight; the first chunk is sent
//    alone, so that a receiver holding part of the file already says where to resume;
//  - acks are cumulative (the receiver's contiguous byte count); the receiver's count is
//    authoritative, forwards (it already had more) or backwards (it lost some);
//  - an ack that repeats the acknowledged offset while later chunks are out means a chunk
//    was lost or damaged: sending goes back to that offset (once per offset); with no ack
//    progress for retransmit_after, it also goes back (a lost ack or a restarted receiver);
//  - no progress at all for abandon_after, or a Refused ack: the transfer fails;
//  - pacing: all transfers share a token bucket of rate_bytes_per_s (0: not paced).
// Receiver:
//  - one transfer at a time, in snap/<index name>.<hash>.part; a chunk is taken only at the
//    offset it expects and only if its checksum holds; anything else is re-acked with the
//    current count;
//  - on the last byte: fsync, compare the whole file's XXH3-64 with the sender's, read the
//    metadata record, rename to snap/<index>.snap, fsync the folder, ack Done; the caller
//    then hands the snapshot to its Raft core;
//  - a part file found at start is resumed by a transfer of the same file (same index and
//    hash) and removed if none comes within abandon_after; so is an idle transfer.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "raft/types.h"
#include "storage/env.h"
#include "transport/snapshot_messages.h"

namespace node {

struct SnapshotTransferOptions {
  size_t chunk_bytes = 1u << 20;
  size_t window_chunks = 8;
  std::chrono::steady_clock::duration retransmit_after = std::chrono::seconds(1);
  std::chrono::steady_clock::duration abandon_after = std::chrono::seconds(30);
  uint64_t rate_bytes_per_s = 0;  // 0: not paced
};

// XXH3-64 of a chunk's data (what SnapshotChunk::data_hash holds).
uint64_t snapshot_chunk_hash(std::string_view data);

class SnapshotSender {
 public:
  using Clock = std::chrono::steady_clock;
  SnapshotSender(storage::Env& env, raft::NodeId self, SnapshotTransferOptions opts);

  enum class Start { Started, AlreadyRunning, Failed };
  // Begins streaming `path` (a snapshot file described by `snap`) to `to`. A transfer already
  // running to `to` is kept, whatever snapshot it carries (finish the one in flight:
  // docs/snapshots.md), and AlreadyRunning is returned. Failed (reason in *why) if the file
  // cannot be opened.
  Start start(raft::NodeId to, raft::Term msg_term, const transport::SnapshotId& snap, const std::string& path,
              Clock::time_point now, std::string* why = nullptr);
  void on_ack(const transport::SnapshotAck& ack, Clock::time_point now);
  // Chunks allowed now by the windows, the timers and the pace, to send in order.
  void poll(Clock::time_point now, std::vector<transport::SnapshotChunk>* out);
  // Drops every transfer (leadership lost); they are reported as failed.
  void cancel_all(const std::string& why);

  struct Outcome {
    raft::NodeId to = 0;
    raft::Index index = 0;
    bool finished = false;  // true: the receiver has the file in place; false: failed
    std::string why;
  };
  // Transfers that ended since the last call (each exactly once).
  std::vector<Outcome> take_outcomes();
  bool running(raft::NodeId to) const { return transfers_.count(to) != 0; }
  size_t running_count() const { return transfers_.size(); }
  // Acknowledged bytes of the transfer to `to` (0 if none), for status and tests.
  uint64_t acked(raft::NodeId to) const;

 private:
  struct Transfer {
    raft::Term msg_term = 0;
    transport::SnapshotId snap;
    std::unique_ptr<storage::RandomAccessFile> file;
    uint64_t acked = 0;       // the receiver holds [0, acked)
    uint64_t next = 0;        // next byte to send
    bool heard = false;       // any ack yet (until then one chunk at a time)
    uint64_t rewound_at = UINT64_MAX;  // last offset sending went back to on a repeated ack
    Clock::time_point last_progress;   // acked last grew (or the start)
    Clock::time_point last_send;
  };
  void finish(raft::NodeId to, bool finished, std::string why);
  void refill(Clock::time_point now);

  storage::Env& env_;
  raft::NodeId self_;
  SnapshotTransferOptions opts_;
  std::map<raft::NodeId, Transfer> transfers_;
  std::vector<Outcome> outcomes_;
  double tokens_ = 0;
  std::optional<Clock::time_point> refilled_;
};

class SnapshotReceiver {
 public:
  using Clock = std::chrono::steady_clock;
  SnapshotReceiver(storage::Env& env, std::string snap_dir, raft::NodeId self, SnapshotTransferOptions opts);

  // Notes the part files an earlier run left in snap_dir (resumable until abandon_after).
  void recover(Clock::time_point now);

  struct Completed {
    raft::NodeId from = 0;
    raft::Term msg_term = 0;
    transport::SnapshotId snap;
    raft::SnapshotMetadata metadata;  // read from the received file
  };
  struct Reply {
    transport::SnapshotAck ack;
    std::optional<Completed> completed;  // set once: the file is in place, tell the core
    std::optional<uint64_t> began_at;    // a transfer (re)started here: bytes already held
  };
  Reply on_chunk(const transport::SnapshotChunk& c, Clock::time_point now);
  // Removes the part file of a transfer idle for abandon_after, and unclaimed leftovers.
  void tick(Clock::time_point now);

  // For tests and status.
  bool receiving() const { return incoming_.has_value(); }
  uint64_t received() const { return incoming_ ? incoming_->received : 0; }
  uint64_t corrupt_chunks() const { return corrupt_chunks_; }
  std::string part_path(const transport::SnapshotId& snap) const;

 private:
  struct Incoming;
  transport::SnapshotAck ack_for(const transport::SnapshotChunk& c, uint64_t next,
                                 transport::SnapshotAckStatus status, std::string reason = "") const;
  // Opens (or resumes) the part file of c.snap; "" on success, else why not.
  std::string begin(const transport::SnapshotChunk& c, Clock::time_point now);
  void discard_incoming();
  // Last bytes arrived: sync, verify, rename. "" on success, else why the file was refused.
  std::string complete(Completed* done);

  storage::Env& env_;
  std::string snap_dir_;
  raft::NodeId self_;
  SnapshotTransferOptions opts_;
  struct Incoming {
    raft::NodeId from = 0;
    raft::Term msg_term = 0;
    transport::SnapshotId snap;
    std::string path;
    std::unique_ptr<storage::WritableFile> file;
    uint64_t received = 0;
    std::shared_ptr<void> hash_state;  // XXH3_state_t over [0, received)
    Clock::time_point last_activity;
  };
  std::optional<Incoming> incoming_;
  std::map<std::string, Clock::time_point> leftovers_;  // part files from an earlier run -> found at
  // The last transfer completed, per sender: a repeated last chunk is answered Done again.
  std::map<raft::NodeId, transport::SnapshotId> completed_;
  uint64_t corrupt_chunks_ = 0;
};

}  // namespace node
