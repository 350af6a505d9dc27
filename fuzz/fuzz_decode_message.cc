// transport::decode_message on hostile bytes. Mode byte 0: the input is the frame. Otherwise a
// random well-formed message is encoded (for our cluster or another one) and damaged.
// Properties: never crashes, never allocates wildly (ASan), and whatever decodes re-encodes
// to a frame that decodes to the same message.
#include <cstdlib>
#include <string>

#include "fuzz/structured.h"
#include "transport/codec.h"

namespace {
const std::string kCluster = "fz";
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider p(data, size);
  std::string frame;
  if (p.ConsumeIntegral<uint8_t>() % 4 == 0) {
    frame = p.ConsumeRemainingBytesAsString();
  } else {
    const bool ours = p.ConsumeBool();
    raft::Message m = fuzz::make_message(p);
    frame = fuzz::damage(p, transport::encode_message(ours ? kCluster : p.ConsumeRandomLengthString(8), m));
  }
  auto r = transport::decode_message(frame, kCluster);
  if (auto* m = std::get_if<raft::Message>(&r)) {
    auto again = transport::decode_message(transport::encode_message(kCluster, *m), kCluster);
    auto* m2 = std::get_if<raft::Message>(&again);
    if (!m2 || !(*m2 == *m)) abort();  // the codec does not round-trip what it accepted
  }
  return 0;
}
