#include "storage/check_data.h"

#include "raft/check.h"
#include "storage/dir_lock.h"
#include "storage/disk_storage.h"
#include "storage/identity.h"
#include "storage/records.h"
#include "storage/snapshot_file.h"

namespace storage {

int check_data(const std::string& node_dir, bool dump, std::ostream& out, Env* env) {
  if (!env) env = default_env();
  const Layout layout(node_dir);
  if (!env->is_directory(node_dir) ||
      (!env->is_directory(layout.wal_dir) && !env->is_directory(layout.snap_dir))) {
    out << node_dir << ": not a node data dir (no wal/ or snap/ inside)\n";
    return 2;
  }
  // A running node appends to these files while they are read: the result would describe
  // no moment of the folder. Refused, naming the holder (dir_lock.h).
  if (auto holder = lock_holder(node_dir)) {
    out << node_dir << ": in use by a running raft-node (pid " << (*holder > 0 ? std::to_string(*holder) : "unknown")
        << ", holds " << join_path(node_dir, kLockFileName) << "): stop it first\n";
    return 4;
  }
  out << "node dir " << node_dir << "\n";
  bool bad_identity = false;
  auto identity = read_identity(*env, node_dir);
  if (!identity.ok()) {
    out << "identity: DAMAGED: " << identity.error().message << "\n";
    bad_identity = true;
  } else if (*identity) {
    out << "identity: " << describe(**identity) << "\n";
  } else {
    out << "identity: none (written by a version without identity records; the node writes one when it starts)\n";
  }
  std::string dumping;
  DiskStorage::RecordSink sink;
  if (dump) {
    sink = [&](const std::string& file, const RecordView& rec) {
      if (file != dumping) {
        out << "records of " << file << ":\n";
        dumping = file;
      }
      out << raft::format("  @%-10lu %s\n", rec.offset,
                          describe_record(rec.type, rec.payload).c_str());
    };
  }
  RecoveryReport report;
  std::vector<std::string> warnings;
  auto storage = DiskStorage::open_read_only(node_dir, env, sink, &report, &warnings);

  uint64_t wal_bytes = 0;
  for (const auto& s : report.segments) wal_bytes += s.size;
  out << raft::format("wal: %zu segment(s), %lu bytes\n", report.segments.size(), wal_bytes);
  for (const auto& s : report.segments) {
    out << raft::format("  %s: %lu bytes, %lu batches, %lu records, ", s.path.c_str(), s.size,
                        s.batches, s.records);
    if (s.entries == 0) {
      out << "no entries";
    } else {
      out << raft::format("%lu entries written in %lu..%lu", s.entries, s.min_index, s.max_index);
    }
    if (!s.torn.empty()) out << raft::format(", torn tail after byte %lu", s.valid_bytes);
    out << "\n";
  }

  bool damaged = !storage.ok() || bad_identity;
  uint64_t snap_bytes = 0;
  for (const auto& s : report.snapshots) snap_bytes += s.size;
  out << raft::format("snap: %zu snapshot file(s), %lu bytes\n", report.snapshots.size(),
                      snap_bytes);
  for (const auto& s : report.snapshots) {
    auto snap = read_snapshot_file(*env, s.path);
    out << raft::format("  %s: %lu bytes, index %lu", s.path.c_str(), s.size, s.index);
    if (!snap.ok()) {
      out << ": DAMAGED: " << snap.error().message << "\n";
      damaged = true;
      continue;
    }
    out << raft::format(", term %lu, %zu data bytes%s\n", snap->metadata.term, snap->data.size(),
                        s.in_use ? " (in use)" : "");
  }

  for (const auto& w : warnings) out << "warning: " << w << "\n";
  if (!storage.ok()) {
    out << "DAMAGED: " << storage.error().message << "\n";
    return 1;
  }
  const DiskStorage& st = **storage;
  const raft::Index first = *st.first_index();
  const raft::Index last = *st.last_index();
  const raft::HardState hs = st.initial_state()->hard_state;
  const raft::SnapshotMetadata& sm = st.snapshot_metadata();
  out << "summary:\n";
  if (last >= first) {
    out << raft::format("  log: entries %lu..%lu (%lu), terms %lu..%lu, term before first %lu\n",
                        first, last, last - first + 1, *st.term(first), *st.term(last),
                        *st.term(first - 1));
  } else {
    out << raft::format("  log: empty, next index %lu, term before it %lu\n", first,
                        *st.term(first - 1));
  }
  out << raft::format("  hard state: term %lu, vote %lu, commit %lu\n", hs.term, hs.vote,
                      hs.commit);
  if (sm.index == 0) {
    out << "  snapshot: none\n";
  } else {
    out << raft::format("  snapshot: index %lu, term %lu, %s\n", sm.index, sm.term,
                        conf_state_to_string(sm.conf_state).c_str());
  }
  out << (damaged ? "result: DAMAGED\n" : "result: clean\n");
  return damaged ? 1 : 0;
}

}  // namespace storage
