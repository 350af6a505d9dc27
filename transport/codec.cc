#include "transport/codec.h"

#include "transport/wire.h"

namespace transport {

std::string encode_message(const std::string& cluster_id, const raft::Message& m) {
  std::ostringstream out(std::ios::binary);
  {
    cereal::PortableBinaryOutputArchive ar(out);
    ar(kWireVersion);
    wire::save_enum(ar, wire::FrameKind::Peer);
    wire::save_bytes(ar, cluster_id);
    ar(m.from, m.to);
    ar(m);
  }
  return std::move(out).str();
}

std::variant<raft::Message, DecodeError> decode_message(std::string_view bytes,
                                                        const std::string& expected_cluster_id) {
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
    if (version != kWireVersion) {
      return DecodeError{"unsupported wire version " + std::to_string(version) + " (this node speaks " +
                             std::to_string(kWireVersion) + ")",
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
    return m;
  } catch (const std::exception& e) {
    return DecodeError{std::string("malformed frame: ") + e.what()};
  } catch (...) {
    return DecodeError{"malformed frame"};
  }
}

}  // namespace transport
