// ReadyDriver: the one Ready loop of the project. raft-node, the simulator, the unit test
// harness and the core benchmark all hand their Readies to it, so the order that the
// 10,000-seed simulation checks is the order production runs (etcd's rafttest ProcessReady
// plays this role there).
//
// The application supplies three small interfaces: a DurableLog (persist a Ready's
// snapshot, entries and hard state in one write), an Outbox (send messages) and an Applier
// (restore a snapshot, apply committed entries, take read states). For every Ready:
//   1. send rd.messages (they promise nothing that needs the disk);
//   2. without a snapshot, apply rd.committed_entries now: they are already on this node's
//      disk and on a quorum's, so a client reply never waits for the fsync of later entries;
//   3. write snapshot + entries + hard state in ONE DurableLog::write. A hard state that
//      differs only in its commit index is not written by itself: the commit index may lag
//      on disk (a restarted node learns it again, and the core takes what was applied as
//      committed), so it rides on the next write of entries, a snapshot, a term or a vote;
//   4. once the write is durable: send rd.persisted_messages; with a snapshot, restore it
//      and then apply rd.committed_entries; hand over rd.read_states;
//   5. advance: with the write done at once, RawNode::advance and its LightReady (note its
//      commit index for the next write, send its messages, apply its entries),
//      advance_apply. With the write completing later (WriteOutcome::Pending), steps 4-5 run
//      in on_write_done() instead, through RawNode::on_persisted; meanwhile later Readies
//      go through steps 1-3 (their entries are never handed out twice), and their step 4
//      waits behind every earlier write, in order.
//
// Nothing here performs I/O or reads a clock: the interfaces do. Single-threaded: a writer
// thread reports its completions to the loop thread, which calls on_write_done().
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <vector>

#include "raft/raw_node.h"
#include "raft/types.h"

namespace raft {

// One Ready's durable state, written at once. The pointers are valid during write() only:
// a store that completes later copies what it keeps.
struct WriteRequest {
  const Snapshot* snapshot = nullptr;         // null: no snapshot
  const std::vector<Entry>* entries = nullptr;  // never null; may be empty
  std::optional<HardState> hard_state;
  bool must_sync = false;  // fsync before reporting it durable
};

enum class WriteOutcome : uint8_t {
  Done,     // durable now
  Pending,  // durable later: the owner calls ReadyDriver::on_write_done once per such
            // write, in the order of the writes
  Failed,   // cannot be made durable: handle_ready returns false and nothing of this Ready
            // goes further (the owner stops, or crashes in a simulation)
};

class DurableLog {
 public:
  virtual ~DurableLog() = default;
  virtual WriteOutcome write(const WriteRequest& w) = 0;
};

class Outbox {
 public:
  virtual ~Outbox() = default;
  // May move the messages out of `msgs`.
  virtual void send(std::vector<Message>& msgs) = 0;
};

class Applier {
 public:
  virtual ~Applier() = default;
  // Replaces the state machine with a snapshot's (persisted before this call).
  virtual void restore(const Snapshot& snap) = 0;
  // Applies committed entries, in order (conf changes included: the applier calls
  // RawNode::apply_conf_change). May move out of `entries`.
  virtual void apply(std::vector<Entry>& entries) = 0;
  // Linearizable read points; served once the state machine has applied up to their index.
  virtual void read_states(std::vector<ReadState>& states) = 0;
};

class ReadyDriver {
 public:
  // `on_disk`: the hard state the DurableLog holds now (what a restart reads back).
  ReadyDriver(DurableLog& log, Outbox& outbox, Applier& applier, HardState on_disk = {});
  ReadyDriver(const ReadyDriver&) = delete;
  ReadyDriver& operator=(const ReadyDriver&) = delete;

  // Optional observers: every Ready as it is taken (traces, tests), and a changed role or
  // leader (before anything of that Ready is sent).
  std::function<void(const Ready&)> on_ready;
  std::function<void(const SoftState&)> on_soft_state;

  // Takes raw.ready() (the caller checked has_ready) and handles it. False when the
  // DurableLog failed: the caller stops (nothing more of this node may be acknowledged).
  bool handle_ready(RawNode& raw);
  // The oldest Pending write is durable: sends, restores and applies what waited for it
  // (and for every Ready behind it that needed no write of its own) and reports it to raw.
  void on_write_done(RawNode& raw);
  // Writes handed to the DurableLog and not yet reported durable.
  size_t pending_writes() const { return pending_writes_; }

  // The latest hard state; on disk too unless commit_unwritten().
  const HardState& hard_state() const { return hard_state_; }
  // hard_state().commit is ahead of the one on disk (written with the next write, or by the
  // owner on a clean stop, who then calls commit_written()).
  bool commit_unwritten() const { return commit_unwritten_; }
  void commit_written() { commit_unwritten_ = false; }

  // Forgets everything in flight, as a crash does: the driver starts again over a store that
  // holds `on_disk`.
  void reset(HardState on_disk);

 private:
  // What one Ready still has to do once its write (or an earlier one) is durable.
  struct Waiting {
    bool durable = false;
    PersistMark mark;
    std::vector<Message> persisted_messages;
    std::optional<Snapshot> snapshot;
    std::vector<Entry> committed_entries;  // not applied yet (a snapshot came first)
    std::vector<ReadState> read_states;
  };

  // The hard state this Ready must write, if any (a commit-only change rides later).
  std::optional<HardState> hard_state_to_write(const Ready& rd, bool writes_anyway);
  void apply(std::vector<Entry>& entries);
  void finish_durable_prefix(RawNode& raw);
  bool snapshot_waiting() const;

  DurableLog& log_;
  Outbox& outbox_;
  Applier& applier_;
  HardState hard_state_;
  bool commit_unwritten_ = false;
  std::deque<Waiting> waiting_;
  size_t pending_writes_ = 0;
  Index last_applied_ = 0;  // the last index applied through this driver (0: none yet)
};

}  // namespace raft
