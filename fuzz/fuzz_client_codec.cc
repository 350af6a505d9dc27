// transport::decode_request and decode_reply on hostile bytes (raw, or a random well-formed
// request/reply encoded and then damaged). Properties: no crash, no wild allocation, and an
// accepted value round-trips through encode/decode unchanged.
#include <cstdlib>
#include <string>

#include "fuzz/structured.h"
#include "transport/client_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider p(data, size);
  const uint8_t mode = p.ConsumeIntegral<uint8_t>() % 4;
  std::string bytes;
  if (mode == 0) {
    bytes = p.ConsumeRemainingBytesAsString();
  } else if (mode == 1) {
    bytes = fuzz::damage(p, transport::encode_request(fuzz::make_request(p)));
  } else {
    bytes = fuzz::damage(p, transport::encode_reply(fuzz::make_reply(p)));
  }
  auto req = transport::decode_request(bytes);
  if (auto* r = std::get_if<transport::ClientRequest>(&req)) {
    auto again = transport::decode_request(transport::encode_request(*r));
    auto* r2 = std::get_if<transport::ClientRequest>(&again);
    if (!r2 || !(*r2 == *r)) abort();
  }
  auto rep = transport::decode_reply(bytes);
  if (auto* r = std::get_if<transport::ClientReply>(&rep)) {
    auto again = transport::decode_reply(transport::encode_reply(*r));
    auto* r2 = std::get_if<transport::ClientReply>(&again);
    if (!r2 || !(*r2 == *r)) abort();
  }
  return 0;
}
