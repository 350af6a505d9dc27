// ByteWriter / ByteReader: the small binary encoding shared by the node's own formats (KV
// commands inside Raft entries, KV snapshots, member address lists).
//
// Integers are little-endian fixed width; strings are a u32 length then the bytes. The reader
// never reads past its input and never allocates more than the bytes that remain: every
// length is checked against the remaining input BEFORE anything is reserved, so corrupt or
// hostile bytes cannot make it allocate gigabytes (the cereal pitfall in TOOLCHAIN.md).
// Once a read fails the reader stays failed (ok() == false) and returns zero values.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace node {

class ByteWriter {
 public:
  void u8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void u32(uint32_t v) { put_le(v, 4); }
  void u64(uint64_t v) { put_le(v, 8); }
  void str(std::string_view s) {
    u32(static_cast<uint32_t>(s.size()));
    out_.append(s.data(), s.size());
  }
  std::string take() { return std::move(out_); }
  const std::string& bytes() const { return out_; }

 private:
  void put_le(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
  std::string out_;
};

class ByteReader {
 public:
  explicit ByteReader(std::string_view in) : in_(in) {}

  uint8_t u8() { return static_cast<uint8_t>(get_le(1)); }
  uint32_t u32() { return static_cast<uint32_t>(get_le(4)); }
  uint64_t u64() { return get_le(8); }
  // A string no longer than the remaining input (checked before allocating).
  std::string str() {
    const uint32_t n = u32();
    if (!ok_ || n > remaining()) return fail(), std::string();
    std::string s(in_.substr(pos_, n));
    pos_ += n;
    return s;
  }
  // A count of items each at least `min_item_bytes` long: fails if the input cannot hold
  // that many, so a corrupt count cannot drive a huge loop or reservation.
  uint64_t count(uint64_t min_item_bytes) {
    const uint64_t n = u64();
    if (!ok_ || (min_item_bytes > 0 && n > remaining() / min_item_bytes)) return fail(), 0;
    return n;
  }

  bool ok() const { return ok_; }
  bool at_end() const { return pos_ == in_.size(); }
  size_t remaining() const { return in_.size() - pos_; }
  void fail() { ok_ = false; }

 private:
  uint64_t get_le(int n) {
    if (!ok_ || remaining() < static_cast<size_t>(n)) return fail(), 0;
    uint64_t v = 0;
    for (int i = 0; i < n; ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(in_[pos_ + i])) << (8 * i);
    pos_ += n;
    return v;
  }

  std::string_view in_;
  size_t pos_ = 0;
  bool ok_ = true;
};

// ByteReader's interface over input that arrives in pieces (a snapshot file read record by
// record): `next` returns the next piece, or false at the end; a non-empty *error then means
// the input was damaged, and the reader fails. `max_bytes` bounds the whole input (the file
// size) and stands for "the remaining input" in the checks of lengths and counts, so corrupt
// input can allocate at most that much.
class StreamByteReader {
 public:
  using Next = std::function<bool(std::string* piece, std::string* error)>;
  StreamByteReader(Next next, uint64_t max_bytes) : next_(std::move(next)), max_bytes_(max_bytes) {}

  uint8_t u8() { return static_cast<uint8_t>(get_le(1)); }
  uint32_t u32() { return static_cast<uint32_t>(get_le(4)); }
  uint64_t u64() { return get_le(8); }
  std::string str() {
    const uint32_t n = u32();
    if (!ok_ || n > remaining()) return fail(), std::string();
    std::string s;
    s.reserve(n);
    while (ok_ && s.size() < n) {
      if (pos_ == buf_.size() && !pull()) return fail(), std::string();
      const size_t take = std::min<size_t>(n - s.size(), buf_.size() - pos_);
      s.append(buf_, pos_, take);
      pos_ += take;
      consumed_ += take;
    }
    return s;
  }
  uint64_t count(uint64_t min_item_bytes) {
    const uint64_t n = u64();
    if (!ok_ || (min_item_bytes > 0 && n > remaining() / min_item_bytes)) return fail(), 0;
    return n;
  }

  bool ok() const { return ok_; }
  // True once every piece was read and used up (pulls the next piece to know).
  bool at_end() {
    if (!ok_ || pos_ != buf_.size() || pull()) return false;
    return ok_;  // pull() fails the reader when the end was an error
  }
  uint64_t remaining() const { return consumed_ <= max_bytes_ ? max_bytes_ - consumed_ : 0; }
  void fail() { ok_ = false; }
  const std::string& error() const { return error_; }

 private:
  // Replaces the used-up buffer with the next non-empty piece; false at the end or on error.
  bool pull() {
    std::string piece;
    while (next_(&piece, &error_)) {
      if (piece.empty()) continue;
      buf_ = std::move(piece);
      pos_ = 0;
      return true;
    }
    if (!error_.empty()) fail();
    return false;
  }
  uint64_t get_le(int n) {
    uint64_t v = 0;
    for (int i = 0; i < n; ++i) {
      if (!ok_ || (pos_ == buf_.size() && !pull())) return fail(), 0;
      v |= static_cast<uint64_t>(static_cast<uint8_t>(buf_[pos_++])) << (8 * i);
      ++consumed_;
    }
    return v;
  }

  Next next_;
  uint64_t max_bytes_;
  std::string buf_;
  size_t pos_ = 0;
  uint64_t consumed_ = 0;
  bool ok_ = true;
  std::string error_;
};

}  // namespace node
