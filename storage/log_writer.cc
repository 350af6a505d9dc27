#include "storage/log_writer.h"

#include <xxhash.h>

#include "raft/check.h"
#include "storage/coding.h"

namespace storage {

uint32_t checksum(const char* data, size_t n) {
  return static_cast<uint32_t>(XXH3_64bits(data, n));
}

namespace {

// Fills in the two checksums of the header at `h` whose length and type are already set.
void seal_header(char* h, std::string_view payload) {
  store_u32(h + 4, checksum(payload.data(), payload.size()));
  store_u32(h, checksum(h + 4, kHeaderSize - 4));
}

}  // namespace

void encode_record(RecordType type, bool more, std::string_view payload, std::string* out) {
  RAFT_CHECK(payload.size() <= kMaxPayloadBytes, "record payload of %zu bytes is too large",
             payload.size());
  const size_t at = out->size();
  out->resize(at + kHeaderSize);
  out->append(payload.data(), payload.size());
  char* h = out->data() + at;
  store_u32(h + 8, static_cast<uint32_t>(payload.size()));
  h[12] = static_cast<char>(static_cast<uint8_t>(type) | (more ? kMoreFlag : 0));
  seal_header(h, payload);
}

LogWriter::LogWriter(std::unique_ptr<WritableFile> file, uint64_t size)
    : file_(std::move(file)), size_(size) {}

uint64_t LogWriter::add(RecordType type, std::string_view payload) {
  open_record_ = buf_.size();
  encode_record(type, /*more=*/true, payload, &buf_);
  return size_ + open_record_;
}

void LogWriter::end_batch() {
  if (open_record_ == std::string::npos) return;
  char* h = buf_.data() + open_record_;
  h[12] = static_cast<char>(static_cast<uint8_t>(h[12]) & kTypeMask);
  // Only the type byte changed: the payload checksum stands, the header checksum does not.
  store_u32(h, checksum(h + 4, kHeaderSize - 4));
  open_record_ = std::string::npos;
}

raft::Result<void> LogWriter::write() {
  RAFT_CHECK(open_record_ == std::string::npos, "write() with a batch still open");
  if (buf_.empty()) return {};
  auto r = file_->append(buf_);
  if (r.ok()) size_ += buf_.size();
  buf_.clear();
  return r;
}

raft::Result<void> LogWriter::sync() { return file_->sync(); }

}  // namespace storage
