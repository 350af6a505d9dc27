// Encode/decode cost of the wire codecs: a MsgAppend with 64 entries of 100 bytes (a typical
// replication batch) and a client Put request.
//   build-*/bin/transport_bench [--benchmark_filter=...]
#include <benchmark/benchmark.h>

#include "transport/client_codec.h"
#include "transport/codec.h"

namespace {

raft::Message append_64x100() {
  raft::Message m;
  m.msg_type = raft::MessageType::MsgAppend;
  m.from = 1;
  m.to = 2;
  m.term = 7;
  m.log_term = 7;
  m.index = 1000;
  m.commit = 999;
  for (int i = 0; i < 64; ++i) {
    raft::Entry e;
    e.term = 7;
    e.index = 1001 + static_cast<raft::Index>(i);
    e.data = std::string(100, static_cast<char>('a' + i % 26));
    m.entries.push_back(std::move(e));
  }
  return m;
}

transport::ClientRequest put_request() {
  transport::ClientRequest r;
  r.request_id = 12345;
  r.client_id = 0xdeadbeef;
  r.seq = 42;
  r.kind = transport::RequestKind::Put;
  r.key = "user:000123";
  r.value = std::string(100, 'v');
  return r;
}

void BM_EncodeAppend64x100(benchmark::State& state) {
  const raft::Message m = append_64x100();
  if (transport::encoded_message_size("demo", m) != transport::encode_message("demo", m).size()) {
    state.SkipWithError("encoded_message_size differs from the frame size");
  }
  size_t bytes = 0;
  for (auto _ : state) {
    std::string s = transport::encode_message("demo", m);
    bytes = s.size();
    benchmark::DoNotOptimize(s);
  }
  state.counters["frame_bytes"] = static_cast<double>(bytes);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
}
BENCHMARK(BM_EncodeAppend64x100);

void BM_DecodeAppend64x100(benchmark::State& state) {
  const std::string s = transport::encode_message("demo", append_64x100());
  for (auto _ : state) {
    auto r = transport::decode_message(s, "demo");
    if (!std::holds_alternative<raft::Message>(r)) state.SkipWithError("decode failed");
    benchmark::DoNotOptimize(r);
  }
  state.counters["frame_bytes"] = static_cast<double>(s.size());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * s.size()));
}
BENCHMARK(BM_DecodeAppend64x100);

void BM_EncodePutRequest(benchmark::State& state) {
  const transport::ClientRequest r = put_request();
  size_t bytes = 0;
  for (auto _ : state) {
    std::string s = transport::encode_request(r);
    bytes = s.size();
    benchmark::DoNotOptimize(s);
  }
  state.counters["frame_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_EncodePutRequest);

void BM_DecodePutRequest(benchmark::State& state) {
  const std::string s = transport::encode_request(put_request());
  for (auto _ : state) {
    auto r = transport::decode_request(s);
    if (!std::holds_alternative<transport::ClientRequest>(r)) state.SkipWithError("decode failed");
    benchmark::DoNotOptimize(r);
  }
  state.counters["frame_bytes"] = static_cast<double>(s.size());
}
BENCHMARK(BM_DecodePutRequest);

}  // namespace

BENCHMARK_MAIN();
