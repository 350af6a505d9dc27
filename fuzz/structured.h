// Builders of well-formed values from fuzzer bytes, so that the decoders are exercised both on
// raw bytes and on near-valid frames: a random but structurally valid message is encoded and
// then damaged in one of a few ways (truncated, one byte changed, bytes appended), which
// reaches the deep branches of a decoder far faster than mutating raw bytes does.
#pragma once

#include <fuzzer/FuzzedDataProvider.h>

#include <string>

#include "raft/types.h"
#include "transport/client_protocol.h"

namespace fuzz {

inline raft::Entry make_entry(FuzzedDataProvider& p) {
  raft::Entry e;
  e.type = p.ConsumeBool() ? raft::EntryType::ConfChange : raft::EntryType::Normal;
  e.term = p.ConsumeIntegral<uint64_t>();
  e.index = p.ConsumeIntegral<uint64_t>();
  e.data = p.ConsumeRandomLengthString(64);
  e.context = p.ConsumeRandomLengthString(16);
  return e;
}

inline std::vector<uint64_t> make_ids(FuzzedDataProvider& p) {
  std::vector<uint64_t> v(p.ConsumeIntegralInRange<size_t>(0, 5));
  for (auto& x : v) x = p.ConsumeIntegral<uint64_t>();
  return v;
}

inline raft::Message make_message(FuzzedDataProvider& p) {
  raft::Message m;
  m.msg_type = static_cast<raft::MessageType>(p.ConsumeIntegralInRange<int>(0, raft::kMessageTypeCount - 1));
  m.to = p.ConsumeIntegral<uint64_t>();
  m.from = p.ConsumeIntegral<uint64_t>();
  m.term = p.ConsumeIntegral<uint64_t>();
  m.log_term = p.ConsumeIntegral<uint64_t>();
  m.index = p.ConsumeIntegral<uint64_t>();
  const size_t n = p.ConsumeIntegralInRange<size_t>(0, 4);
  for (size_t i = 0; i < n; ++i) m.entries.push_back(make_entry(p));
  m.commit = p.ConsumeIntegral<uint64_t>();
  if (p.ConsumeBool()) {
    m.snapshot.data = p.ConsumeRandomLengthString(64);
    m.snapshot.metadata.index = p.ConsumeIntegral<uint64_t>();
    m.snapshot.metadata.term = p.ConsumeIntegral<uint64_t>();
    m.snapshot.metadata.conf_state.voters = make_ids(p);
    m.snapshot.metadata.conf_state.learners = make_ids(p);
    m.snapshot.metadata.conf_state.voters_outgoing = make_ids(p);
    m.snapshot.metadata.conf_state.learners_next = make_ids(p);
    m.snapshot.metadata.conf_state.auto_leave = p.ConsumeBool();
  }
  m.reject = p.ConsumeBool();
  m.reject_hint = p.ConsumeIntegral<uint64_t>();
  m.context = p.ConsumeRandomLengthString(16);
  return m;
}

inline transport::ClientRequest make_request(FuzzedDataProvider& p) {
  transport::ClientRequest r;
  r.request_id = p.ConsumeIntegral<uint64_t>();
  r.client_id = p.ConsumeIntegral<uint64_t>();
  r.seq = p.ConsumeIntegral<uint64_t>();
  r.kind = static_cast<transport::RequestKind>(p.ConsumeIntegralInRange<int>(0, transport::kRequestKindCount - 1));
  r.key = p.ConsumeRandomLengthString(16);
  r.value = p.ConsumeRandomLengthString(32);
  r.expected = p.ConsumeRandomLengthString(16);
  r.expected_absent = p.ConsumeBool();
  r.serializable = p.ConsumeBool();
  r.conf_change.transition =
      static_cast<raft::ConfChangeTransition>(p.ConsumeIntegralInRange<int>(0, 2));
  const size_t n = p.ConsumeIntegralInRange<size_t>(0, 3);
  for (size_t i = 0; i < n; ++i)
    r.conf_change.changes.push_back(
        {static_cast<raft::ConfChangeType>(p.ConsumeIntegralInRange<int>(0, 2)), p.ConsumeIntegral<uint64_t>()});
  r.conf_change.context = p.ConsumeRandomLengthString(32);
  r.target = p.ConsumeIntegral<uint64_t>();
  return r;
}

inline transport::ClientReply make_reply(FuzzedDataProvider& p) {
  transport::ClientReply r;
  r.request_id = p.ConsumeIntegral<uint64_t>();
  r.code = static_cast<transport::ReplyCode>(p.ConsumeIntegralInRange<int>(0, transport::kReplyCodeCount - 1));
  r.value = p.ConsumeRandomLengthString(32);
  r.value_present = p.ConsumeBool();
  r.leader_id = p.ConsumeIntegral<uint64_t>();
  r.leader_client = p.ConsumeRandomLengthString(24);
  r.error = p.ConsumeRandomLengthString(24);
  auto& s = r.status;
  s.id = p.ConsumeIntegral<uint64_t>();
  s.role = p.ConsumeRandomLengthString(10);
  s.term = p.ConsumeIntegral<uint64_t>();
  s.leader = p.ConsumeIntegral<uint64_t>();
  s.commit = p.ConsumeIntegral<uint64_t>();
  s.applied = p.ConsumeIntegral<uint64_t>();
  s.last_index = p.ConsumeIntegral<uint64_t>();
  s.first_index = p.ConsumeIntegral<uint64_t>();
  s.voters = make_ids(p);
  s.learners = make_ids(p);
  s.voters_outgoing = make_ids(p);
  const size_t n = p.ConsumeIntegralInRange<size_t>(0, 3);
  for (size_t i = 0; i < n; ++i) {
    s.progress_matched.emplace_back(p.ConsumeIntegral<uint64_t>(), p.ConsumeIntegral<uint64_t>());
    s.members.emplace_back(p.ConsumeIntegral<uint64_t>(), p.ConsumeRandomLengthString(24));
  }
  return r;
}

// Damages `bytes` in one of four ways chosen by the fuzzer (or leaves it intact).
inline std::string damage(FuzzedDataProvider& p, std::string bytes) {
  switch (p.ConsumeIntegralInRange<int>(0, 3)) {
    case 0:
      break;
    case 1:
      bytes.resize(p.ConsumeIntegralInRange<size_t>(0, bytes.size()));
      break;
    case 2:
      if (!bytes.empty())
        bytes[p.ConsumeIntegralInRange<size_t>(0, bytes.size() - 1)] = static_cast<char>(p.ConsumeIntegral<uint8_t>());
      break;
    default:
      bytes += p.ConsumeRandomLengthString(16);
      break;
  }
  return bytes;
}

}  // namespace fuzz
