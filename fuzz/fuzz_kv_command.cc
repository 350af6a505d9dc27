// node::decode_kv_command on arbitrary bytes (raw, or a random command encoded and damaged).
// Properties: no crash, and an accepted command re-encodes to exactly the input bytes (the
// format has one encoding per command and rejects trailing bytes).
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdlib>
#include <string>

#include "node/kv_command.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider p(data, size);
  std::string bytes;
  if (p.ConsumeBool()) {
    bytes = p.ConsumeRemainingBytesAsString();
  } else {
    node::KvCommand c;
    c.op = static_cast<node::KvOp>(p.ConsumeIntegralInRange<int>(1, 3));
    c.client_id = p.ConsumeIntegral<uint64_t>();
    c.seq = p.ConsumeIntegral<uint64_t>();
    c.key = p.ConsumeRandomLengthString(16);
    c.value = p.ConsumeRandomLengthString(32);
    c.expected = p.ConsumeRandomLengthString(16);
    c.expected_absent = p.ConsumeBool();
    bytes = node::encode_kv_command(c);
    switch (p.ConsumeIntegralInRange<int>(0, 2)) {
      case 0: bytes.resize(p.ConsumeIntegralInRange<size_t>(0, bytes.size())); break;
      case 1:
        if (!bytes.empty())
          bytes[p.ConsumeIntegralInRange<size_t>(0, bytes.size() - 1)] = static_cast<char>(p.ConsumeIntegral<uint8_t>());
        break;
      default: break;
    }
  }
  std::string error;
  auto cmd = node::decode_kv_command(bytes, &error);
  if (cmd) {
    auto again = node::decode_kv_command(node::encode_kv_command(*cmd));
    if (!again || !(*again == *cmd)) abort();
  }
  return 0;
}
