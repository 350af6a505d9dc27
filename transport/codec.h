// The peer-message codec: how a raft::Message travels between nodes.
//
// A frame is one ZeroMQ message holding, in cereal portable binary (little-endian, fixed-size
// integers): the endianness byte, the wire version, the frame kind, the cluster id, the
// sender and receiver ids, the sender's incarnation and claims-slot flag (the envelope), then the
// message body (wire.h). decode_message is
// the gateway for untrusted bytes: it never throws, never aborts, and allocates at most a
// small multiple of the input size whatever the input (every length prefix is checked against
// the unread bytes before anything is allocated). A decoded message is one a peer may send:
// a known, non-local type, non-zero from and to, and at most kMaxEntriesPerMessage entries.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "raft/types.h"

namespace transport {

inline constexpr uint32_t kWireVersion = 1;      // client frames (client_codec.h)
inline constexpr uint32_t kPeerWireVersion = 2;  // peer frames; 2: the envelope names the sender's incarnation
inline constexpr size_t kMaxFrameBytes = 64u << 20;  // also ZMQ_MAXMSGSIZE on the ROUTERs

enum class DecodeFailure : uint8_t {
  Malformed,           // not a frame this code could have written (or truncated, or too big)
  UnsupportedVersion,  // a well-formed prologue with another kWireVersion
  WrongCluster,        // a peer frame of another cluster_id
  LocalMessage,        // a message type that must never come from the network
};

struct DecodeError {
  std::string message;
  DecodeFailure reason = DecodeFailure::Malformed;
};

// What a peer frame says about its sender besides its id (docs/membership.md "Amnesia"): the
// incarnation of the sender's data folder (storage/identity.h), which peers compare with the
// incarnation their membership records for the sender, so that a member that lost its data
// cannot vote again; and whether the sender claims its place in the membership while none is
// recorded (false once it found out that it lost its data: the leader then never records the
// new incarnation on first use).
struct SenderIdentity {
  uint64_t incarnation = 0;
  bool claims_slot = false;
  bool operator==(const SenderIdentity&) const = default;
};

// Encodes `m` (including m.from and m.to, carried in the envelope with `sender`) for
// `cluster_id`, in one allocation of the exact frame size, without going through a stream.
std::string encode_message(const std::string& cluster_id, const raft::Message& m, const SenderIdentity& sender = {});
// The same bytes written through cereal (wire.h's save functions): the reference the direct
// encoder is checked against (codec_bench, tests).
std::string encode_message_cereal(const std::string& cluster_id, const raft::Message& m,
                                  const SenderIdentity& sender = {});
// The size in bytes of encode_message(cluster_id, m), computed without encoding.
size_t encoded_message_size(const std::string& cluster_id, const raft::Message& m);

// Decodes one frame. Fails with WrongCluster when the frame's cluster id differs from
// `expected_cluster_id`, with UnsupportedVersion on another wire version, with LocalMessage
// for local-only types (raft::is_local_msg), and Malformed on anything else that is off:
// truncation, trailing bytes, impossible lengths, bad enum or bool bytes, zero from/to.
// UnsupportedVersion also covers a peer frame of version 1 (a node of an older version).
// The envelope's sender identity goes to *sender when given.
std::variant<raft::Message, DecodeError> decode_message(std::string_view bytes,
                                                        const std::string& expected_cluster_id,
                                                        SenderIdentity* sender = nullptr);

}  // namespace transport
