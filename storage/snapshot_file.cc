#include "storage/snapshot_file.h"

#include <vector>

#include "raft/check.h"
#include "storage/coding.h"
#include "storage/log_reader.h"
#include "storage/log_writer.h"
#include "storage/records.h"

namespace storage {

std::string snapshot_name(raft::Index index) { return raft::format("%020lu.snap", index); }

bool parse_snapshot_name(const std::string& name, raft::Index* index) {
  if (name.size() != 25 || name.compare(20, 5, ".snap") != 0) return false;
  uint64_t v = 0;
  for (size_t i = 0; i < 20; ++i) {
    if (name[i] < '0' || name[i] > '9') return false;
    const uint64_t d = static_cast<uint64_t>(name[i] - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  *index = v;
  return v > 0;
}

raft::Result<void> write_snapshot_file(Env& env, const std::string& snap_dir,
                                       const raft::Snapshot& snapshot, bool sync) {
  const std::string path = join_path(snap_dir, snapshot_name(snapshot.metadata.index));
  const std::string tmp = path + kTmpSuffix;
  std::string image;
  image.reserve(snapshot.data.size() + 256);
  {
    std::string meta;
    Encoder e(&meta);
    e.put_u32(kSnapshotMagic);
    e.put_u32(kFormatVersion);
    meta += encode_snapshot_metadata(snapshot.metadata);
    encode_record(RecordType::kSnapshotMeta, /*more=*/true, meta, &image);
  }
  std::string_view data = snapshot.data;
  do {
    const size_t n = std::min(data.size(), kSnapshotChunkBytes);
    encode_record(RecordType::kSnapshotData, /*more=*/n < data.size(), data.substr(0, n), &image);
    data.remove_prefix(n);
  } while (!data.empty());

  if (env.exists(tmp)) {
    auto r = env.remove_file(tmp);
    if (!r.ok()) return r;
  }
  {
    auto file = env.open_appendable(tmp);
    if (!file.ok()) return file.error();
    auto r = (*file)->append(image);
    if (r.ok() && sync) r = (*file)->sync();
    if (!r.ok()) {
      // Nothing refers to the temporary file: free its space at once (a full disk is the
      // usual reason to get here; recovery would remove it anyway).
      file->reset();
      (void)env.remove_file(tmp);
      return r;
    }
  }
  auto r = env.rename(tmp, path);
  if (r.ok() && sync) r = env.sync_dir(snap_dir);
  return r;
}

raft::Result<raft::Snapshot> read_snapshot_file(Env& env, const std::string& path) {
  auto image = env.read_file(path);
  if (!image.ok()) return image.error();
  LogReader reader(*image, path);
  std::vector<RecordView> batch;
  auto bad = [&](uint64_t offset, const std::string& what) {
    return raft::make_error(raft::ErrorCode::Io,
                            raft::format("%s: offset %lu: %s", path.c_str(), offset, what.c_str()));
  };
  switch (reader.read_batch(&batch)) {
    case LogReader::Status::kCorruption:
      return raft::make_error(raft::ErrorCode::Io, reader.error());
    case LogReader::Status::kEof:
      // A snapshot file is complete by construction (renamed only after it was written).
      return raft::make_error(raft::ErrorCode::Io,
                              reader.torn_tail() ? reader.torn_reason() + " (incomplete snapshot)"
                                                 : path + ": empty snapshot file");
    case LogReader::Status::kBatch:
      break;
  }
  if (reader.valid_end() != image->size()) {
    return bad(reader.valid_end(), "unexpected bytes after the snapshot");
  }
  raft::Snapshot snap;
  const RecordView& head = batch.front();
  if (head.type != static_cast<uint8_t>(RecordType::kSnapshotMeta) || head.payload.size() < 8) {
    return bad(head.offset, "snapshot file does not start with its metadata");
  }
  if (load_u32(head.payload.data()) != kSnapshotMagic) return bad(head.offset, "bad magic");
  if (load_u32(head.payload.data() + 4) != kFormatVersion) {
    return bad(head.offset, "unsupported format version");
  }
  if (!decode_snapshot_metadata(head.payload.substr(8), &snap.metadata)) {
    return bad(head.offset, "undecodable snapshot metadata");
  }
  size_t bytes = 0;
  for (size_t i = 1; i < batch.size(); ++i) {
    if (batch[i].type != static_cast<uint8_t>(RecordType::kSnapshotData)) {
      return bad(batch[i].offset, raft::format("unexpected record type %u", batch[i].type));
    }
    bytes += batch[i].payload.size();
  }
  snap.data.reserve(bytes);
  for (size_t i = 1; i < batch.size(); ++i) snap.data.append(batch[i].payload);
  return snap;
}

}  // namespace storage
