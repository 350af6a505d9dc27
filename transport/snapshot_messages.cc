#include "transport/snapshot_messages.h"

#include "transport/wire.h"

namespace transport {
namespace {

class Writer {
 public:
  explicit Writer(std::string* out) : out_(out) {}
  void u8(uint8_t v) { out_->push_back(static_cast<char>(v)); }
  void u32(uint32_t v) {
    for (int i = 0; i < 4; ++i) out_->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
  void u64(uint64_t v) {
    for (int i = 0; i < 8; ++i) out_->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
  void bytes(std::string_view s) {
    u64(s.size());
    out_->append(s.data(), s.size());
  }
  void id(const SnapshotId& s) {
    u64(s.index);
    u64(s.term);
    u64(s.file_size);
    u64(s.file_hash);
  }

 private:
  std::string* out_;
};

// Bounded reading: every read checks the bytes left; once failed, stays failed.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool ok() const { return ok_; }
  size_t remaining() const { return in_.size() - pos_; }
  uint64_t le(int n) {
    if (!ok_ || remaining() < static_cast<size_t>(n)) return ok_ = false, 0;
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(in_[pos_ + i]);
    pos_ += n;
    return v;
  }
  uint8_t u8() { return static_cast<uint8_t>(le(1)); }
  uint64_t u64() { return le(8); }
  std::string bytes(uint64_t cap) {
    const uint64_t n = u64();
    if (!ok_ || n > remaining() || n > cap) return ok_ = false, std::string();
    std::string s(in_.substr(pos_, n));
    pos_ += n;
    return s;
  }
  SnapshotId id() {
    SnapshotId s;
    s.index = u64();
    s.term = u64();
    s.file_size = u64();
    s.file_hash = u64();
    return s;
  }

 private:
  std::string_view in_;
  size_t pos_ = 0;
  bool ok_ = true;
};

void prologue(Writer& w, wire::FrameKind kind, const std::string& cluster_id, raft::NodeId from, raft::NodeId to) {
  w.u8(wire::kLittleEndianFlag);
  w.u32(kPeerWireVersion);
  w.u8(static_cast<uint8_t>(kind));
  w.bytes(cluster_id);
  w.u64(from);
  w.u64(to);
}

}  // namespace

bool is_snapshot_frame(std::string_view bytes) {
  if (bytes.size() < 6 || static_cast<uint8_t>(bytes[0]) != wire::kLittleEndianFlag) return false;
  const uint8_t kind = static_cast<uint8_t>(bytes[5]);
  return kind == static_cast<uint8_t>(wire::FrameKind::SnapshotChunk) ||
         kind == static_cast<uint8_t>(wire::FrameKind::SnapshotAck);
}

std::string encode_snapshot_packet(const std::string& cluster_id, const SnapshotPacket& p) {
  std::string out;
  Writer w(&out);
  if (const auto* c = std::get_if<SnapshotChunk>(&p)) {
    out.reserve(128 + cluster_id.size() + c->data.size());
    prologue(w, wire::FrameKind::SnapshotChunk, cluster_id, c->from, c->to);
    w.u64(c->msg_term);
    w.id(c->snap);
    w.u64(c->offset);
    w.u64(c->data_hash);
    w.bytes(c->data);
  } else {
    const auto& a = std::get<SnapshotAck>(p);
    prologue(w, wire::FrameKind::SnapshotAck, cluster_id, a.from, a.to);
    w.u64(a.msg_term);
    w.id(a.snap);
    w.u64(a.next_offset);
    w.u8(static_cast<uint8_t>(a.status));
    w.bytes(a.reason);
  }
  return out;
}

std::variant<SnapshotPacket, DecodeError> decode_snapshot_packet(std::string_view bytes,
                                                                 const std::string& expected_cluster_id) {
  if (bytes.size() > kMaxFrameBytes) {
    return DecodeError{"frame of " + std::to_string(bytes.size()) + " bytes exceeds the limit"};
  }
  Reader r(bytes);
  if (r.u8() != wire::kLittleEndianFlag) return DecodeError{"not a little-endian frame"};
  const uint64_t version = r.le(4);
  if (!r.ok()) return DecodeError{"truncated frame"};
  if (version != kPeerWireVersion) {
    return DecodeError{"unsupported wire version " + std::to_string(version), DecodeFailure::UnsupportedVersion};
  }
  const uint8_t kind = r.u8();
  std::string cluster_id = r.bytes(wire::kMaxClusterIdBytes);
  if (!r.ok()) return DecodeError{"truncated frame prologue"};
  if (cluster_id != expected_cluster_id) {
    return DecodeError{"frame of cluster '" + wire::printable(cluster_id) + "', expected '" + expected_cluster_id + "'",
                       DecodeFailure::WrongCluster};
  }
  const raft::NodeId from = r.u64();
  const raft::NodeId to = r.u64();
  SnapshotPacket out;
  if (kind == static_cast<uint8_t>(wire::FrameKind::SnapshotChunk)) {
    SnapshotChunk c;
    c.from = from;
    c.to = to;
    c.msg_term = r.u64();
    c.snap = r.id();
    c.offset = r.u64();
    c.data_hash = r.u64();
    c.data = r.bytes(kMaxFrameBytes);
    out = std::move(c);
  } else if (kind == static_cast<uint8_t>(wire::FrameKind::SnapshotAck)) {
    SnapshotAck a;
    a.from = from;
    a.to = to;
    a.msg_term = r.u64();
    a.snap = r.id();
    a.next_offset = r.u64();
    const uint8_t status = r.u8();
    if (status > static_cast<uint8_t>(SnapshotAckStatus::Refused)) return DecodeError{"bad snapshot ack status"};
    a.status = static_cast<SnapshotAckStatus>(status);
    a.reason = r.bytes(4096);
    out = std::move(a);
  } else {
    return DecodeError{"not a snapshot frame (kind " + std::to_string(kind) + ")"};
  }
  if (!r.ok()) return DecodeError{"truncated or oversized snapshot frame"};
  if (r.remaining() != 0) return DecodeError{std::to_string(r.remaining()) + " trailing bytes after the snapshot frame"};
  if (from == raft::kNone || to == raft::kNone) return DecodeError{"snapshot frame without sender or receiver id"};
  return out;
}

}  // namespace transport
