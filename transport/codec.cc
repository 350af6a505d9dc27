#include "transport/codec.h"

#include <cstring>
#include <ostream>
#include <streambuf>

#include "raft/check.h"

#include "transport/wire.h"

namespace transport {
namespace {

// Appends whatever cereal writes to a caller-owned string: the frame is built in place,
// without a stringbuf that grows by doubling and copies at every step.
class StringSink final : public std::streambuf {
 public:
  explicit StringSink(std::string& out) : out_(out) {}

 protected:
  std::streamsize xsputn(const char* p, std::streamsize n) override {
    out_.append(p, static_cast<size_t>(n));
    return n;
  }
  int_type overflow(int_type c) override {
    if (!traits_type::eq_int_type(c, traits_type::eof())) out_.push_back(traits_type::to_char_type(c));
    return traits_type::not_eof(c);
  }

 private:
  std::string& out_;
};

// Writes the bytes cereal's PortableBinaryOutputArchive writes for the same values (fixed-size
// little-endian integers, u64 length prefixes, one byte per enum and bool), straight into a
// buffer of the exact frame size: no stream, no per-field virtual call. The layout is the one
// of the save() functions in wire.h; codec_bench and encode_message_cereal check that both
// encoders agree byte for byte.
class FrameWriter {
 public:
  explicit FrameWriter(char* p) : p_(p) {}
  void u8(uint8_t v) { *p_++ = static_cast<char>(v); }
  void u32(uint32_t v) {
    for (int i = 0; i < 4; ++i) *p_++ = static_cast<char>((v >> (8 * i)) & 0xff);
  }
  void u64(uint64_t v) {
    for (int i = 0; i < 8; ++i) *p_++ = static_cast<char>((v >> (8 * i)) & 0xff);
  }
  void bytes(const std::string& s) {
    u64(s.size());
    if (!s.empty()) std::memcpy(p_, s.data(), s.size());
    p_ += s.size();
  }
  void ids(const std::vector<raft::NodeId>& ids) {
    u64(ids.size());
    for (raft::NodeId id : ids) u64(id);
  }
  const char* pos() const { return p_; }

