// Internal to transport/: the cereal portable-binary encoding of the raft types and the
// bounded reading discipline every decoder here follows.
//
// cereal trusts length prefixes: a 20-byte input that claims a 2^48-byte string makes it
// resize a std::string to 2^48 bytes (TOOLCHAIN pitfall 11). So nothing here lets cereal load
// a string or a vector by itself. Every length prefix is read as a plain integer and checked
// against the bytes still unread (and against a per-field cap) BEFORE anything is allocated;
// counts of elements are checked against remaining / (smallest encoding of one element).
// Booleans and enums are read as bytes and range-checked, because loading an arbitrary byte
// into a bool or an enum is undefined behaviour. A decoder built on these helpers therefore
// allocates at most a small multiple of its input size, whatever the input.
//
// The save/load functions live in namespace cereal (where cereal looks for them) and not in
// raft/, which stays free of any codec (ARCHITECTURE.md). load() only works on a ReadArchive.
#pragma once

#ifndef CEREAL_FUTURE_EXPERIMENTAL
#define CEREAL_FUTURE_EXPERIMENTAL  // cereal::UserDataAdapter
#endif
#include <cereal/archives/adapters.hpp>
#include <cereal/archives/portable_binary.hpp>

#include <cstdint>
#include <istream>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <streambuf>
#include <string>
#include <string_view>
#include <vector>

#include "raft/types.h"

namespace transport::wire {

// Upper bounds on what one decoded frame may contain (beyond the byte-count checks).
inline constexpr uint64_t kMaxEntriesPerMessage = 100000;
inline constexpr uint64_t kMaxNodeIds = 4096;  // per list in a ConfState / status
inline constexpr uint64_t kMaxClusterIdBytes = 255;
inline constexpr uint8_t kLittleEndianFlag = 1;  // the first byte cereal writes

// Frame kinds, written after the version so that a client request sent to a peer port (or
// the reverse) is refused as such.
enum class FrameKind : uint8_t { Peer = 1, Request = 2, Reply = 3, SnapshotChunk = 4, SnapshotAck = 5 };

// Any problem found while decoding; caught by the decode_* functions.
struct WireError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A read-only stream buffer over caller-owned bytes that can tell how many remain.
class MemoryBuf : public std::streambuf {
 public:
  explicit MemoryBuf(std::string_view bytes) {
    // std::streambuf wants char*; nothing writes through it (no putback area is used).
    char* p = const_cast<char*>(bytes.data());
    setg(p, p, p + bytes.size());
  }
  uint64_t remaining() const { return static_cast<uint64_t>(egptr() - gptr()); }
};

struct ReadContext {
  const MemoryBuf* buf = nullptr;
};

using ReadArchive = cereal::UserDataAdapter<ReadContext, cereal::PortableBinaryInputArchive>;

// Works on the ReadArchive itself and on the base reference cereal hands to load().
inline uint64_t remaining(cereal::PortableBinaryInputArchive& ar) {
  return cereal::get_user_data<ReadContext>(ar).buf->remaining();
}

// ---- writing -------------------------------------------------------------------------------

template <class Archive>
void save_bytes(Archive& ar, const std::string& s) {
  ar(static_cast<uint64_t>(s.size()));
  if (!s.empty()) ar(cereal::binary_data(s.data(), s.size()));
}

template <class Archive>
void save_bool(Archive& ar, bool b) {
  ar(static_cast<uint8_t>(b ? 1 : 0));
}

template <class Archive, class E>
void save_enum(Archive& ar, E e) {
  static_assert(sizeof(E) == 1);
  ar(static_cast<uint8_t>(e));
}

template <class Archive>
void save_ids(Archive& ar, const std::vector<raft::NodeId>& ids) {
  ar(static_cast<uint64_t>(ids.size()));
  for (raft::NodeId id : ids) ar(id);
}

// ---- reading -------------------------------------------------------------------------------

// Reads an element count and checks it before the caller allocates: at most `max_count`,
// and `count * min_element_bytes` must fit in the unread bytes.
template <class Archive>
uint64_t load_count(Archive& ar, uint64_t min_element_bytes, uint64_t max_count, const char* what) {
  uint64_t n = 0;
  ar(n);
  if (n > max_count) {
    throw WireError(std::string(what) + ": " + std::to_string(n) + " elements, at most " +
                    std::to_string(max_count));
  }
  if (min_element_bytes > 0 && n > remaining(ar) / min_element_bytes) {
    throw WireError(std::string(what) + ": " + std::to_string(n) + " elements cannot fit in the " +
                    std::to_string(remaining(ar)) + " bytes left");
  }
  return n;
}

template <class Archive>
void load_bytes(Archive& ar, std::string& s, const char* what,
                uint64_t max = std::numeric_limits<uint64_t>::max()) {
  const uint64_t n = load_count(ar, 1, max, what);
  s.resize(n);
  if (n > 0) ar(cereal::binary_data(s.data(), n));
}

template <class Archive>
bool load_bool(Archive& ar, const char* what) {
  uint8_t b = 0;
  ar(b);
  if (b > 1) throw WireError(std::string(what) + ": not a boolean (" + std::to_string(b) + ")");
  return b == 1;
}

// Enums are stored as one byte; `count` is one past the largest valid value.
template <class E, class Archive>
E load_enum(Archive& ar, int count, const char* what) {
  static_assert(sizeof(E) == 1);
  uint8_t v = 0;
  ar(v);
  if (v >= count) throw WireError(std::string(what) + ": invalid value " + std::to_string(v));
  return static_cast<E>(v);
}

template <class Archive>
void load_ids(Archive& ar, std::vector<raft::NodeId>& ids, const char* what) {
  const uint64_t n = load_count(ar, sizeof(raft::NodeId), kMaxNodeIds, what);
  ids.resize(n);
  for (raft::NodeId& id : ids) ar(id);
}

// Every frame starts with cereal's endianness byte; this encoder always writes little-endian.
inline void check_first_byte(std::string_view bytes) {
  if (bytes.empty()) throw WireError("empty frame");
  if (static_cast<uint8_t>(bytes[0]) != kLittleEndianFlag) throw WireError("bad first byte");
}

// Bytes that came from the network, made safe to put in a log line: at most `max` characters,
// anything outside printable ASCII shown as '?'.
inline std::string printable(std::string_view bytes, size_t max = 64) {
  std::string out;
  for (char c : bytes.substr(0, max)) out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  if (bytes.size() > max) out += "...";
  return out;
}

}  // namespace transport::wire

