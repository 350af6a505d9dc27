// Little-endian encoding of the record payloads, by hand and with every length checked.
//
// Encoder appends to a std::string. Decoder reads from a string_view it does not own; every
// get_* checks the remaining bytes first and, once anything fails, stays failed (so a caller
// can decode a whole struct and test ok() once). A length prefix is compared with the bytes
// actually left before anything is allocated, so corrupt input can never cause a huge
// allocation.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace storage {

class Encoder {
 public:
  explicit Encoder(std::string* out) : out_(out) {}

  void put_u8(uint8_t v) { out_->push_back(static_cast<char>(v)); }
  void put_u32(uint32_t v) {
    char b[4];
    for (int i = 0; i < 4; ++i) b[i] = static_cast<char>(v >> (8 * i));
    out_->append(b, 4);
  }
  void put_u64(uint64_t v) {
    char b[8];
    for (int i = 0; i < 8; ++i) b[i] = static_cast<char>(v >> (8 * i));
    out_->append(b, 8);
  }
  // A u32 length followed by the bytes.
  void put_bytes(std::string_view s) {
    put_u32(static_cast<uint32_t>(s.size()));
    out_->append(s.data(), s.size());
  }

 private:
  std::string* out_;
};

inline uint32_t load_u32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}
inline uint64_t load_u64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}
inline void store_u32(char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>(v >> (8 * i));
}

class Decoder {
 public:
  explicit Decoder(std::string_view in) : in_(in) {}

  bool ok() const { return ok_; }
  size_t remaining() const { return in_.size() - pos_; }
  bool done() const { return ok_ && pos_ == in_.size(); }

  bool get_u8(uint8_t* v) {
    if (!need(1)) return false;
    *v = static_cast<uint8_t>(in_[pos_]);
    pos_ += 1;
    return true;
  }
  bool get_u32(uint32_t* v) {
    if (!need(4)) return false;
    *v = load_u32(in_.data() + pos_);
    pos_ += 4;
    return true;
  }
  bool get_u64(uint64_t* v) {
    if (!need(8)) return false;
    *v = load_u64(in_.data() + pos_);
    pos_ += 8;
    return true;
  }
  // The counterpart of Encoder::put_bytes. Fails (without allocating) if the length prefix
  // exceeds the remaining input.
  bool get_bytes(std::string* s) {
    uint32_t n = 0;
    if (!get_u32(&n) || !need(n)) return false;
    s->assign(in_.data() + pos_, n);
    pos_ += n;
    return true;
  }
  // Skips n bytes (fails if fewer remain).
  bool skip(size_t n) {
    if (!need(n)) return false;
    pos_ += n;
    return true;
  }
  // Marks the decoder failed, e.g. when a decoded value is out of range.
  void fail() { ok_ = false; }

 private:
  bool need(size_t n) {
    if (!ok_ || n > remaining()) {
      ok_ = false;
      return false;
    }
    return true;
  }

  std::string_view in_;
  size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace storage
