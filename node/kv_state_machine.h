// KvStateMachine: the replicated key-value map, the deduplication table that makes retried
// writes apply at most once, and the member address book, with their snapshot encoding.
//
// Every replica applies the same committed commands in the same order, so everything here
// must be deterministic: no clocks, no randomness, no iteration over unordered containers
// in anything that reaches a snapshot or a reply.
//
// Deduplication (Raft thesis §6.3): each write carries (client_id, seq). A client keeps at
// most one write in flight per client_id and increases seq for each new write, so for a
// client the table remembers only the last applied seq and its reply:
//   seq >  last: apply, remember (seq, reply);
//   seq == last: a retry of a write already applied: return the cached reply, change nothing;
//   seq <  last: an old duplicate that surfaced late (the client has moved on): not applied.
// The table is bounded (kMaxSessions): when full, the client whose last write is oldest is
// forgotten (deterministic: ordered by a write counter that is part of the state).
//
// Snapshot format (byte_codec.h), version 2: u32 magic "RKV2", u64 write_counter,
// count + (key, value) pairs in key order, count + sessions (client_id, seq, counter,
// reply code, reply value, reply value_present) in client_id order, count + members
// (id, raft, client, u64 incarnation) in id order. Version 1 ("RKV1", members without the
// incarnation) is still restored, with incarnations 0 (not recorded). restore() checks every count and length against the
// remaining bytes, so corrupt input fails cleanly.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "node/kv_command.h"
#include "node/member_addresses.h"

namespace node {

enum class KvResultCode : uint8_t {
  Ok = 0,
  NotFound = 1,   // del of a missing key
  CasFailed = 2,  // value / value_present tell what the key holds
  Stale = 3,      // an old duplicate that was not applied (see above)
};

struct KvResult {
  KvResultCode code = KvResultCode::Ok;
  std::string value;
  bool value_present = false;

  bool operator==(const KvResult&) const = default;
};

class KvStateMachine {
 public:
  static constexpr size_t kMaxSessions = 1 << 16;

  // Applies one command, deduplicated by (client_id, seq). client_id 0 means "no identity":
  // always applied, nothing remembered.
  KvResult apply(const KvCommand& cmd);
  std::optional<std::string> get(const std::string& key) const;
  size_t size() const { return data_.size(); }
  size_t session_count() const { return sessions_.size(); }
  // Bytes of keys and values held (what max_state_mb bounds).
  uint64_t state_bytes() const { return state_bytes_; }
  // How much state_bytes() would grow if `key` were set to a value of `value_bytes` bytes
  // (negative: it would shrink).
  int64_t growth_if_set(const std::string& key, uint64_t value_bytes) const;

  // The member address book (see member_addresses.h).
  void set_member(const MemberAddress& m) { members_[m.id] = m; }
  void remove_member(uint64_t id) { members_.erase(id); }
  const std::map<uint64_t, MemberAddress>& members() const { return members_; }

  std::string snapshot() const;
  // The same bytes as snapshot(), handed to `sink` in pieces of about kSnapshotPieceBytes
  // (for a state too large to copy into one string: a forked child streams it to a file).
  // Stops and returns the first non-zero value the sink returns; 0 when all was written.
  static constexpr size_t kSnapshotPieceBytes = 64u << 10;
  int snapshot_to(const std::function<int(std::string_view)>& sink) const;
  // Replaces this state with the decoded snapshot. On error (reason in *error) the state is
  // unchanged and false is returned.
  bool restore(std::string_view bytes, std::string* error = nullptr);
  // The same, reading the snapshot piece by piece (a snapshot file, never held whole):
  // `next` returns the next piece, false at the end (with *error set if the input is
  // damaged); `max_bytes` bounds the total. The state changes only if everything decoded.
  bool restore_stream(const std::function<bool(std::string* piece, std::string* error)>& next, uint64_t max_bytes,
                      std::string* error = nullptr);

  bool operator==(const KvStateMachine&) const = default;

 private:
  struct Session {
    uint64_t seq = 0;
    uint64_t counter = 0;  // write_counter_ when this session last applied a write
    KvResult reply;
    bool operator==(const Session&) const = default;
  };
  KvResult execute(const KvCommand& cmd);
  template <typename Reader>
  bool decode(Reader& r, std::string* error);
  void set(const std::string& key, const std::string& value);
  void remember(uint64_t client_id, uint64_t seq, const KvResult& reply);

  std::map<std::string, std::string> data_;
  std::map<uint64_t, Session> sessions_;
  // counter -> client_id for the sessions, oldest first. Invariant: one entry per session,
  // keyed by that session's counter.
  std::map<uint64_t, uint64_t> session_age_;
  uint64_t write_counter_ = 0;
  std::map<uint64_t, MemberAddress> members_;
  // Invariant: the sum of key and value sizes in data_ (derived, not in the snapshot).
  uint64_t state_bytes_ = 0;
};

}  // namespace node
