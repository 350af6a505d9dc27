#include "node/snapshot_transfer.h"

#include <xxhash.h>

#include <algorithm>

#include "raft/check.h"
#include "storage/snapshot_file.h"
#include "storage/snapshot_stream.h"

namespace node {

using transport::SnapshotAck;
using transport::SnapshotAckStatus;
using transport::SnapshotChunk;
using transport::SnapshotId;

uint64_t snapshot_chunk_hash(std::string_view data) { return XXH3_64bits(data.data(), data.size()); }

// --- Sender ---

SnapshotSender::SnapshotSender(storage::Env& env, raft::NodeId self, SnapshotTransferOptions opts)
    : env_(env), self_(self), opts_(opts) {
  RAFT_CHECK(opts_.chunk_bytes > 0 && opts_.window_chunks > 0, "snapshot transfer needs a chunk size and a window");
}

SnapshotSender::Start SnapshotSender::start(raft::NodeId to, raft::Term msg_term, const SnapshotId& snap,
                                            const std::string& path, Clock::time_point now, std::string* why) {
  if (auto it = transfers_.find(to); it != transfers_.end()) {
    // The core asks again only after its progress for `to` was reset; a newer leader term
    // is adopted so that the receiver keeps taking our chunks.
    it->second.msg_term = std::max(it->second.msg_term, msg_term);
    return Start::AlreadyRunning;
  }
  auto file = env_.open_random_access(path);
  if (!file.ok()) {
    if (why) *why = file.error().message;
    return Start::Failed;
  }
  Transfer t;
  t.msg_term = msg_term;
  t.snap = snap;
  t.file = std::move(*file);
  t.last_progress = now;
  t.last_send = now;
  transfers_.emplace(to, std::move(t));
  return Start::Started;
}

uint64_t SnapshotSender::acked(raft::NodeId to) const {
  auto it = transfers_.find(to);
  return it == transfers_.end() ? 0 : it->second.acked;
}

void SnapshotSender::finish(raft::NodeId to, bool finished, std::string why) {
  auto it = transfers_.find(to);
  RAFT_CHECK(it != transfers_.end(), "no transfer to %lu", to);
  outcomes_.push_back(Outcome{to, it->second.snap.index, finished, std::move(why)});
  transfers_.erase(it);
}

void SnapshotSender::on_ack(const SnapshotAck& ack, Clock::time_point now) {
  auto it = transfers_.find(ack.from);
  if (it == transfers_.end() || !(it->second.snap == ack.snap)) return;  // an old transfer's
  Transfer& t = it->second;
  switch (ack.status) {
    case SnapshotAckStatus::Done:
      finish(ack.from, true, "");
      return;
    case SnapshotAckStatus::Refused:
      finish(ack.from, false, "refused by the receiver: " + ack.reason);
      return;
    case SnapshotAckStatus::Progress:
      break;
  }
  const uint64_t n = std::min(ack.next_offset, t.snap.file_size);
  t.heard = true;
  if (n > t.acked) {
    t.acked = n;
    t.last_progress = now;
    t.rewound_at = UINT64_MAX;
    t.next = std::max(t.next, n);  // the receiver already had more (a resumed transfer)
  } else if (n < t.acked) {
    // The receiver has less than it said (it lost its partial file): resend from there.
    t.acked = n;
    t.next = n;
    t.rewound_at = n;
  } else if (t.next > n && t.rewound_at != n) {
    // The same count again while later chunks are out: the chunk at n was lost or damaged.
    t.next = n;
    t.rewound_at = n;
  }
}

void SnapshotSender::refill(Clock::time_point now) {
  if (opts_.rate_bytes_per_s == 0) return;
  const double burst = static_cast<double>(opts_.chunk_bytes) + static_cast<double>(opts_.rate_bytes_per_s) / 10;
  if (refilled_) {
    const double secs = std::chrono::duration<double>(now - *refilled_).count();
    tokens_ = std::min(burst, tokens_ + secs * static_cast<double>(opts_.rate_bytes_per_s));
  } else {
    tokens_ = burst;
  }
  refilled_ = now;
}

void SnapshotSender::poll(Clock::time_point now, std::vector<SnapshotChunk>* out) {
  refill(now);
  std::vector<raft::NodeId> abandoned;
  for (auto& [to, t] : transfers_) {
    if (now - t.last_progress >= opts_.abandon_after) {
      abandoned.push_back(to);
      continue;
    }
    if (now - t.last_send >= opts_.retransmit_after && now - t.last_progress >= opts_.retransmit_after) {
      // Nothing acknowledged for a while: the chunks or their acks were lost, or the receiver
      // restarted. Go back to what it holds (a restarted receiver answers with its count).
      // (acked < file_size while a transfer runs: the receiver answers Done, not a full
      // count, and answers Done again to a repeated last chunk.)
      t.next = t.acked;
      t.rewound_at = UINT64_MAX;
    }
    const uint64_t window = t.heard ? opts_.window_chunks * opts_.chunk_bytes : opts_.chunk_bytes;
    while (t.next < t.snap.file_size && t.next - t.acked < window) {
      if (opts_.rate_bytes_per_s > 0 && tokens_ <= 0) break;
      const size_t n = static_cast<size_t>(std::min<uint64_t>(opts_.chunk_bytes, t.snap.file_size - t.next));
      SnapshotChunk c;
      c.from = self_;
      c.to = to;
      c.msg_term = t.msg_term;
      c.snap = t.snap;
      c.offset = t.next;
      if (auto r = t.file->read(t.next, n, &c.data); !r.ok()) {
        abandoned.push_back(to);
        break;
      }
      c.data_hash = snapshot_chunk_hash(c.data);
      t.next += n;
      t.last_send = now;
      tokens_ -= static_cast<double>(n);
      out->push_back(std::move(c));
    }
  }
  for (raft::NodeId to : abandoned) {
    finish(to, false, "no progress for " +
                          std::to_string(std::chrono::duration_cast<std::chrono::seconds>(opts_.abandon_after).count()) +
                          " s (or the snapshot file could not be read)");
  }
}

void SnapshotSender::cancel_all(const std::string& why) {
  while (!transfers_.empty()) finish(transfers_.begin()->first, false, why);
}

std::vector<SnapshotSender::Outcome> SnapshotSender::take_outcomes() {
  std::vector<Outcome> out;
  out.swap(outcomes_);
  return out;
}

// --- Receiver ---

namespace {

using HashState = std::shared_ptr<void>;

HashState new_hash_state() {
  XXH3_state_t* s = XXH3_createState();
  RAFT_CHECK(s != nullptr, "out of memory");
  XXH3_64bits_reset(s);
  return HashState(s, [](void* p) { XXH3_freeState(static_cast<XXH3_state_t*>(p)); });
}

XXH3_state_t* state_of(const HashState& h) { return static_cast<XXH3_state_t*>(h.get()); }

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

SnapshotReceiver::SnapshotReceiver(storage::Env& env, std::string snap_dir, raft::NodeId self,
                                   SnapshotTransferOptions opts)
    : env_(env), snap_dir_(std::move(snap_dir)), self_(self), opts_(opts) {}

std::string SnapshotReceiver::part_path(const SnapshotId& snap) const {
  return storage::join_path(snap_dir_, storage::snapshot_name(snap.index) + raft::format(".%016lx", snap.file_hash) +
                                           storage::kPartSuffix);
}

void SnapshotReceiver::recover(Clock::time_point now) {
  auto names = env_.list_dir(snap_dir_);
  if (!names.ok()) return;
  for (const std::string& name : *names) {
    if (ends_with(name, storage::kPartSuffix)) leftovers_[storage::join_path(snap_dir_, name)] = now;
  }
}

SnapshotAck SnapshotReceiver::ack_for(const SnapshotChunk& c, uint64_t next, SnapshotAckStatus status,
                                      std::string reason) const {
  SnapshotAck a;
  a.from = self_;
  a.to = c.from;
  a.msg_term = c.msg_term;
  a.snap = c.snap;
  a.next_offset = next;
  a.status = status;
  a.reason = std::move(reason);
  return a;
}

void SnapshotReceiver::discard_incoming() {
  if (!incoming_) return;
  const std::string path = incoming_->path;
  incoming_.reset();  // closes the file first
  (void)env_.remove_file(path);
}

std::string SnapshotReceiver::begin(const SnapshotChunk& c, Clock::time_point now) {
  discard_incoming();
  Incoming in;
  in.from = c.from;
  in.msg_term = c.msg_term;
  in.snap = c.snap;
  in.path = part_path(c.snap);
  in.hash_state = new_hash_state();
  in.last_activity = now;
  leftovers_.erase(in.path);
  // Any other leftover is a different file: only one transfer is worth keeping.
  for (const auto& [path, found] : leftovers_) (void)env_.remove_file(path);
  leftovers_.clear();
  if (env_.exists(in.path)) {
    // Resume: what an earlier run (or an earlier leader with the same file) delivered.
    auto size = env_.file_size(in.path);
    bool usable = size.ok() && *size <= c.snap.file_size;
    if (usable && *size > 0) {
      auto f = env_.open_random_access(in.path);
      usable = f.ok();
      std::string buf;
      for (uint64_t off = 0; usable && off < *size;) {
        const size_t n = static_cast<size_t>(std::min<uint64_t>(opts_.chunk_bytes, *size - off));
        usable = (*f)->read(off, n, &buf).ok();
        if (usable) XXH3_64bits_update(state_of(in.hash_state), buf.data(), buf.size());
        off += n;
      }
    }
    if (usable) {
      in.received = *size;
    } else {
      (void)env_.remove_file(in.path);
      in.hash_state = new_hash_state();
    }
  }
  auto file = env_.open_appendable(in.path);
  if (!file.ok()) return file.error().message;
  in.file = std::move(*file);
  incoming_ = std::move(in);
  return "";
}

std::string SnapshotReceiver::complete(Completed* done) {
  Incoming& in = *incoming_;
  if (auto r = in.file->sync(); !r.ok()) return "cannot sync the received snapshot: " + r.error().message;
  if (XXH3_64bits_digest(state_of(in.hash_state)) != in.snap.file_hash) {
    return "the whole file's checksum does not match the sender's";
  }
  auto reader = storage::SnapshotFileReader::open(env_, in.path);
  if (!reader.ok()) return "not a snapshot file: " + reader.error().message;
  const raft::SnapshotMetadata meta = (*reader)->metadata();
  reader->reset();
  if (meta.index != in.snap.index || meta.term != in.snap.term) {
    return raft::format("the file holds the snapshot at %lu term %lu, the sender announced %lu term %lu", meta.index,
                        meta.term, in.snap.index, in.snap.term);
  }
  const std::string final_path = storage::join_path(snap_dir_, storage::snapshot_name(in.snap.index));
  in.file.reset();
  if (auto r = env_.rename(in.path, final_path); !r.ok()) return r.error().message;
  if (auto r = env_.sync_dir(snap_dir_); !r.ok()) return r.error().message;
  done->from = in.from;
  done->msg_term = in.msg_term;
  done->snap = in.snap;
  done->metadata = meta;
  return "";
}

SnapshotReceiver::Reply SnapshotReceiver::on_chunk(const SnapshotChunk& c, Clock::time_point now) {
  Reply reply;
  if (auto it = completed_.find(c.from); it != completed_.end() && it->second == c.snap) {
    // The Done was lost: the file is already in place.
    reply.ack = ack_for(c, c.snap.file_size, SnapshotAckStatus::Done);
    return reply;
  }
  if (!incoming_ || !(incoming_->snap == c.snap)) {
    if (incoming_ && c.msg_term < incoming_->msg_term && now - incoming_->last_activity < opts_.abandon_after) {
      reply.ack = ack_for(c, 0, SnapshotAckStatus::Refused, "receiving a snapshot from a newer leader");
      return reply;
    }
    if (std::string why = begin(c, now); !why.empty()) {
      discard_incoming();
      reply.ack = ack_for(c, 0, SnapshotAckStatus::Refused, "cannot store the snapshot: " + why);
      return reply;
    }
    reply.began_at = incoming_->received;
  }
  Incoming& in = *incoming_;
  in.from = c.from;
  in.msg_term = std::max(in.msg_term, c.msg_term);
  in.last_activity = now;
  const bool fits = c.offset <= in.snap.file_size && c.data.size() <= in.snap.file_size - c.offset;
  if (c.offset != in.received || !fits) {
    // A duplicate, or a chunk after a lost one: say where we are.
    reply.ack = ack_for(c, in.received, SnapshotAckStatus::Progress);
    return reply;
  }
  if (snapshot_chunk_hash(c.data) != c.data_hash) {
    ++corrupt_chunks_;
    reply.ack = ack_for(c, in.received, SnapshotAckStatus::Progress);
    return reply;
  }
  if (!c.data.empty()) {
    if (auto r = in.file->append(c.data); !r.ok()) {
      discard_incoming();
      reply.ack = ack_for(c, 0, SnapshotAckStatus::Refused, "cannot write the snapshot: " + r.error().message);
      return reply;
    }
    XXH3_64bits_update(state_of(in.hash_state), c.data.data(), c.data.size());
    in.received += c.data.size();
  }
  if (in.received < in.snap.file_size) {
    reply.ack = ack_for(c, in.received, SnapshotAckStatus::Progress);
    return reply;
  }
  Completed done;
  if (std::string why = complete(&done); !why.empty()) {
    discard_incoming();
    reply.ack = ack_for(c, 0, SnapshotAckStatus::Refused, why);
    return reply;
  }
  incoming_.reset();
  completed_[c.from] = c.snap;
  reply.ack = ack_for(c, c.snap.file_size, SnapshotAckStatus::Done);
  reply.completed = std::move(done);
  return reply;
}

void SnapshotReceiver::tick(Clock::time_point now) {
  if (incoming_ && now - incoming_->last_activity >= opts_.abandon_after) discard_incoming();
  for (auto it = leftovers_.begin(); it != leftovers_.end();) {
    if (now - it->second >= opts_.abandon_after) {
      (void)env_.remove_file(it->first);
      it = leftovers_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace node
