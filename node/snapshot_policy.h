// SnapshotPolicy: when a node takes its next snapshot of the key-value state.
//
// Two bounds, whichever is reached first (docs/snapshots-taking.md):
//  - entries applied since the last snapshot (snapshot_entries), which bounds the log kept;
//  - bytes of log written since the last snapshot (snapshot_log_mb), which bounds what a
//    restart replays whatever the size of the entries (10000 entries of 1 MiB values would
//    otherwise be a 10 GiB log to replay).
// Each member scales both bounds by its own factor in [1, 1.5) derived from its id, so that
// members that apply the same log do not all snapshot at the same index: snapshots cost disk
// bandwidth and CPU, and a cluster whose members all pay at once slows down all at once.
#pragma once

#include <cstdint>

namespace node {

struct SnapshotPolicy {
  uint64_t entries = 0;    // take a snapshot at this many entries applied since the last
  uint64_t log_bytes = 0;  // or at this many bytes of log written since the last

  // The policy of member `id` for the cluster file's snapshot_entries and snapshot_log_mb.
  static SnapshotPolicy for_member(uint64_t id, uint64_t snapshot_entries, uint64_t snapshot_log_mb);
  // The stagger factor of member `id`, in [1, 1.5): spread evenly for consecutive ids.
  static double stagger(uint64_t id);

  bool due(uint64_t entries_since, uint64_t log_bytes_since) const {
    return entries_since >= entries || log_bytes_since >= log_bytes;
  }
};

}  // namespace node
