#include "storage/snapshot_stream.h"

#include <xxhash.h>

#include "raft/check.h"
#include "storage/coding.h"
#include "storage/log_format.h"
#include "storage/log_writer.h"
#include "storage/records.h"

namespace storage {
namespace {

// "SNAPDESC" read as a little-endian u64: a KV snapshot starts with "RKV1", an empty
// Snapshot::data has no magic at all.
constexpr uint64_t kDescriptorMagic = 0x4353454450414e53ull;
constexpr uint32_t kDescriptorVersion = 1;

raft::Error io(std::string message) { return raft::make_error(raft::ErrorCode::Io, std::move(message)); }

}  // namespace

std::string encode_snapshot_descriptor(const SnapshotDescriptor& d) {
  std::string out;
  Encoder e(&out);
  e.put_u64(kDescriptorMagic);
  e.put_u32(kDescriptorVersion);
  e.put_u64(d.index);
  e.put_u64(d.term);
  e.put_u64(d.file_size);
  e.put_u64(d.file_hash);
  return out;
}

std::optional<SnapshotDescriptor> decode_snapshot_descriptor(std::string_view data) {
  Decoder dec(data);
  uint64_t magic = 0;
  uint32_t version = 0;
  SnapshotDescriptor d;
  dec.get_u64(&magic);
  dec.get_u32(&version);
  dec.get_u64(&d.index);
  dec.get_u64(&d.term);
  dec.get_u64(&d.file_size);
  dec.get_u64(&d.file_hash);
  if (!dec.done() || magic != kDescriptorMagic || version != kDescriptorVersion) return std::nullopt;
  return d;
}

raft::Result<std::pair<uint64_t, uint64_t>> hash_file(Env& env, const std::string& path, size_t buffer_bytes) {
  auto size = env.file_size(path);
  if (!size.ok()) return size.error();
  auto file = env.open_random_access(path);
  if (!file.ok()) return file.error();
  std::unique_ptr<XXH3_state_t, decltype(&XXH3_freeState)> state(XXH3_createState(), &XXH3_freeState);
  XXH3_64bits_reset(state.get());
  std::string buf;
  for (uint64_t off = 0; off < *size;) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(buffer_bytes, *size - off));
    if (auto r = (*file)->read(off, n, &buf); !r.ok()) return r.error();
    XXH3_64bits_update(state.get(), buf.data(), buf.size());
    off += n;
  }
  return std::make_pair(static_cast<uint64_t>(XXH3_64bits_digest(state.get())), *size);
}

raft::Result<std::unique_ptr<SnapshotFileReader>> SnapshotFileReader::open(Env& env, const std::string& path) {
  auto size = env.file_size(path);
  if (!size.ok()) return size.error();
  auto file = env.open_random_access(path);
  if (!file.ok()) return file.error();
  std::unique_ptr<SnapshotFileReader> r(new SnapshotFileReader(std::move(*file), path, *size));
  uint8_t type = 0;
  bool more = false;
  std::string head;
  auto refuse = [&](const char* what) -> raft::Error {
    r->fail(what);
    return *r->error_;
  };
  if (!r->read_record(&type, &more, &head)) return *r->error_;
  if (type != static_cast<uint8_t>(RecordType::kSnapshotMeta) || head.size() < 8) {
    return refuse("snapshot file does not start with its metadata");
  }
  if (load_u32(head.data()) != kSnapshotMagic) return refuse("bad magic");
  if (load_u32(head.data() + 4) != kFormatVersion) return refuse("unsupported format version");
  if (!decode_snapshot_metadata(std::string_view(head).substr(8), &r->metadata_)) {
    return refuse("undecodable snapshot metadata");
  }
  r->more_ = more;
  return r;
}

bool SnapshotFileReader::fail(const std::string& what) {
  if (!error_) error_ = io(raft::format("%s: offset %lu: %s", path_.c_str(), pos_, what.c_str()));
  return false;
}

bool SnapshotFileReader::read_record(uint8_t* type, bool* more, std::string* payload) {
  if (error_) return false;
  if (size_ - pos_ < kHeaderSize) return fail("the file ends inside a record header (incomplete snapshot)");
  std::string h;
  if (auto r = file_->read(pos_, kHeaderSize, &h); !r.ok()) return error_ = r.error(), false;
  if (load_u32(h.data()) != checksum(h.data() + 4, kHeaderSize - 4)) return fail("record header checksum mismatch");
  const uint32_t length = load_u32(h.data() + 8);
  if (length > kMaxPayloadBytes || length > size_ - pos_ - kHeaderSize) {
    return fail("record length past the end of the file (incomplete snapshot)");
  }
  if (auto r = file_->read(pos_ + kHeaderSize, length, payload); !r.ok()) return error_ = r.error(), false;
  if (load_u32(h.data() + 4) != checksum(payload->data(), payload->size())) {
    return fail("record payload checksum mismatch");
  }
  *type = static_cast<uint8_t>(h[12]) & kTypeMask;
  *more = (static_cast<uint8_t>(h[12]) & kMoreFlag) != 0;
  pos_ += kHeaderSize + length;
  return true;
}

bool SnapshotFileReader::next(std::string* chunk) {
  if (error_) return false;
  if (!more_) {
    // The batch is over: the file must be too.
    if (pos_ != size_) return fail("unexpected bytes after the snapshot");
    return false;
  }
  uint8_t type = 0;
  if (!read_record(&type, &more_, chunk)) return false;
  if (type != static_cast<uint8_t>(RecordType::kSnapshotData)) {
    return fail(raft::format("unexpected record type %u", type));
  }
  return true;
}

raft::Result<raft::SnapshotMetadata> verify_snapshot_file(Env& env, const std::string& path) {
  auto reader = SnapshotFileReader::open(env, path);
  if (!reader.ok()) return reader.error();
  std::string chunk;
  while ((*reader)->next(&chunk)) {
  }
  if ((*reader)->error()) return *(*reader)->error();
  return (*reader)->metadata();
}

}  // namespace storage
