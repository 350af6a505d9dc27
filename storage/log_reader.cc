#include "storage/log_reader.h"

#include "raft/check.h"
#include "storage/coding.h"
#include "storage/log_writer.h"

namespace storage {

LogReader::LogReader(std::string_view data, std::string file)
    : data_(data), file_(std::move(file)) {}

bool LogReader::zeros_from(uint64_t at) const {
  for (uint64_t i = at; i < data_.size(); ++i) {
    if (data_[i] != 0) return false;
  }
  return true;
}

LogReader::Status LogReader::torn(uint64_t at, std::string reason) {
  torn_reason_ = raft::format("%s: offset %lu: %s", file_.c_str(), at, reason.c_str());
  pos_ = data_.size();
  return Status::kEof;
}

LogReader::Status LogReader::corrupt(uint64_t at, std::string problem) {
  error_ = raft::format("%s: offset %lu: %s", file_.c_str(), at, problem.c_str());
  pos_ = data_.size();
  return Status::kCorruption;
}

LogReader::Status LogReader::read_batch(std::vector<RecordView>* batch) {
  batch->clear();
  if (!error_.empty()) return Status::kCorruption;
  const uint64_t batch_start = pos_;
  while (true) {
    const uint64_t rem = data_.size() - pos_;
    if (rem == 0) {
      if (batch->empty()) return Status::kEof;
      return torn(batch_start, "batch not finished at end of file");
    }
    if (rem < kHeaderSize) {
      return torn(batch_start, raft::format("record header cut short (%lu of %zu bytes)", rem,
                                            kHeaderSize));
    }
    const char* h = data_.data() + pos_;
    if (load_u32(h) != checksum(h + 4, kHeaderSize - 4)) {
      // Only zeros after this header: a write cut inside the header, the rest of its length
      // zero-filled (or just a preallocated tail).
      if (zeros_from(pos_ + kHeaderSize)) return torn(batch_start, "zero-filled tail");
      return corrupt(pos_, "record header checksum mismatch");
    }
    const uint32_t length = load_u32(h + 8);
    const uint8_t type_byte = static_cast<uint8_t>(h[12]);
    const uint8_t type = type_byte & kTypeMask;
    if (type == 0 || type > kMaxRecordType) {
      return corrupt(pos_, raft::format("unknown record type %u", type));
    }
    if (length > kMaxPayloadBytes) {
      return corrupt(pos_, raft::format("record length %u exceeds the limit", length));
    }
    if (length > rem - kHeaderSize) {
      return torn(batch_start, raft::format("record of %u bytes cut short at end of file",
                                            length));
    }
    std::string_view payload(h + kHeaderSize, length);
    const uint64_t end = pos_ + kHeaderSize + length;
    if (load_u32(h + 4) != checksum(payload.data(), payload.size())) {
      if (zeros_from(end)) return torn(batch_start, "payload checksum mismatch in the last record");
      return corrupt(pos_, "record payload checksum mismatch");
    }
    batch->push_back(RecordView{type, pos_, length, payload});
    pos_ = end;
    if ((type_byte & kMoreFlag) == 0) {
      valid_end_ = pos_;
      return Status::kBatch;
    }
  }
}

}  // namespace storage
