#include "storage/disk_storage.h"

#include <algorithm>

#include "raft/check.h"
#include "storage/coding.h"
#include "storage/log_format.h"
#include "storage/snapshot_file.h"
#include "storage/snapshot_stream.h"

namespace storage {
namespace {

raft::Error io(std::string message) {
  return raft::make_error(raft::ErrorCode::Io, std::move(message));
}

// Memory an entry costs in the cache: its bytes plus the Entry object itself.
size_t cache_cost(const raft::Entry& e) { return e.payload_size() + sizeof(raft::Entry); }

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

constexpr const char* kNoSpacePrefix = "disk full in ";

}  // namespace

bool is_no_space(const raft::Error& e) {
  return e.code == raft::ErrorCode::Io && e.message.rfind(kNoSpacePrefix, 0) == 0;
}

DiskStorage::DiskStorage(std::string node_dir, const Options& opts, bool read_only)
    : env_(opts.env ? opts.env : default_env()),
      layout_(std::move(node_dir)),
      opts_(opts),
      read_only_(read_only) {}

DiskStorage::~DiskStorage() = default;

raft::Result<std::unique_ptr<DiskStorage>> DiskStorage::open(const std::string& node_dir,
                                                             const Options& opts) {
  std::unique_ptr<DiskStorage> s(new DiskStorage(node_dir, opts, /*read_only=*/false));
  Env& env = *s->env_;
  const bool existed = env.is_directory(s->layout_.wal_dir) && env.is_directory(s->layout_.snap_dir);
  for (const std::string* dir : {&s->layout_.wal_dir, &s->layout_.snap_dir}) {
    auto r = env.create_dirs(*dir);
    if (!r.ok()) return r.error();
  }
  if (!existed && opts.fsync) {
    auto r = env.sync_dir(s->layout_.node_dir);
    if (!r.ok()) return r.error();
  }
  auto r = s->recover(nullptr);
  if (!r.ok()) return r.error();
  if (!s->segments_.empty()) {
    const SegmentFile& seg = s->segments_.rbegin()->second;
    auto file = env.open_appendable(seg.path);
    if (!file.ok()) return file.error();
    s->writer_ = std::make_unique<LogWriter>(std::move(*file), seg.size);
  }
  return s;
}

raft::Result<std::unique_ptr<DiskStorage>> DiskStorage::open_read_only(
    const std::string& node_dir, Env* env, const RecordSink& sink, RecoveryReport* report,
    std::vector<std::string>* warnings) {
  Options opts;
  opts.env = env;
  opts.fsync = false;
  std::unique_ptr<DiskStorage> s(new DiskStorage(node_dir, opts, /*read_only=*/true));
  auto r = s->recover(sink);
  if (report) *report = s->report_;
  if (warnings) *warnings = s->warnings_;
  if (!r.ok()) return r.error();
  return s;
}

bool DiskStorage::empty() const {
  return hs_.empty() && snap_.index == 0 && locs_.empty() && first_ == 1;
}

// --- Recovery ---

raft::Result<void> DiskStorage::recover(const RecordSink& sink) {
  std::vector<SegmentFile> files;
  if (env_->is_directory(layout_.wal_dir)) {
    auto names = env_->list_dir(layout_.wal_dir);
    if (!names.ok()) return names.error();
    for (const std::string& name : *names) {
      SegmentFile f;
      f.path = join_path(layout_.wal_dir, name);
      if (!parse_segment_name(name, &f.seq, &f.next_index)) {
        warnings_.push_back("ignoring unexpected file " + f.path);
        continue;
      }
      if (f.seq > UINT32_MAX) return io(f.path + ": segment sequence number out of range");
      files.push_back(std::move(f));
    }
  }
  std::sort(files.begin(), files.end(),
            [](const SegmentFile& a, const SegmentFile& b) { return a.seq < b.seq; });
  for (size_t k = 1; k < files.size(); ++k) {
    if (files[k].seq != files[k - 1].seq + 1) {
      return io(raft::format("%s: segments %lu to %lu are missing (the log has a hole)",
                             files[k].path.c_str(), files[k - 1].seq + 1, files[k].seq - 1));
    }
  }
  // Bytes of the segments after each one: entries further than about cache_bytes from the
  // end of the log would be evicted from the cache anyway, so replay does not copy them.
  std::vector<uint64_t> bytes_after(files.size(), 0);
  for (size_t k = files.size(); k-- > 1;) {
    auto size = env_->file_size(files[k].path);
    if (!size.ok()) return size.error();
    bytes_after[k - 1] = bytes_after[k] + *size;
  }
  for (size_t k = 0; k < files.size(); ++k) {
    auto r = replay_segment(files[k], k + 1 == files.size(), bytes_after[k], sink);
    if (!r.ok()) return r;
  }
  if (base_ != first_) {
    return io(raft::format("%s: entries %lu..%lu are missing: the segment that held them is gone",
                           layout_.wal_dir.c_str(), first_, base_ - 1));
  }
  return load_snapshots();
}

raft::Result<void> DiskStorage::replay_segment(const SegmentFile& file, bool is_last,
                                               uint64_t bytes_after, const RecordSink& sink) {
  // Reported even if the segment turns out damaged, so that check_data can list it.
  report_.segments.emplace_back();
  SegmentReport& rep = report_.segments.back();
  auto image = env_->read_file(file.path);
  if (!image.ok()) return image.error();
  rep.path = file.path;
  rep.seq = file.seq;
  rep.size = image->size();

  LogReader reader(*image, file.path);
  std::vector<RecordView> batch;
  bool first_batch = true;
  while (true) {
    const auto status = reader.read_batch(&batch);
    if (status == LogReader::Status::kCorruption) return io(reader.error());
    if (status == LogReader::Status::kEof) break;
    ++rep.batches;
    for (size_t j = 0; j < batch.size(); ++j) {
      const RecordView& rec = batch[j];
      if (sink) sink(file.path, rec);
      ++rep.records;
      auto bad = [&](const std::string& what) {
        return io(raft::format("%s: offset %lu: %s", file.path.c_str(), rec.offset, what.c_str()));
      };
      if (first_batch && j == 0) {
        SegmentHeader h;
        if (rec.type != static_cast<uint8_t>(RecordType::kSegmentHeader)) {
          return bad("the segment does not start with a segment header");
        }
        if (!decode_segment_header(rec.payload, &h)) return bad("undecodable segment header");
        if (h.magic != kSegmentMagic) return bad("bad magic number in the segment header");
        if (h.version != kFormatVersion) {
          return bad(raft::format("unsupported format version %u", h.version));
        }
        if (h.seq != file.seq) {
          return bad(raft::format("segment header says seq %lu, the file name %lu", h.seq, file.seq));
        }
        if (h.first_index == 0 || h.first_index > h.last_index + 1 || h.last_index == UINT64_MAX) {
          return bad(raft::format("impossible log bounds [%lu..%lu] in the segment header",
                                  h.first_index, h.last_index));
        }
        if (segments_.empty()) {
          // The oldest segment: the log starts as its header says, with the entries it lists
          // before its own records unknown until they are superseded or compacted away.
          first_ = h.first_index;
          prev_term_ = h.prev_term;
          base_ = h.last_index + 1;
        } else if (h.first_index != first_ || h.last_index != last()) {
          return bad(raft::format(
              "the segment does not continue the previous one: its header says the log was "
              "[%lu..%lu], the segments before it end with [%lu..%lu]",
              h.first_index, h.last_index, first_, last()));
        }
        continue;
      }
      if (rec.type == static_cast<uint8_t>(RecordType::kEntries) && rec.payload.size() >= 12) {
        const raft::Index lo = load_u64(rec.payload.data());
        const uint32_t n = load_u32(rec.payload.data() + 8);
        rep.entries += n;
        if (rep.min_index == 0 || lo < rep.min_index) rep.min_index = lo;
        rep.max_index = std::max<raft::Index>(rep.max_index, lo + n - 1);
      }
      const uint64_t to_end = image->size() - rec.offset + bytes_after;
      const bool cache = to_end <= opts_.cache_bytes;
      auto r = apply_record(rec, static_cast<uint32_t>(file.seq), file.path, cache);
      if (!r.ok()) return r;
    }
    first_batch = false;
  }
  rep.valid_bytes = reader.valid_end();
  if (reader.torn_tail() || reader.valid_end() == 0) {
    const std::string why =
        reader.torn_tail() ? reader.torn_reason() : file.path + ": empty segment";
    if (!is_last) {
      return io(why + " (in a segment that is not the last one: corruption, not a torn write)");
    }
    rep.torn = why;
    if (reader.valid_end() == 0) {
      warnings_.push_back(why + (read_only_ ? ": no complete batch (removed when the node starts)"
                                            : ": no complete batch, segment removed"));
      if (!read_only_) {
        auto r = env_->remove_file(file.path);
        if (r.ok() && opts_.fsync) r = env_->sync_dir(layout_.wal_dir);
        if (!r.ok()) return r;
      }
    } else {
      warnings_.push_back(raft::format("%s: torn tail, %s %lu bytes (%lu bytes dropped)",
                                       why.c_str(),
                                       read_only_ ? "cut when the node starts to" : "truncated to",
                                       reader.valid_end(), image->size() - reader.valid_end()));
      if (!read_only_) {
        auto r = env_->truncate(file.path, reader.valid_end());
        if (!r.ok()) return r;
      }
    }
  }
  if (reader.valid_end() > 0) {
    SegmentFile kept = file;
    kept.size = reader.valid_end();
    segments_[file.seq] = kept;
  }
  return {};
}

raft::Result<void> DiskStorage::apply_record(const RecordView& rec, uint32_t seq,
                                             const std::string& file, bool cache) {
  auto bad = [&](const std::string& what) {
    return io(raft::format("%s: offset %lu: %s", file.c_str(), rec.offset, what.c_str()));
  };
  switch (static_cast<RecordType>(rec.type)) {
    case RecordType::kEntries: {
      raft::Index first = 0;
      std::vector<raft::Term> terms;
      std::vector<raft::Entry> ents;
      if (cache) {
        if (!decode_entries(rec.payload, &ents)) return bad("undecodable entries record");
        first = ents.front().index;
        terms.reserve(ents.size());
        for (const auto& e : ents) terms.push_back(e.term);
      } else if (!decode_entry_terms(rec.payload, &first, &terms)) {
        return bad("undecodable entries record");
      }
      std::string why =
          apply_entries(first, terms, cache ? &ents : nullptr, seq, rec.offset, rec.length);
      if (!why.empty()) return bad(why);
      return {};
    }
    case RecordType::kHardState: {
      raft::HardState hs;
      if (!decode_hard_state(rec.payload, &hs)) return bad("undecodable hard state record");
      hs_ = hs;
      return {};
    }
    case RecordType::kSnapshotMarker: {
      raft::SnapshotMetadata m;
      if (!decode_snapshot_metadata(rec.payload, &m)) return bad("undecodable snapshot marker");
      if (m.index < snap_.index) {
        return bad(raft::format("snapshot marker at %lu goes back from %lu", m.index, snap_.index));
      }
      snap_ = m;
      return {};
    }
    case RecordType::kLogStart: {
      LogStart s;
      if (!decode_log_start(rec.payload, &s)) return bad("undecodable log start record");
      std::string why = apply_log_start(s);
      if (!why.empty()) return bad(why);
      return {};
    }
    case RecordType::kSegmentHeader:
      return bad("segment header in the middle of a segment");
    default:
      return bad(raft::format("record type %u does not belong in a log segment", rec.type));
  }
}

raft::Result<void> DiskStorage::load_snapshots() {
  if (env_->is_directory(layout_.snap_dir)) {
    auto names = env_->list_dir(layout_.snap_dir);
    if (!names.ok()) return names.error();
    for (const std::string& name : *names) {
      const std::string path = join_path(layout_.snap_dir, name);
      raft::Index index = 0;
      if (ends_with(name, kPartSuffix)) {
        // A snapshot being received (docs/snapshots.md): the receiver resumes or removes it.
        continue;
      }
      if (ends_with(name, kTmpSuffix)) {
        warnings_.push_back(path + ": unfinished snapshot (a crash while writing it), removed");
        if (!read_only_) {
          auto r = env_->remove_file(path);
          if (!r.ok()) return r;
        }
      } else if (parse_snapshot_name(name, &index)) {
        SnapshotReport rep;
        rep.path = path;
        rep.index = index;
        auto size = env_->file_size(path);
        rep.size = size.ok() ? *size : 0;
        rep.in_use = index == snap_.index;
        if (index > snap_.index) {
          warnings_.push_back(path + ": ignored, the log has no marker for it (a crash before "
                                     "the marker was written)");
        }
        report_.snapshots.push_back(rep);
      } else {
        warnings_.push_back("ignoring unexpected file " + path);
      }
    }
  }
  if (snap_.index == 0) return {};
  const std::string path = join_path(layout_.snap_dir, snapshot_name(snap_.index));
  if (!env_->exists(path)) {
    return io(raft::format("%s: missing, but the log's snapshot marker refers to it (index %lu)",
                           path.c_str(), snap_.index));
  }
  // Verified record by record, never held whole in memory.
  auto meta = verify_snapshot_file(*env_, path);
  if (!meta.ok()) return meta.error();
  if (!(*meta == snap_)) {
    return io(raft::format("%s: metadata (index %lu, term %lu) does not match the log's snapshot "
                           "marker (index %lu, term %lu)",
                           path.c_str(), meta->index, meta->term, snap_.index, snap_.term));
  }
  return {};
}

// --- In-memory effects ---

std::string DiskStorage::apply_entries(raft::Index i, const std::vector<raft::Term>& terms,
                                       std::vector<raft::Entry>* ents, uint32_t seq,
                                       uint64_t offset, uint32_t length) {
  if (terms.empty()) return {};
  if (i < first_) {
    return raft::format("entries from %lu overwrite compacted entries (the first is %lu)", i,
                        first_);
  }
  if (i > last() + 1) return raft::format("entries from %lu leave a gap after %lu", i, last());
  if (i < base_) {
    // Supersedes entries that were in segments not replayed: none of them is left.
    locs_.clear();
    cache_.clear();
    cache_bytes_ = 0;
    base_ = i;
  } else {
    while (!cache_.empty() && cache_.back().index >= i) {
      cache_bytes_ -= cache_cost(cache_.back());
      cache_.pop_back();
    }
    locs_.resize(i - base_);
  }
  for (raft::Term t : terms) locs_.push_back(EntryLoc{t, offset, seq, length});
  if (!ents) {
    cache_.clear();
    cache_bytes_ = 0;
    return {};
  }
  for (raft::Entry& e : *ents) {
    cache_bytes_ += cache_cost(e);
    cache_.push_back(std::move(e));
  }
  trim_cache();
  return {};
}

std::string DiskStorage::apply_log_start(const LogStart& s) {
  const raft::Index f = s.first_index;
  if (f == 0 || f == UINT64_MAX) return raft::format("impossible first index %lu", f);
  if (s.reset) {
    locs_.clear();
    cache_.clear();
    cache_bytes_ = 0;
    first_ = base_ = f;
    prev_term_ = s.prev_term;
    return {};
  }
  if (f < first_ || f > last() + 1) {
    return raft::format("log start at %lu is outside the log [%lu..%lu]", f, first_, last());
  }
  if (f - 1 >= base_ && locs_[f - 1 - base_].term != s.prev_term) {
    return raft::format("log start says entry %lu has term %lu, the log says %lu", f - 1,
                        s.prev_term, locs_[f - 1 - base_].term);
  }
  if (f > base_) {
    locs_.erase(locs_.begin(), locs_.begin() + static_cast<std::ptrdiff_t>(f - base_));
    base_ = f;
    while (!cache_.empty() && cache_.front().index < f) {
      cache_bytes_ -= cache_cost(cache_.front());
      released_.push_back(std::move(cache_.front()));
      cache_.pop_front();
    }
  }
  first_ = f;
  prev_term_ = s.prev_term;
  return {};
}

void DiskStorage::trim_cache() {
  while (cache_bytes_ > opts_.cache_bytes && !cache_.empty()) {
    cache_bytes_ -= cache_cost(cache_.front());
    cache_.pop_front();
  }
}

// --- Reads ---

raft::Result<raft::RaftState> DiskStorage::initial_state() const {
  return raft::RaftState{hs_, snap_.conf_state};
}

raft::Result<raft::Index> DiskStorage::first_index() const { return first_; }

raft::Result<raft::Index> DiskStorage::last_index() const { return last(); }

raft::Result<raft::Term> DiskStorage::term(raft::Index idx) const {
  if (idx + 1 < first_) {
    return raft::make_error(raft::ErrorCode::Compacted,
                            raft::format("term of %lu, first kept is %lu", idx, first_));
  }
  if (idx > last()) {
    return raft::make_error(raft::ErrorCode::Unavailable,
                            raft::format("term of %lu, last is %lu", idx, last()));
  }
  if (idx + 1 == first_) return prev_term_;
  return locs_[idx - base_].term;
}

raft::Result<std::string> DiskStorage::read_record(const EntryLoc& loc) const {
  auto seg = segments_.find(loc.seq);
  RAFT_CHECK(seg != segments_.end(), "entry in segment %u, which is not open", loc.seq);
  const std::string& path = seg->second.path;
  auto& reader = readers_[loc.seq];
  if (!reader) {
    auto f = env_->open_random_access(path);
    if (!f.ok()) return f.error();
    reader = std::move(*f);
  }
  std::string buf;
  auto r = reader->read(loc.offset, kHeaderSize + loc.length, &buf);
  if (!r.ok()) return r.error();
  const char* h = buf.data();
  auto bad = [&](const char* what) {
    return io(raft::format("%s: offset %lu: %s (reading back entries)", path.c_str(), loc.offset,
                           what));
  };
  if (load_u32(h) != checksum(h + 4, kHeaderSize - 4)) return bad("record header checksum mismatch");
  if (load_u32(h + 8) != loc.length ||
      (static_cast<uint8_t>(h[12]) & kTypeMask) != static_cast<uint8_t>(RecordType::kEntries)) {
    return bad("not the entries record the index points to");
  }
  if (load_u32(h + 4) != checksum(h + kHeaderSize, loc.length)) {
    return bad("record payload checksum mismatch");
  }
  buf.erase(0, kHeaderSize);
  return buf;
}

raft::Result<std::vector<raft::Entry>> DiskStorage::entries(raft::Index lo, raft::Index hi,
                                                            uint64_t max_size) const {
  if (lo < first_) {
    return raft::make_error(raft::ErrorCode::Compacted,
                            raft::format("entries from %lu, first kept is %lu", lo, first_));
  }
  if (hi > last() + 1) {
    return raft::make_error(raft::ErrorCode::Unavailable,
                            raft::format("entries up to %lu, last is %lu", hi - 1, last()));
  }
  RAFT_CHECK(lo <= hi, "invalid range [%lu, %lu)", lo, hi);
  std::vector<raft::Entry> out;
  uint64_t size = 0;
  // Same rule as raft::limit_size: the first entry always, then while the total fits.
  auto fits = [&](const raft::Entry& e) {
    return out.empty() || size + e.payload_size() <= max_size;
  };
  const raft::Index cached_from = cache_first();
  raft::Index i = lo;
  while (i < hi) {
    if (i >= cached_from) {
      const raft::Entry& e = cache_[i - cached_from];
      if (!fits(e)) break;
      size += e.payload_size();
      out.push_back(e);
      ++i;
      continue;
    }
    const EntryLoc loc = locs_[i - base_];
    auto payload = read_record(loc);
    if (!payload.ok()) return payload.error();
    std::vector<raft::Entry> ents;
    const std::string& path = segments_.at(loc.seq).path;
    if (!decode_entries(*payload, &ents)) {
      return io(raft::format("%s: offset %lu: undecodable entries record (reading back entries)",
                             path.c_str(), loc.offset));
    }
    const raft::Index rec_first = ents.front().index;
    if (i < rec_first || i - rec_first >= ents.size()) {
      return io(raft::format("%s: offset %lu: record does not hold entry %lu", path.c_str(),
                             loc.offset, i));
    }
    bool full = false;
    while (i < hi && i < cached_from && i - rec_first < ents.size()) {
      const EntryLoc& l = locs_[i - base_];
      if (l.seq != loc.seq || l.offset != loc.offset) break;  // superseded from here on
      raft::Entry& e = ents[i - rec_first];
      if (e.term != l.term) {
        return io(raft::format("%s: offset %lu: entry %lu has term %lu, the index says %lu",
                               path.c_str(), loc.offset, i, e.term, l.term));
      }
      if (!fits(e)) {
        full = true;
        break;
      }
      size += e.payload_size();
      out.push_back(std::move(e));
      ++i;
    }
    if (full) break;
  }
  return out;
}

raft::Result<raft::Snapshot> DiskStorage::snapshot(raft::Index request_index) const {
  if (snap_.index < request_index) {
    return raft::make_error(raft::ErrorCode::SnapshotTemporarilyUnavailable,
                            raft::format("snapshot at %lu, %lu requested", snap_.index,
                                         request_index));
  }
  if (snap_.index == 0) return raft::Snapshot{};
  auto snap = read_snapshot_file(*env_, join_path(layout_.snap_dir, snapshot_name(snap_.index)));
  if (!snap.ok()) return snap.error();
  if (!(snap->metadata == snap_)) {
    return io(raft::format("snapshot file %lu does not match the snapshot marker", snap_.index));
  }
  return snap;
}

raft::Result<raft::Snapshot> DiskStorage::snapshot_descriptor(raft::Index request_index) const {
  if (snap_.index < request_index) {
    return raft::make_error(raft::ErrorCode::SnapshotTemporarilyUnavailable,
                            raft::format("snapshot at %lu, %lu requested", snap_.index,
                                         request_index));
  }
  if (snap_.index == 0) return raft::Snapshot{};
  auto it = snapshot_hashes_.find(snap_.index);
  if (it == snapshot_hashes_.end()) {
    auto h = hash_file(*env_, snapshot_path(snap_.index));
    if (!h.ok()) return h.error();
    it = snapshot_hashes_.emplace(snap_.index, *h).first;
  }
  raft::Snapshot snap;
  snap.metadata = snap_;
  snap.data = encode_snapshot_descriptor(
      SnapshotDescriptor{snap_.index, snap_.term, it->second.second, it->second.first});
  return snap;
}

std::string DiskStorage::snapshot_path(raft::Index index) const {
  return join_path(layout_.snap_dir, snapshot_name(index));
}

void DiskStorage::pin_snapshot(raft::Index index) { pinned_.insert(index); }

void DiskStorage::unpin_snapshot(raft::Index index) {
  auto it = pinned_.find(index);
  RAFT_CHECK(it != pinned_.end(), "snapshot %lu is not pinned", index);
  pinned_.erase(it);
  if (!read_only_ && index != snap_.index && pinned_.count(index) == 0) {
    // Compaction skipped it while it was pinned.
    (void)env_->remove_file(snapshot_path(index));
    snapshot_hashes_.erase(index);
  }
}

// --- Writes ---

raft::Result<void> DiskStorage::check_writable() const {
  if (read_only_) return io(layout_.node_dir + ": storage opened read-only");
  if (failure_) return io("storage failed earlier and refuses writes: " + failure_->message);
  return {};
}

raft::Error DiskStorage::fail(const raft::Error& e) {
  failure_ = e;
  writer_.reset();  // its file's tail is unknown now
  return e;
}

raft::Error DiskStorage::no_space(const raft::Error& e) const {
  return io(kNoSpacePrefix + layout_.node_dir + ": " + e.message +
            " (nothing of this write was kept; it can be retried once space is freed)");
}

raft::Error DiskStorage::undo_failed_write(const raft::Error& e) {
  if (!is_out_of_space_error(e)) return fail(e);
  // The writer's size is the end of the last batch that was written whole: cut the partial
  // one off, so that no torn record stays in the middle of the stream once writes resume.
  const auto last = segments_.rbegin();
  const SegmentFile seg = last->second;
  if (writer_->size() == 0) {
    // Not even the segment's opening batch made it: forget the segment, the next write
    // starts it again (the one before it was synced when this one was started).
    writer_.reset();
    readers_.erase(seg.seq);
    auto r = env_->remove_file(seg.path);
    if (r.ok() && opts_.fsync) r = env_->sync_dir(layout_.wal_dir);
    if (!r.ok()) return fail(r.error());
    segments_.erase(seg.seq);
    unsynced_ = false;
    return no_space(e);
  }
  auto r = env_->truncate(seg.path, writer_->size());  // also syncs the file
  if (!r.ok()) return fail(r.error());
  unsynced_ = false;
  return no_space(e);
}

void DiskStorage::drop_snapshot_file(raft::Index index) {
  if (index == snap_.index) return;
  (void)env_->remove_file(join_path(layout_.snap_dir, snapshot_name(index)));
}

raft::Result<void> DiskStorage::start_segment() {
  const uint64_t seq = segments_.empty() ? 1 : segments_.rbegin()->first + 1;
  if (seq > UINT32_MAX) return io("too many segments");
  if (writer_ && unsynced_ && opts_.fsync) {
    // Every segment but the last must be complete on disk (segment.h).
    auto r = writer_->sync();
    if (!r.ok()) return r;
    unsynced_ = false;
  }
  SegmentFile seg;
  seg.seq = seq;
  seg.next_index = last() + 1;
  seg.path = join_path(layout_.wal_dir, segment_name(seq, seg.next_index));
  auto file = env_->open_appendable(seg.path);
  if (!file.ok()) return file.error();  // nothing changed: an out-of-space error is retryable
  if (opts_.fsync) {
    auto r = env_->sync_dir(layout_.wal_dir);
    if (!r.ok()) return r;
  }
  writer_ = std::make_unique<LogWriter>(std::move(*file), 0);
  segments_[seq] = seg;
  // Restate the stream's state so that the segments before this one can be deleted.
  SegmentHeader h{kSegmentMagic, kFormatVersion, seq, first_, prev_term_, last()};
  writer_->add(RecordType::kSegmentHeader, encode_segment_header(h));
  if (!hs_.empty()) writer_->add(RecordType::kHardState, encode_hard_state(hs_));
  if (snap_.index > 0) writer_->add(RecordType::kSnapshotMarker, encode_snapshot_metadata(snap_));
  writer_->end_batch();
  unsynced_ = true;
  return {};
}

raft::Result<void> DiskStorage::persist(const raft::Snapshot* snapshot,
                                        const std::vector<raft::Entry>& ents,
                                        const std::optional<raft::HardState>& hard_state,
                                        bool must_sync) {
  if (auto w = check_writable(); !w.ok()) return w;
  free_released(kReleasedPerPersist);
  raft::Index first = first_;
  raft::Index new_last = last();
  if (snapshot) {
    if (snapshot->metadata.index < snap_.index) {
      return raft::make_error(raft::ErrorCode::SnapshotOutOfDate,
                              raft::format("snapshot at %lu is older than %lu",
                                           snapshot->metadata.index, snap_.index));
    }
    RAFT_CHECK(snapshot->metadata.index > 0, "persisting an empty snapshot");
    first = snapshot->metadata.index + 1;
    new_last = snapshot->metadata.index;
  }
  if (!ents.empty()) {
    const raft::Index i = ents.front().index;
    RAFT_CHECK(i >= first, "append at %lu overwrites compacted entries (first kept %lu)", i, first);
    RAFT_CHECK(i <= new_last + 1, "append at %lu leaves a gap after %lu", i, new_last);
    for (size_t k = 1; k < ents.size(); ++k) {
      RAFT_CHECK(ents[k].index == i + k, "entries not consecutive: %lu at position %zu after %lu",
                 ents[k].index, k, i);
    }
  }
  raft::HardState hs = hs_;
  if (snapshot) {
    // As MemStorage::apply_snapshot: the snapshot implies its term and its commit.
    hs.term = std::max(hs.term, snapshot->metadata.term);
    hs.commit = std::max(hs.commit, snapshot->metadata.index);
  }
  if (hard_state) hs = *hard_state;
  const bool hs_changed = !(hs == hs_);
  const bool sync = (must_sync || snapshot) && opts_.fsync;

  if (!snapshot && ents.empty() && !hs_changed) {
    if (sync && unsynced_ && writer_) {
      if (auto r = writer_->sync(); !r.ok()) return fail(r.error());
      unsynced_ = false;
    }
    return {};
  }
  if (snapshot) {
    if (auto desc = decode_snapshot_descriptor(snapshot->data)) {
      // Received in chunks, verified, synced and renamed into snap/ already: adopt the file.
      const std::string path = snapshot_path(snapshot->metadata.index);
      auto size = env_->file_size(path);
      if (!size.ok()) return io("adopting a received snapshot: " + size.error().message);
      if (*size != desc->file_size || desc->index != snapshot->metadata.index) {
        return io(raft::format("%s: %lu bytes, the snapshot descriptor says %lu at index %lu", path.c_str(),
                               *size, desc->file_size, desc->index));
      }
      auto reader = SnapshotFileReader::open(*env_, path);
      if (!reader.ok()) return reader.error();
      if (!((*reader)->metadata() == snapshot->metadata)) {
        return io(path + ": metadata differs from the snapshot being adopted");
      }
      snapshot_hashes_[desc->index] = {desc->file_hash, desc->file_size};
    } else {
      auto r = write_snapshot_file(*env_, layout_.snap_dir, *snapshot, opts_.fsync);
      if (!r.ok()) return is_out_of_space_error(r.error()) ? no_space(r.error()) : fail(r.error());
    }
  }
  if (!writer_ || writer_->size() >= opts_.segment_bytes) {
    if (auto r = start_segment(); !r.ok()) {
      if (!is_out_of_space_error(r.error())) return fail(r.error());
      if (snapshot) drop_snapshot_file(snapshot->metadata.index);
      return no_space(r.error());
    }
  }
  LogStart reset{snapshot ? snapshot->metadata.index + 1 : 0,
                 snapshot ? snapshot->metadata.term : 0, true};
  if (snapshot) {
    writer_->add(RecordType::kSnapshotMarker, encode_snapshot_metadata(snapshot->metadata));
    writer_->add(RecordType::kLogStart, encode_log_start(reset));
  }
  uint64_t ents_offset = 0;
  uint32_t ents_length = 0;
  if (!ents.empty()) {
    std::string payload = encode_entries(ents);
    ents_length = static_cast<uint32_t>(payload.size());
    ents_offset = writer_->add(RecordType::kEntries, payload);
  }
  if (hs_changed) writer_->add(RecordType::kHardState, encode_hard_state(hs));
  writer_->end_batch();
  if (auto r = writer_->write(); !r.ok()) {
    raft::Error e = undo_failed_write(r.error());
    if (snapshot && is_no_space(e)) drop_snapshot_file(snapshot->metadata.index);
    return e;
  }
  unsynced_ = true;
  if (sync) {
    if (auto r = writer_->sync(); !r.ok()) return fail(r.error());
    unsynced_ = false;
  }

  // The batch is written (and synced if asked): now it may be seen.
  const uint32_t seq = static_cast<uint32_t>(segments_.rbegin()->first);
  if (snapshot) {
    snap_ = snapshot->metadata;
    std::string why = apply_log_start(reset);
    RAFT_CHECK(why.empty(), "%s", why.c_str());
  }
  if (!ents.empty()) {
    std::vector<raft::Entry> copy = ents;
    std::vector<raft::Term> terms;
    terms.reserve(ents.size());
    for (const auto& e : ents) terms.push_back(e.term);
    std::string why = apply_entries(ents.front().index, terms, &copy, seq, ents_offset, ents_length);
    RAFT_CHECK(why.empty(), "%s", why.c_str());
  }
  hs_ = hs;
  if (snapshot) {
    if (auto r = remove_obsolete_files(); !r.ok()) return fail(r.error());
  }
  return {};
}

raft::Result<void> DiskStorage::create_snapshot(raft::Index index, const raft::ConfState& cs,
                                                std::string data) {
  if (auto w = check_writable(); !w.ok()) return w;
  if (index <= snap_.index) {
    return raft::make_error(raft::ErrorCode::SnapshotOutOfDate,
                            raft::format("snapshot at %lu is not newer than %lu", index,
                                         snap_.index));
  }
  RAFT_CHECK(index <= last(), "snapshot at %lu is past the last index %lu", index, last());
  raft::Snapshot snap;
  snap.metadata.index = index;
  snap.metadata.term = *term(index);  // index >= snap_.index + 1 >= first_: always known
  snap.metadata.conf_state = cs;
  snap.data = std::move(data);
  if (auto r = write_snapshot_file(*env_, layout_.snap_dir, snap, opts_.fsync); !r.ok()) {
    return is_out_of_space_error(r.error()) ? no_space(r.error()) : fail(r.error());
  }
  return install_snapshot(snap.metadata);
}

std::string DiskStorage::snapshot_tmp_path(raft::Index index) const {
  return join_path(layout_.snap_dir, snapshot_name(index)) + kTmpSuffix;
}

raft::Result<void> DiskStorage::record_snapshot(const raft::SnapshotMetadata& meta) {
  const std::string tmp = snapshot_tmp_path(meta.index);
  auto discard = [&](raft::Error e) {
    (void)env_->remove_file(tmp);
    drop_snapshot_file(meta.index);  // renamed by its writer already (unless it is in force)
    return e;
  };
  if (auto w = check_writable(); !w.ok()) return discard(w.error());
  if (meta.index <= snap_.index) {
    // A snapshot received from the leader overtook this one while it was being written.
    return discard(raft::make_error(
        raft::ErrorCode::SnapshotOutOfDate,
        raft::format("snapshot at %lu is not newer than %lu", meta.index, snap_.index)));
  }
  RAFT_CHECK(meta.index <= last(), "snapshot at %lu is past the last index %lu", meta.index, last());
  const auto t = term(meta.index);
  RAFT_CHECK(t.ok() && *t == meta.term, "snapshot at %lu has term %lu, the log says otherwise",
             meta.index, meta.term);
  const std::string path = join_path(layout_.snap_dir, snapshot_name(meta.index));
  // The file was written and synced by whoever called snapshot_tmp_path(); the rename and
  // the folder sync make it complete on disk before a marker can refer to it. (A writer may
  // have done both already: then only the final name exists.)
  raft::Result<void> r;
  if (env_->exists(tmp) || !env_->exists(path)) {
    r = env_->rename(tmp, path);
    if (r.ok() && opts_.fsync) r = env_->sync_dir(layout_.snap_dir);
  }
  if (!r.ok()) {
    if (is_out_of_space_error(r.error())) {
      (void)env_->remove_file(tmp);
      return no_space(r.error());
    }
    return fail(r.error());
  }
  return install_snapshot(meta);
}

raft::Result<void> DiskStorage::install_snapshot(const raft::SnapshotMetadata& meta) {
  const raft::Index index = meta.index;
  // Keep keep_entries_after_snapshot entries up to the snapshot for slow followers.
  const uint64_t keep = opts_.keep_entries_after_snapshot;
  const raft::Index compact_to = std::max(first_, index + 1 > keep ? index + 1 - keep : 1);
  const LogStart start{compact_to, *term(compact_to - 1), false};

  if (!writer_ || writer_->size() >= opts_.segment_bytes) {
    if (auto r = start_segment(); !r.ok()) {
      if (!is_out_of_space_error(r.error())) return fail(r.error());
      drop_snapshot_file(index);
      return no_space(r.error());
    }
  }
  writer_->add(RecordType::kSnapshotMarker, encode_snapshot_metadata(meta));
  if (compact_to > first_) writer_->add(RecordType::kLogStart, encode_log_start(start));
  writer_->end_batch();
  if (auto r = writer_->write(); !r.ok()) {
    raft::Error e = undo_failed_write(r.error());
    if (is_no_space(e)) drop_snapshot_file(index);
    return e;
  }
  unsynced_ = true;
  if (opts_.fsync) {
    if (auto r = writer_->sync(); !r.ok()) return fail(r.error());
    unsynced_ = false;
  }
  snap_ = meta;
  if (compact_to > first_) {
    std::string why = apply_log_start(start);
    RAFT_CHECK(why.empty(), "%s", why.c_str());
  }
  if (auto r = remove_obsolete_files(); !r.ok()) return fail(r.error());
  return {};
}

raft::Result<void> DiskStorage::remove_obsolete_files() {
  // Segments before the one holding the first live entry hold nothing needed: the segment
  // after them restates the stream's state in its first batch.
  if (!segments_.empty()) {
    const uint64_t keep_from = locs_.empty() ? segments_.rbegin()->first : locs_.front().seq;
    for (auto it = segments_.begin(); it != segments_.end() && it->first < keep_from;) {
      readers_.erase(it->first);
      auto r = env_->remove_file(it->second.path);
      // One at a time, oldest first, each made durable before the next: a power cut can then
      // only leave a contiguous run of segments, never a hole.
      if (r.ok() && opts_.fsync) r = env_->sync_dir(layout_.wal_dir);
      if (!r.ok()) return r;
      it = segments_.erase(it);
    }
  }
  auto names = env_->list_dir(layout_.snap_dir);
  if (!names.ok()) return names.error();
  for (const std::string& name : *names) {
    raft::Index index = 0;
    if (parse_snapshot_name(name, &index) && index != snap_.index && pinned_.count(index) == 0) {
      auto r = env_->remove_file(join_path(layout_.snap_dir, name));
      if (!r.ok()) return r;
      snapshot_hashes_.erase(index);
    }
  }
  return {};
}

}  // namespace storage
