// Encoding of client requests and replies (client_protocol.h), cereal portable binary with
// the same discipline as the peer codec (wire.h): version and frame kind first, every length
// prefix checked against the unread bytes before allocation, enums and bools range-checked,
// no trailing bytes. The decoders never throw and never abort, on any input.
#pragma once

#include <string>
#include <string_view>
#include <variant>

#include "transport/client_protocol.h"
#include "transport/codec.h"

namespace transport {

std::string encode_request(const ClientRequest& r);
std::variant<ClientRequest, DecodeError> decode_request(std::string_view bytes);
std::string encode_reply(const ClientReply& r);
std::variant<ClientReply, DecodeError> decode_reply(std::string_view bytes);

}  // namespace transport