namespace cereal {

// The smallest encodings, used by load_count to bound element counts by the input size.
inline constexpr uint64_t kEntryMinBytes = 1 + 8 + 8 + 8 + 8;  // type, term, index, 2 lengths
inline constexpr uint64_t kConfChangeSingleBytes = 1 + 8;

template <class Archive>
void save(Archive& ar, const raft::Entry& e) {
  transport::wire::save_enum(ar, e.type);
  ar(e.term, e.index);
  transport::wire::save_bytes(ar, e.data);
  transport::wire::save_bytes(ar, e.context);
}
template <class Archive>
void load(Archive& ar, raft::Entry& e) {
  e.type = transport::wire::load_enum<raft::EntryType>(ar, 2, "entry type");
  ar(e.term, e.index);
  transport::wire::load_bytes(ar, e.data, "entry data");
  transport::wire::load_bytes(ar, e.context, "entry context");
}

template <class Archive>
void save(Archive& ar, const raft::ConfState& c) {
  transport::wire::save_ids(ar, c.voters);
  transport::wire::save_ids(ar, c.learners);
  transport::wire::save_ids(ar, c.voters_outgoing);
  transport::wire::save_ids(ar, c.learners_next);
  transport::wire::save_bool(ar, c.auto_leave);
}
template <class Archive>
void load(Archive& ar, raft::ConfState& c) {
  transport::wire::load_ids(ar, c.voters, "voters");
  transport::wire::load_ids(ar, c.learners, "learners");
  transport::wire::load_ids(ar, c.voters_outgoing, "voters_outgoing");
  transport::wire::load_ids(ar, c.learners_next, "learners_next");
  c.auto_leave = transport::wire::load_bool(ar, "auto_leave");
}

template <class Archive>
void save(Archive& ar, const raft::Snapshot& s) {
  transport::wire::save_bytes(ar, s.data);
  ar(s.metadata.conf_state, s.metadata.index, s.metadata.term);
}
template <class Archive>
void load(Archive& ar, raft::Snapshot& s) {
  transport::wire::load_bytes(ar, s.data, "snapshot data");
  ar(s.metadata.conf_state, s.metadata.index, s.metadata.term);
}

template <class Archive>
void save(Archive& ar, const raft::ConfChangeV2& cc) {
  transport::wire::save_enum(ar, cc.transition);
  ar(static_cast<uint64_t>(cc.changes.size()));
  for (const raft::ConfChangeSingle& c : cc.changes) {
    transport::wire::save_enum(ar, c.change_type);
    ar(c.node_id);
  }
  transport::wire::save_bytes(ar, cc.context);
}
template <class Archive>
void load(Archive& ar, raft::ConfChangeV2& cc) {
  cc.transition = transport::wire::load_enum<raft::ConfChangeTransition>(ar, 3, "transition");
  const uint64_t n = transport::wire::load_count(ar, kConfChangeSingleBytes,
                                                 transport::wire::kMaxNodeIds, "conf changes");
  cc.changes.resize(n);
  for (raft::ConfChangeSingle& c : cc.changes) {
    c.change_type = transport::wire::load_enum<raft::ConfChangeType>(ar, 3, "change type");
    ar(c.node_id);
  }
  transport::wire::load_bytes(ar, cc.context, "conf change context");
}

// A Message without `from` and `to`: those travel in the envelope (codec.h).
template <class Archive>
void save(Archive& ar, const raft::Message& m) {
  transport::wire::save_enum(ar, m.msg_type);
  ar(m.term, m.log_term, m.index, m.commit);
  ar(static_cast<uint64_t>(m.entries.size()));
  for (const raft::Entry& e : m.entries) ar(e);
  ar(m.snapshot);
  transport::wire::save_bool(ar, m.reject);
  ar(m.reject_hint);
  transport::wire::save_bytes(ar, m.context);
}
template <class Archive>
void load(Archive& ar, raft::Message& m) {
  m.msg_type = transport::wire::load_enum<raft::MessageType>(ar, raft::kMessageTypeCount, "message type");
  ar(m.term, m.log_term, m.index, m.commit);
  const uint64_t n = transport::wire::load_count(ar, kEntryMinBytes, transport::wire::kMaxEntriesPerMessage,
                                                 "entries");
  m.entries.resize(n);
  for (raft::Entry& e : m.entries) ar(e);
  ar(m.snapshot);
  m.reject = transport::wire::load_bool(ar, "reject");
  ar(m.reject_hint);
  transport::wire::load_bytes(ar, m.context, "message context");
}

}  // namespace cereal