 private:
  char* p_;
};

constexpr size_t kU64 = 8;

size_t ids_size(const std::vector<raft::NodeId>& ids) { return kU64 + kU64 * ids.size(); }

}  // namespace

size_t encoded_message_size(const std::string& cluster_id, const raft::Message& m) {
  // Mirrors encode_message and the save() functions of wire.h (fixed-size integers, u64
  // length prefixes); codec_bench checks that it is exact.
  // endianness, version, kind, cluster, from/to, sender incarnation + claims-slot flag
  size_t n = 1 + 4 + 1 + kU64 + cluster_id.size() + 2 * kU64 + kU64 + 1;
  n += 1 + 4 * kU64 + kU64;                                     // type, term, log_term, index, commit, count
  for (const raft::Entry& e : m.entries) n += 1 + 2 * kU64 + kU64 + e.data.size() + kU64 + e.context.size();
  const raft::ConfState& cs = m.snapshot.metadata.conf_state;
  n += kU64 + m.snapshot.data.size() + ids_size(cs.voters) + ids_size(cs.learners) +
       ids_size(cs.voters_outgoing) + ids_size(cs.learners_next) + 1 + 2 * kU64;
  n += 1 + kU64 + kU64 + m.context.size();  // reject, reject_hint, context
  return n;
}

std::string encode_message(const std::string& cluster_id, const raft::Message& m, const SenderIdentity& sender) {
  std::string frame(encoded_message_size(cluster_id, m), '\0');
  FrameWriter w(frame.data());
  w.u8(wire::kLittleEndianFlag);
  w.u32(kPeerWireVersion);
  w.u8(static_cast<uint8_t>(wire::FrameKind::Peer));
  w.bytes(cluster_id);
  w.u64(m.from);
  w.u64(m.to);
  w.u64(sender.incarnation);
  w.u8(sender.claims_slot ? 1 : 0);
  w.u8(static_cast<uint8_t>(m.msg_type));
  w.u64(m.term);
  w.u64(m.log_term);
  w.u64(m.index);
  w.u64(m.commit);
  w.u64(m.entries.size());
  for (const raft::Entry& e : m.entries) {
    w.u8(static_cast<uint8_t>(e.type));
    w.u64(e.term);
    w.u64(e.index);
    w.bytes(e.data);
    w.bytes(e.context);
  }
  const raft::Snapshot& s = m.snapshot;
  w.bytes(s.data);
  w.ids(s.metadata.conf_state.voters);
  w.ids(s.metadata.conf_state.learners);
  w.ids(s.metadata.conf_state.voters_outgoing);
  w.ids(s.metadata.conf_state.learners_next);
  w.u8(s.metadata.conf_state.auto_leave ? 1 : 0);
  w.u64(s.metadata.index);
  w.u64(s.metadata.term);
  w.u8(m.reject ? 1 : 0);
  w.u64(m.reject_hint);
  w.bytes(m.context);
  RAFT_CHECK(w.pos() == frame.data() + frame.size(), "encoded_message_size disagrees with the encoder");
  return frame;
}

std::string encode_message_cereal(const std::string& cluster_id, const raft::Message& m,
                                  const SenderIdentity& sender) {
  std::string frame;
  frame.reserve(encoded_message_size(cluster_id, m));
  StringSink sink(frame);
  std::ostream out(&sink);
  {
    cereal::PortableBinaryOutputArchive ar(out);
    ar(kPeerWireVersion);
    wire::save_enum(ar, wire::FrameKind::Peer);
    wire::save_bytes(ar, cluster_id);
    ar(m.from, m.to);
    ar(sender.incarnation);
    wire::save_bool(ar, sender.claims_slot);
    ar(m);
  }
  return frame;
}

std::variant<raft::Message, DecodeError> decode_message(std::string_view bytes,
                                                        const std::string& expected_cluster_id,
                                                        SenderIdentity* sender) {
  if (bytes.size() > kMaxFrameBytes) {
    return DecodeError{"frame of " + std::to_string(bytes.size()) + " bytes exceeds the limit"};
  }
  try {
    wire::check_first_byte(bytes);
    wire::MemoryBuf buf(bytes);
    std::istream in(&buf);
    wire::ReadContext ctx{&buf};
    wire::ReadArchive ar(ctx, in);
    cereal::PortableBinaryInputArchive& base = ar;

    uint32_t version = 0;
    base(version);
    if (version != kPeerWireVersion) {
      return DecodeError{"unsupported wire version " + std::to_string(version) + " (this node speaks " +
                             std::to_string(kPeerWireVersion) + ")",
                         DecodeFailure::UnsupportedVersion};
    }
    uint8_t kind = 0;
    base(kind);
    if (kind != static_cast<uint8_t>(wire::FrameKind::Peer)) {
      return DecodeError{"not a peer frame (kind " + std::to_string(kind) + ")"};
    }
    std::string cluster_id;
    wire::load_bytes(base, cluster_id, "cluster id", wire::kMaxClusterIdBytes);
    if (cluster_id != expected_cluster_id) {
      return DecodeError{"frame of cluster '" + wire::printable(cluster_id) + "', expected '" + expected_cluster_id + "'",
                         DecodeFailure::WrongCluster};
    }
    raft::Message m;
    base(m.from, m.to);
    SenderIdentity from_identity;
    base(from_identity.incarnation);
    from_identity.claims_slot = wire::load_bool(base, "claims-slot flag");
    base(m);
    if (buf.remaining() != 0) {
      return DecodeError{std::to_string(buf.remaining()) + " trailing bytes after the message"};
    }
    if (raft::is_local_msg(m.msg_type)) {
      return DecodeError{"local-only message " + std::string(raft::to_string(m.msg_type)) + " from the network",
                         DecodeFailure::LocalMessage};
    }
    if (m.from == raft::kNone || m.to == raft::kNone) {
      return DecodeError{"message without sender or receiver id"};
    }
    if (sender) *sender = from_identity;
    return m;
  } catch (const std::exception& e) {
    return DecodeError{std::string("malformed frame: ") + e.what()};
  } catch (...) {
    return DecodeError{"malformed frame"};
  }
}

}  // namespace transport
