// Encode/decode cost of the wire codecs: a MsgAppend with 64 entries of 100 bytes (a typical
// replication batch) and a client Put request.
//   build-*/bin/transport_bench [--benchmark_filter=...]
#include <benchmark/benchmark.h>

#include <string>
#include <variant>
#include <vector>

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

// Messages of every shape the encoder handles: entries with data and context, a snapshot with
// a joint membership, a rejection with a hint, a context.
std::vector<raft::Message> shapes() {
  std::vector<raft::Message> out;
  out.push_back(append_64x100());
  raft::Message ack;
  ack.msg_type = raft::MessageType::MsgAppendResponse;
  ack.from = 3;
  ack.to = 1;
  ack.term = 9;
  ack.index = 123456789;
  ack.reject = true;
  ack.reject_hint = 77;
  ack.log_term = 8;
  out.push_back(ack);
  raft::Message snap;
  snap.msg_type = raft::MessageType::MsgSnapshot;
  snap.from = 1;
  snap.to = 4;
  snap.term = 2;
  snap.snapshot.data = std::string(1000, '\0') + "state";
  snap.snapshot.metadata.index = 5000;
  snap.snapshot.metadata.term = 2;
  snap.snapshot.metadata.conf_state.voters = {1, 2, 3};
  snap.snapshot.metadata.conf_state.learners = {4};
  snap.snapshot.metadata.conf_state.voters_outgoing = {1, 2, 5};
  snap.snapshot.metadata.conf_state.learners_next = {5};
  snap.snapshot.metadata.conf_state.auto_leave = true;
  out.push_back(snap);
  raft::Message hb;
  hb.msg_type = raft::MessageType::MsgHeartbeat;
  hb.from = 1;
  hb.to = 2;
  hb.term = 0xfedcba9876543210ull;
  hb.commit = 42;
  hb.context = "read-ctx";
  out.push_back(hb);
  raft::Message cc = append_64x100();
  cc.entries.resize(2);
  cc.entries[1].type = raft::EntryType::ConfChange;
  cc.entries[1].context = "ctx";
  cc.entries[1].data.clear();
  out.push_back(cc);
  return out;
}

// The direct encoder must write exactly what the cereal one writes (the format of wire.h).
bool encoders_agree() {
  const transport::SenderIdentity sender{0x0123456789abcdefull, true};
  for (const auto& m : shapes()) {
    const std::string a = transport::encode_message("demo", m, sender);
    if (a != transport::encode_message_cereal("demo", m, sender)) return false;
    if (a.size() != transport::encoded_message_size("demo", m)) return false;
    transport::SenderIdentity got;
    auto back = transport::decode_message(a, "demo", &got);
    if (!std::holds_alternative<raft::Message>(back) || !(got == sender)) return false;
  }
  return true;
}

void BM_EncodeAppend64x100(benchmark::State& state) {
  const raft::Message m = append_64x100();
  if (!encoders_agree()) state.SkipWithError("encode_message and encode_message_cereal disagree");
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

void BM_EncodeAppend64x100Cereal(benchmark::State& state) {
  const raft::Message m = append_64x100();
  for (auto _ : state) {
    std::string s = transport::encode_message_cereal("demo", m);
    benchmark::DoNotOptimize(s);
  }
}
BENCHMARK(BM_EncodeAppend64x100Cereal);

void BM_EncodeAppendResponse(benchmark::State& state) {
  raft::Message m = shapes()[1];
  for (auto _ : state) {
    std::string s = transport::encode_message("demo", m);
    benchmark::DoNotOptimize(s);
  }
}
BENCHMARK(BM_EncodeAppendResponse);

void BM_EncodeAppendResponseCereal(benchmark::State& state) {
  raft::Message m = shapes()[1];
  for (auto _ : state) {
    std::string s = transport::encode_message_cereal("demo", m);
    benchmark::DoNotOptimize(s);
  }
}
BENCHMARK(BM_EncodeAppendResponseCereal);

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
