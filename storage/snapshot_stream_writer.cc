#include "storage/snapshot_stream_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "storage/coding.h"
#include "storage/log_format.h"
#include "storage/log_writer.h"
#include "storage/records.h"

namespace storage {

SnapshotStreamWriter::~SnapshotStreamWriter() {
  if (fd_ >= 0) ::close(fd_);
}

int SnapshotStreamWriter::open(const std::string& path, const raft::SnapshotMetadata& metadata) {
  path_ = path;
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) return error_ = errno;
  pending_.reserve(kChunkBytes + (64u << 10));
  frame_.reserve(kChunkBytes + (64u << 10) + kHeaderSize);
  std::string meta;
  Encoder e(&meta);
  e.put_u32(kSnapshotMagic);
  e.put_u32(kFormatVersion);
  meta += encode_snapshot_metadata(metadata);
  return emit(meta, /*more=*/true, RecordType::kSnapshotMeta);
}

int SnapshotStreamWriter::append(std::string_view data) {
  if (error_ != 0) return error_;
  pending_.append(data.data(), data.size());
  // Keep at least one byte back: the last record of the batch (without kMoreFlag) is only
  // known at finish().
  size_t done = 0;
  while (pending_.size() - done > kChunkBytes) {
    if (int e = emit(std::string_view(pending_).substr(done, kChunkBytes), /*more=*/true); e != 0) return e;
    done += kChunkBytes;
  }
  if (done > 0) pending_.erase(0, done);
  return 0;
}

int SnapshotStreamWriter::finish(bool sync, const std::string& rename_to) {
  if (error_ != 0) return error_;
  if (int e = emit(pending_, /*more=*/false); e != 0) return e;
  pending_.clear();
  if (sync && ::fdatasync(fd_) != 0) return error_ = errno;
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) return error_ = errno;
  if (rename_to.empty()) return 0;
  if (::rename(path_.c_str(), rename_to.c_str()) != 0) return error_ = errno;
  if (!sync) return 0;
  const auto slash = rename_to.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : rename_to.substr(0, slash);
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return error_ = errno;
  const int r = ::fsync(dfd) != 0 ? errno : 0;
  ::close(dfd);
  return error_ = r;
}

int SnapshotStreamWriter::emit(std::string_view payload, bool more, RecordType type) {
  frame_.clear();
  encode_record(type, more, payload, &frame_);
  return write_all(frame_);
}

int SnapshotStreamWriter::write_all(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd_, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return error_ = errno;
    }
    bytes.remove_prefix(static_cast<size_t>(n));
    written_ += static_cast<uint64_t>(n);
  }
  return 0;
}

}  // namespace storage
