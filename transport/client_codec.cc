#include "transport/client_codec.h"

#include "transport/wire.h"

namespace cereal {

template <class Archive>
void save(Archive& ar, const transport::ClientRequest& r) {
  ar(r.request_id, r.client_id, r.seq);
  transport::wire::save_enum(ar, r.kind);
  transport::wire::save_bytes(ar, r.key);
  transport::wire::save_bytes(ar, r.value);
  transport::wire::save_bytes(ar, r.expected);
  transport::wire::save_bool(ar, r.expected_absent);
  transport::wire::save_bool(ar, r.serializable);
  ar(r.conf_change, r.target);
  transport::wire::save_bytes(ar, r.cluster_id);
}
template <class Archive>
void load(Archive& ar, transport::ClientRequest& r) {
  ar(r.request_id, r.client_id, r.seq);
  r.kind = transport::wire::load_enum<transport::RequestKind>(ar, transport::kRequestKindCount, "request kind");
  transport::wire::load_bytes(ar, r.key, "key");
  transport::wire::load_bytes(ar, r.value, "value");
  transport::wire::load_bytes(ar, r.expected, "expected");
  r.expected_absent = transport::wire::load_bool(ar, "expected_absent");
  r.serializable = transport::wire::load_bool(ar, "serializable");
  ar(r.conf_change, r.target);
  transport::wire::load_bytes(ar, r.cluster_id, "cluster_id");
}

template <class Archive>
void save(Archive& ar, const transport::NodeStatus& s) {
  ar(s.id);
  transport::wire::save_bytes(ar, s.role);
  ar(s.term, s.leader, s.commit, s.applied, s.last_index, s.first_index);
  transport::wire::save_ids(ar, s.voters);
  transport::wire::save_ids(ar, s.learners);
  transport::wire::save_ids(ar, s.voters_outgoing);
  ar(static_cast<uint64_t>(s.progress_matched.size()));
  for (const auto& [id, matched] : s.progress_matched) ar(id, matched);
  ar(static_cast<uint64_t>(s.members.size()));
  for (const auto& [id, addresses] : s.members) {
    ar(id);
    transport::wire::save_bytes(ar, addresses);
  }
  transport::wire::save_bytes(ar, s.cluster_id);
  transport::wire::save_bytes(ar, s.problem);
  ar(s.incarnation);
  ar(s.state_bytes, s.rss_bytes, s.snapshot_index, s.snapshot_running, s.slowest_loop_us,
     s.slowest_snapshot_loop_us, s.slowest_fork_us, s.slowest_snapshot_step_us);
}
template <class Archive>
void load(Archive& ar, transport::NodeStatus& s) {
  using transport::wire::kMaxNodeIds;
  ar(s.id);
  transport::wire::load_bytes(ar, s.role, "role");
  ar(s.term, s.leader, s.commit, s.applied, s.last_index, s.first_index);
  transport::wire::load_ids(ar, s.voters, "voters");
  transport::wire::load_ids(ar, s.learners, "learners");
  transport::wire::load_ids(ar, s.voters_outgoing, "voters_outgoing");
  s.progress_matched.resize(transport::wire::load_count(ar, 16, kMaxNodeIds, "progress"));
  for (auto& [id, matched] : s.progress_matched) ar(id, matched);
  s.members.resize(transport::wire::load_count(ar, 16, kMaxNodeIds, "members"));
  for (auto& [id, addresses] : s.members) {
    ar(id);
    transport::wire::load_bytes(ar, addresses, "member addresses");
  }
  transport::wire::load_bytes(ar, s.cluster_id, "cluster_id");
  transport::wire::load_bytes(ar, s.problem, "problem");
  ar(s.incarnation);
  ar(s.state_bytes, s.rss_bytes, s.snapshot_index, s.snapshot_running, s.slowest_loop_us,
     s.slowest_snapshot_loop_us, s.slowest_fork_us, s.slowest_snapshot_step_us);
}

template <class Archive>
void save(Archive& ar, const transport::ClientReply& r) {
  ar(r.request_id);
  transport::wire::save_enum(ar, r.code);
  transport::wire::save_bytes(ar, r.value);
  transport::wire::save_bool(ar, r.value_present);
  ar(r.leader_id);
  transport::wire::save_bytes(ar, r.leader_client);
  transport::wire::save_bytes(ar, r.error);
  ar(r.status);
}
template <class Archive>
void load(Archive& ar, transport::ClientReply& r) {
  ar(r.request_id);
  r.code = transport::wire::load_enum<transport::ReplyCode>(ar, transport::kReplyCodeCount, "reply code");
  transport::wire::load_bytes(ar, r.value, "value");
  r.value_present = transport::wire::load_bool(ar, "value_present");
  ar(r.leader_id);
  transport::wire::load_bytes(ar, r.leader_client, "leader_client");
  transport::wire::load_bytes(ar, r.error, "error");
  ar(r.status);
}

}  // namespace cereal

namespace transport {
namespace {

template <class T>
std::string encode_frame(wire::FrameKind kind, const T& body) {
  std::ostringstream out(std::ios::binary);
  {
    cereal::PortableBinaryOutputArchive ar(out);
    ar(kWireVersion);
    wire::save_enum(ar, kind);
    ar(body);
  }
  return std::move(out).str();
}

template <class T>
std::variant<T, DecodeError> decode_frame(wire::FrameKind kind, std::string_view bytes) {
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
      return DecodeError{"unsupported wire version " + std::to_string(version),
                         DecodeFailure::UnsupportedVersion};
    }
    uint8_t got = 0;
    base(got);
    if (got != static_cast<uint8_t>(kind)) {
      return DecodeError{"unexpected frame kind " + std::to_string(got)};
    }
    T body;
    base(body);
    if (buf.remaining() != 0) {
      return DecodeError{std::to_string(buf.remaining()) + " trailing bytes after the frame"};
    }
    return body;
  } catch (const std::exception& e) {
    return DecodeError{std::string("malformed frame: ") + e.what()};
  } catch (...) {
    return DecodeError{"malformed frame"};
  }
}

}  // namespace

std::string encode_request(const ClientRequest& r) { return encode_frame(wire::FrameKind::Request, r); }

std::variant<ClientRequest, DecodeError> decode_request(std::string_view bytes) {
  return decode_frame<ClientRequest>(wire::FrameKind::Request, bytes);
}

std::string encode_reply(const ClientReply& r) { return encode_frame(wire::FrameKind::Reply, r); }

std::variant<ClientReply, DecodeError> decode_reply(std::string_view bytes) {
  return decode_frame<ClientReply>(wire::FrameKind::Reply, bytes);
}

}  // namespace transport
