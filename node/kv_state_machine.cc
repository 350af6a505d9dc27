#include "node/kv_state_machine.h"

#include "node/byte_codec.h"

namespace node {
namespace {
constexpr uint32_t kMagicV1 = 0x31564b52;  // "RKV1" little-endian: members without incarnations
constexpr uint32_t kMagic = 0x32564b52;    // "RKV2": each member record ends with its incarnation
}

KvResult KvStateMachine::apply(const KvCommand& cmd) {
  if (cmd.client_id != 0) {
    auto it = sessions_.find(cmd.client_id);
    if (it != sessions_.end()) {
      if (cmd.seq == it->second.seq) return it->second.reply;
      if (cmd.seq < it->second.seq) return KvResult{KvResultCode::Stale, {}, false};
    }
  }
  KvResult reply = execute(cmd);
  ++write_counter_;
  if (cmd.client_id != 0) remember(cmd.client_id, cmd.seq, reply);
  return reply;
}

KvResult KvStateMachine::execute(const KvCommand& cmd) {
  switch (cmd.op) {
    case KvOp::Put:
      set(cmd.key, cmd.value);
      return {};
    case KvOp::Del: {
      auto it = data_.find(cmd.key);
      if (it == data_.end()) return KvResult{KvResultCode::NotFound, {}, false};
      state_bytes_ -= it->first.size() + it->second.size();
      data_.erase(it);
      return {};
    }
    case KvOp::Cas: {
      auto it = data_.find(cmd.key);
      const bool matches = cmd.expected_absent ? it == data_.end()
                                               : (it != data_.end() && it->second == cmd.expected);
      if (!matches) {
        if (it == data_.end()) return {KvResultCode::CasFailed, {}, false};
        return {KvResultCode::CasFailed, it->second, true};
      }
      set(cmd.key, cmd.value);
      return {};
    }
  }
  return {};
}

void KvStateMachine::set(const std::string& key, const std::string& value) {
  state_bytes_ = static_cast<uint64_t>(static_cast<int64_t>(state_bytes_) + growth_if_set(key, value.size()));
  data_[key] = value;
}

int64_t KvStateMachine::growth_if_set(const std::string& key, uint64_t value_bytes) const {
  auto it = data_.find(key);
  if (it == data_.end()) return static_cast<int64_t>(key.size() + value_bytes);
  return static_cast<int64_t>(value_bytes) - static_cast<int64_t>(it->second.size());
}

void KvStateMachine::remember(uint64_t client_id, uint64_t seq, const KvResult& reply) {
  auto [it, inserted] = sessions_.try_emplace(client_id);
  if (!inserted) session_age_.erase(it->second.counter);
  it->second = Session{seq, write_counter_, reply};
  session_age_[write_counter_] = client_id;
  while (sessions_.size() > kMaxSessions) {
    auto oldest = session_age_.begin();
    sessions_.erase(oldest->second);
    session_age_.erase(oldest);
  }
}

std::optional<std::string> KvStateMachine::get(const std::string& key) const {
  auto it = data_.find(key);
  if (it == data_.end()) return std::nullopt;
  return it->second;
}

std::string KvStateMachine::snapshot() const {
  std::string out;
  snapshot_to([&](std::string_view piece) {
    out.append(piece);
    return 0;
  });
  return out;
}

int KvStateMachine::snapshot_to(const std::function<int(std::string_view)>& sink) const {
  ByteWriter w;
  auto flush_if = [&](size_t at_least) {
    if (w.bytes().size() < at_least) return 0;
    const std::string piece = w.take();
    w = ByteWriter();
    return sink(piece);
  };
  w.u32(kMagic);
  w.u64(write_counter_);
  w.u64(data_.size());
  for (const auto& [k, v] : data_) {
    w.str(k);
    w.str(v);
    if (int e = flush_if(kSnapshotPieceBytes); e != 0) return e;
  }
  w.u64(sessions_.size());
  for (const auto& [id, s] : sessions_) {
    w.u64(id);
    w.u64(s.seq);
    w.u64(s.counter);
    w.u8(static_cast<uint8_t>(s.reply.code));
    w.str(s.reply.value);
    w.u8(s.reply.value_present ? 1 : 0);
    if (int e = flush_if(kSnapshotPieceBytes); e != 0) return e;
  }
  w.u64(members_.size());
  for (const auto& [id, m] : members_) {
    w.u64(id);
    w.str(m.raft);
    w.str(m.client);
    w.u64(m.incarnation);
  }
  return flush_if(0);
}

bool KvStateMachine::restore(std::string_view bytes, std::string* error) {
  ByteReader r(bytes);
  return decode(r, error);
}

bool KvStateMachine::restore_stream(const std::function<bool(std::string*, std::string*)>& next, uint64_t max_bytes,
                                    std::string* error) {
  StreamByteReader r(next, max_bytes);
  if (decode(r, error)) return true;
  if (error && !r.error().empty()) *error = "kv snapshot: " + r.error();
  return false;
}

template <typename Reader>
bool KvStateMachine::decode(Reader& r, std::string* error) {
  auto bad = [&](const char* why) {
    if (error) *error = std::string("kv snapshot: ") + why;
    return false;
  };
  // Version 1 snapshots (written before member incarnations were recorded) are still read.
  const uint32_t magic = r.u32();
  if ((magic != kMagic && magic != kMagicV1) || !r.ok()) return bad("bad magic (not a version-1 or -2 KV snapshot)");
  KvStateMachine s;
  s.write_counter_ = r.u64();
  const uint64_t n_data = r.count(8);
  for (uint64_t i = 0; i < n_data && r.ok(); ++i) {
    std::string k = r.str();
    std::string v = r.str();
    s.state_bytes_ += k.size() + v.size();
    s.data_.emplace_hint(s.data_.end(), std::move(k), std::move(v));
  }
  const uint64_t n_sessions = r.count(30);
  for (uint64_t i = 0; i < n_sessions && r.ok(); ++i) {
    const uint64_t id = r.u64();
    Session sess;
    sess.seq = r.u64();
    sess.counter = r.u64();
    const uint8_t code = r.u8();
    sess.reply.value = r.str();
    const uint8_t present = r.u8();
    if (code > 3 || present > 1) return bad("bad session record");
    sess.reply.code = static_cast<KvResultCode>(code);
    sess.reply.value_present = present == 1;
    if (!s.session_age_.emplace(sess.counter, id).second) return bad("duplicate session counter");
    s.sessions_.emplace(id, std::move(sess));
  }
  const uint64_t n_members = r.count(16);
  for (uint64_t i = 0; i < n_members && r.ok(); ++i) {
    MemberAddress m;
    m.id = r.u64();
    m.raft = r.str();
    m.client = r.str();
    if (magic != kMagicV1) m.incarnation = r.u64();
    s.members_[m.id] = std::move(m);
  }
  if (!r.ok()) return bad("truncated");
  if (!r.at_end()) return bad("trailing bytes");
  if (s.data_.size() != n_data || s.sessions_.size() != n_sessions || s.members_.size() != n_members)
    return bad("duplicate keys");
  *this = std::move(s);
  return true;
}

}  // namespace node
