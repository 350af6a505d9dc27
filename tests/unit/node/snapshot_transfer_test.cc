// The snapshot chunk protocol (node/snapshot_transfer.h) driven without sockets: a sender and
// a receiver over an in-memory file system (storage::FaultEnv) and a simulated network that
// loses, duplicates, reorders and corrupts packets, with a simulated clock.
#include "node/snapshot_transfer.h"

#include <catch2/catch.hpp>

#include <deque>
#include <random>

#include "storage/testing/fault_env.h"
#include "storage/snapshot_file.h"
#include "storage/snapshot_stream.h"
#include "transport/snapshot_messages.h"

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;
using node::SnapshotReceiver;
using node::SnapshotSender;
using transport::SnapshotAck;
using transport::SnapshotChunk;

constexpr raft::NodeId kLeader = 1;
constexpr raft::NodeId kFollower = 2;
const std::string kLeaderSnap = "/leader/snap";
const std::string kFollowerSnap = "/follower/snap";

node::SnapshotTransferOptions small_chunks() {
  node::SnapshotTransferOptions o;
  o.chunk_bytes = 4096;
  o.window_chunks = 4;
  o.retransmit_after = 100ms;
  o.abandon_after = 5s;
  return o;
}

// A snapshot file of about `bytes` bytes of pseudo-random data in the leader's snap/.
struct SnapshotOnDisk {
  transport::SnapshotId id;
  std::string path;
};

SnapshotOnDisk make_snapshot(storage::FaultEnv& env, size_t bytes, uint64_t seed, raft::Index index = 42) {
  REQUIRE(env.create_dirs(kLeaderSnap).ok());
  REQUIRE(env.create_dirs(kFollowerSnap).ok());
  raft::Snapshot s;
  s.metadata.index = index;
  s.metadata.term = 3;
  s.metadata.conf_state.voters = {1, 2, 3};
  std::mt19937_64 rng(seed);
  s.data.resize(bytes);
  for (auto& c : s.data) c = static_cast<char>(rng());
  REQUIRE(storage::write_snapshot_file(env, kLeaderSnap, s, true).ok());
  SnapshotOnDisk out;
  out.path = storage::join_path(kLeaderSnap, storage::snapshot_name(index));
  auto h = storage::hash_file(env, out.path);
  REQUIRE(h.ok());
  out.id = transport::SnapshotId{index, 3, h->second, h->first};
  return out;
}

// Packets in flight both ways, with faults chosen by a seeded generator.
struct Network {
  struct Faults {
    double loss = 0, duplicate = 0, reorder = 0, corrupt = 0;
  } faults;
  std::mt19937_64 rng;
  std::deque<SnapshotChunk> chunks;
  std::deque<SnapshotAck> acks;
  uint64_t chunk_bytes_sent = 0;

  explicit Network(uint64_t seed) : rng(seed) {}
  bool chance(double p) { return p > 0 && std::uniform_real_distribution<double>(0, 1)(rng) < p; }

  template <typename T>
  void put(std::deque<T>& q, T p) {
    if (chance(faults.loss)) return;
    if (chance(faults.duplicate)) q.push_back(p);
    if (chance(faults.reorder) && !q.empty()) {
      q.insert(q.begin() + static_cast<long>(rng() % q.size()), std::move(p));
    } else {
      q.push_back(std::move(p));
    }
  }
  void send_chunks(std::vector<SnapshotChunk>& out) {
    for (auto& c : out) {
      chunk_bytes_sent += c.data.size();
      if (chance(faults.corrupt) && !c.data.empty()) c.data[rng() % c.data.size()] ^= 0x5a;
      put(chunks, std::move(c));
    }
    out.clear();
  }
};

// Runs sender and receiver until the sender reports an outcome or `limit` simulated time
// passes. Returns the outcomes.
std::vector<SnapshotSender::Outcome> run(SnapshotSender& sender, SnapshotReceiver& receiver, Network& net,
                                         Clock::time_point& now, Clock::duration limit,
                                         std::vector<SnapshotReceiver::Completed>* completed = nullptr) {
  const auto end = now + limit;
  std::vector<SnapshotChunk> out;
  while (now < end) {
    sender.poll(now, &out);
    net.send_chunks(out);
    while (!net.chunks.empty()) {
      auto reply = receiver.on_chunk(net.chunks.front(), now);
      net.chunks.pop_front();
      if (reply.completed && completed) completed->push_back(*reply.completed);
      net.put(net.acks, reply.ack);
    }
    while (!net.acks.empty()) {
      sender.on_ack(net.acks.front(), now);
      net.acks.pop_front();
    }
    auto outcomes = sender.take_outcomes();
    if (!outcomes.empty()) return outcomes;
    receiver.tick(now);
    now += 10ms;
  }
  return {};
}

std::string final_path(raft::Index index) { return storage::join_path(kFollowerSnap, storage::snapshot_name(index)); }

}  // namespace

TEST_CASE("chunk and ack frames round-trip and garbage is refused", "[snapshot_transfer]") {
  SnapshotChunk c;
  c.from = 1;
  c.to = 2;
  c.msg_term = 7;
  c.snap = {10, 3, 12345, 0xabcdef};
  c.offset = 4096;
  c.data = std::string(1000, 'x');
  c.data_hash = node::snapshot_chunk_hash(c.data);
  const std::string bytes = transport::encode_snapshot_packet("demo", c);
  REQUIRE(transport::is_snapshot_frame(bytes));
  auto back = transport::decode_snapshot_packet(bytes, "demo");
  REQUIRE(std::holds_alternative<transport::SnapshotPacket>(back));
  CHECK(std::get<SnapshotChunk>(std::get<transport::SnapshotPacket>(back)) == c);

  SnapshotAck a;
  a.from = 2;
  a.to = 1;
  a.msg_term = 7;
  a.snap = c.snap;
  a.next_offset = 8192;
  a.status = transport::SnapshotAckStatus::Refused;
  a.reason = "why";
  auto ab = transport::decode_snapshot_packet(transport::encode_snapshot_packet("demo", a), "demo");
  REQUIRE(std::holds_alternative<transport::SnapshotPacket>(ab));
  CHECK(std::get<SnapshotAck>(std::get<transport::SnapshotPacket>(ab)) == a);

  // Another cluster, every truncation, and trailing bytes are refused without throwing.
  auto other = transport::decode_snapshot_packet(bytes, "prod");
  REQUIRE(std::holds_alternative<transport::DecodeError>(other));
  CHECK(std::get<transport::DecodeError>(other).reason == transport::DecodeFailure::WrongCluster);
  for (size_t n = 0; n < bytes.size(); n += 97) {
    CHECK(std::holds_alternative<transport::DecodeError>(transport::decode_snapshot_packet(bytes.substr(0, n), "demo")));
  }
  CHECK(std::holds_alternative<transport::DecodeError>(transport::decode_snapshot_packet(bytes + "z", "demo")));
}

TEST_CASE("a snapshot file arrives whole, in chunks, never more than the window in flight", "[snapshot_transfer]") {
  storage::FaultEnv env;
  const auto snap = make_snapshot(env, 100 * 1024 + 17, 1);
  const auto opts = small_chunks();
  SnapshotSender sender(env, kLeader, opts);
  SnapshotReceiver receiver(env, kFollowerSnap, kFollower, opts);
  auto now = Clock::time_point{} + 1h;
  REQUIRE(sender.start(kFollower, 5, snap.id, snap.path, now) == SnapshotSender::Start::Started);
  CHECK(sender.start(kFollower, 5, snap.id, snap.path, now) == SnapshotSender::Start::AlreadyRunning);

  // Step by step without acks: at most one chunk before the first ack, then the window.
  std::vector<SnapshotChunk> out;
  sender.poll(now, &out);
  REQUIRE(out.size() == 1);
  const uint64_t first_chunk = out[0].data.size();
  auto reply = receiver.on_chunk(out[0], now);
  sender.on_ack(reply.ack, now);
  out.clear();
  sender.poll(now, &out);
  CHECK(out.size() == opts.window_chunks);
  std::vector<SnapshotChunk> more;
  sender.poll(now, &more);
  CHECK(more.empty());  // window full until acks arrive

  Network net(1);
  net.send_chunks(out);
  std::vector<SnapshotReceiver::Completed> completed;
  auto outcomes = run(sender, receiver, net, now, 10s, &completed);
  REQUIRE(outcomes.size() == 1);
  CHECK(outcomes[0].finished);
  CHECK(outcomes[0].to == kFollower);
  REQUIRE(completed.size() == 1);
  CHECK(completed[0].metadata.index == 42);
  CHECK(completed[0].metadata.conf_state.voters == std::vector<raft::NodeId>{1, 2, 3});
  CHECK(completed[0].msg_term == 5);
  CHECK(env.contents(final_path(42)) == env.contents(snap.path));
  CHECK_FALSE(env.exists(receiver.part_path(snap.id)));
  CHECK_FALSE(sender.running(kFollower));
  // Every byte went once: no retransmission on a perfect network.
  CHECK(net.chunk_bytes_sent + first_chunk == snap.id.file_size);
}

TEST_CASE("lost, duplicated, reordered and corrupted chunks and acks still deliver the exact file",
          "[snapshot_transfer]") {
  const uint64_t seed = GENERATE(1, 2, 3, 4, 5, 6, 7, 8);
  INFO("seed " << seed);
  storage::FaultEnv env;
  const auto snap = make_snapshot(env, 60 * 1024 + 5, seed);
  SnapshotSender sender(env, kLeader, small_chunks());
  SnapshotReceiver receiver(env, kFollowerSnap, kFollower, small_chunks());
  auto now = Clock::time_point{} + 1h;
  REQUIRE(sender.start(kFollower, 5, snap.id, snap.path, now) == SnapshotSender::Start::Started);
  Network net(seed);
  net.faults = {0.15, 0.1, 0.2, 0.1};
  std::vector<SnapshotReceiver::Completed> completed;
  auto outcomes = run(sender, receiver, net, now, 4s, &completed);
  REQUIRE(outcomes.size() == 1);
  CHECK(outcomes[0].finished);
  CHECK(completed.size() == 1);
  CHECK(env.contents(final_path(42)) == env.contents(snap.path));
}

TEST_CASE("a corrupted chunk is refused by its checksum and sent again", "[snapshot_transfer]") {
  storage::FaultEnv env;
  const auto snap = make_snapshot(env, 50 * 1024, 16);
  auto now = Clock::time_point{} + 1h;
  SnapshotSender sender(env, kLeader, small_chunks());
  SnapshotReceiver receiver(env, kFollowerSnap, kFollower, small_chunks());
  REQUIRE(sender.start(kFollower, 5, snap.id, snap.path, now) == SnapshotSender::Start::Started);
  std::vector<SnapshotChunk> out;
  sender.poll(now, &out);
  sender.on_ack(receiver.on_chunk(out[0], now).ack, now);
  out.clear();
  sender.poll(now, &out);
  REQUIRE(out.size() >= 2);
  out[1].data[10] ^= 1;  // damaged on the way
  for (auto& c : out) sender.on_ack(receiver.on_chunk(c, now).ack, now);
  CHECK(receiver.corrupt_chunks() == 1);
  CHECK(sender.acked(kFollower) == out[1].offset);  // stopped at the damaged chunk
  Network net(16);
  auto outcomes = run(sender, receiver, net, now, 10s);
  REQUIRE(outcomes.size() == 1);
  CHECK(outcomes[0].finished);
  CHECK(env.contents(final_path(42)) == env.contents(snap.path));
}

TEST_CASE("a restarted receiver resumes at what it holds, and so does a new sender", "[snapshot_transfer]") {
  storage::FaultEnv env;
  const auto snap = make_snapshot(env, 200 * 1024, 9);
  const auto opts = small_chunks();
  auto now = Clock::time_point{} + 1h;
  Network net(9);
  uint64_t half = 0;
  {
    SnapshotSender sender(env, kLeader, opts);
    auto receiver = std::make_unique<SnapshotReceiver>(env, kFollowerSnap, kFollower, opts);
    REQUIRE(sender.start(kFollower, 5, snap.id, snap.path, now) == SnapshotSender::Start::Started);
    std::vector<SnapshotChunk> out;
    while (sender.acked(kFollower) < snap.id.file_size / 2) {
      sender.poll(now, &out);
      for (auto& c : out) sender.on_ack(receiver->on_chunk(c, now).ack, now);
      out.clear();
    }
    half = sender.acked(kFollower);

    // The receiver process dies: a new one finds the part file and resumes it.
    receiver = std::make_unique<SnapshotReceiver>(env, kFollowerSnap, kFollower, opts);
    receiver->recover(now);
    std::vector<SnapshotChunk> probe;
    sender.poll(now + opts.retransmit_after, &probe);  // nothing acked for a while: back to `half`
    REQUIRE_FALSE(probe.empty());
    auto first = receiver->on_chunk(probe[0], now);
    REQUIRE(first.began_at);
    CHECK(*first.began_at == half);  // resumed, not restarted
    for (auto& c : probe) sender.on_ack(receiver->on_chunk(c, now).ack, now);
    net.chunk_bytes_sent = 0;
    auto outcomes = run(sender, *receiver, net, now, 10s);
    REQUIRE(outcomes.size() == 1);
    CHECK(outcomes[0].finished);
    // Only what was in flight at the restart is sent twice.
    CHECK(net.chunk_bytes_sent <= snap.id.file_size - half + (opts.window_chunks + 1) * opts.chunk_bytes);
    CHECK(env.contents(final_path(42)) == env.contents(snap.path));
  }
  REQUIRE(env.remove_file(final_path(42)).ok());

  // The leader dies mid-transfer; a new sender of the same file resumes at the receiver's count.
  SnapshotReceiver receiver(env, kFollowerSnap, kFollower, opts);
  {
    SnapshotSender first(env, kLeader, opts);
    REQUIRE(first.start(kFollower, 5, snap.id, snap.path, now) == SnapshotSender::Start::Started);
    std::vector<SnapshotChunk> out;
    while (first.acked(kFollower) < snap.id.file_size / 2) {
      first.poll(now, &out);
      for (auto& c : out) first.on_ack(receiver.on_chunk(c, now).ack, now);
      out.clear();
    }
    half = first.acked(kFollower);
  }
  SnapshotSender second(env, 3, opts);
  REQUIRE(second.start(kFollower, 6, snap.id, snap.path, now) == SnapshotSender::Start::Started);
  net.chunk_bytes_sent = 0;
  auto outcomes = run(second, receiver, net, now, 10s);
  REQUIRE(outcomes.size() == 1);
  CHECK(outcomes[0].finished);
  CHECK(net.chunk_bytes_sent <= snap.id.file_size - half + 2 * opts.chunk_bytes);
  CHECK(env.contents(final_path(42)) == env.contents(snap.path));
}

TEST_CASE("an abandoned transfer is cleaned up on both sides", "[snapshot_transfer]") {
  storage::FaultEnv env;
  const auto snap = make_snapshot(env, 100 * 1024, 11);
  const auto opts = small_chunks();
  auto now = Clock::time_point{} + 1h;
  SnapshotSender sender(env, kLeader, opts);
  SnapshotReceiver receiver(env, kFollowerSnap, kFollower, opts);
  REQUIRE(sender.start(kFollower, 5, snap.id, snap.path, now) == SnapshotSender::Start::Started);
  std::vector<SnapshotChunk> out;
  for (int i = 0; i < 5; ++i) {
    sender.poll(now, &out);
    for (auto& c : out) sender.on_ack(receiver.on_chunk(c, now).ack, now);
    out.clear();
  }
  REQUIRE(receiver.receiving());
  REQUIRE(env.exists(receiver.part_path(snap.id)));

  // From here nothing gets through: the sender gives up after abandon_after, the receiver
  // removes its part file.
  const auto start = now;
  std::vector<SnapshotSender::Outcome> outcomes;
  while (outcomes.empty() && now - start < opts.abandon_after + 1s) {
    now += 50ms;
    sender.poll(now, &out);
    out.clear();
    receiver.tick(now);
    outcomes = sender.take_outcomes();
  }
  REQUIRE(outcomes.size() == 1);
  CHECK_FALSE(outcomes[0].finished);
  CHECK(now - start >= opts.abandon_after);
  receiver.tick(now);
  CHECK_FALSE(receiver.receiving());
  CHECK_FALSE(env.exists(receiver.part_path(snap.id)));

  // A part file left by a crashed run that nobody resumes goes too.
  env.set_contents(receiver.part_path(snap.id), "partial");
  SnapshotReceiver restarted(env, kFollowerSnap, kFollower, opts);
  restarted.recover(now);
  restarted.tick(now + opts.abandon_after / 2);
  CHECK(env.exists(receiver.part_path(snap.id)));
  restarted.tick(now + opts.abandon_after);
  CHECK_FALSE(env.exists(receiver.part_path(snap.id)));
}

TEST_CASE("a file whose whole checksum differs is refused and removed", "[snapshot_transfer]") {
  storage::FaultEnv env;
  auto snap = make_snapshot(env, 30 * 1024, 12);
  snap.id.file_hash ^= 1;  // the sender announces other bytes than it sends
  auto now = Clock::time_point{} + 1h;
  SnapshotSender sender(env, kLeader, small_chunks());
  SnapshotReceiver receiver(env, kFollowerSnap, kFollower, small_chunks());
  REQUIRE(sender.start(kFollower, 5, snap.id, snap.path, now) == SnapshotSender::Start::Started);
  Network net(12);
  std::vector<SnapshotReceiver::Completed> completed;
  auto outcomes = run(sender, receiver, net, now, 10s, &completed);
  REQUIRE(outcomes.size() == 1);
  CHECK_FALSE(outcomes[0].finished);
  CHECK_THAT(outcomes[0].why, Catch::Contains("checksum"));
  CHECK(completed.empty());
  CHECK_FALSE(env.exists(final_path(42)));
  CHECK_FALSE(env.exists(receiver.part_path(snap.id)));
}

TEST_CASE("a newer leader's transfer replaces an older one, and an older one is refused", "[snapshot_transfer]") {
  storage::FaultEnv env;
  const auto old_snap = make_snapshot(env, 40 * 1024, 13, 40);
  const auto new_snap = make_snapshot(env, 40 * 1024, 14, 50);
  const auto opts = small_chunks();
  auto now = Clock::time_point{} + 1h;
  SnapshotReceiver receiver(env, kFollowerSnap, kFollower, opts);
  SnapshotSender old_leader(env, 1, opts);
  SnapshotSender new_leader(env, 3, opts);
  REQUIRE(old_leader.start(kFollower, 5, old_snap.id, old_snap.path, now) == SnapshotSender::Start::Started);
  std::vector<SnapshotChunk> out;
  old_leader.poll(now, &out);
  old_leader.on_ack(receiver.on_chunk(out[0], now).ack, now);
  out.clear();
  REQUIRE(new_leader.start(kFollower, 6, new_snap.id, new_snap.path, now) == SnapshotSender::Start::Started);
  new_leader.poll(now, &out);
  new_leader.on_ack(receiver.on_chunk(out[0], now).ack, now);
  out.clear();
  CHECK_FALSE(env.exists(receiver.part_path(old_snap.id)));  // replaced: its part file is gone
  old_leader.poll(now + 200ms, &out);
  REQUIRE_FALSE(out.empty());
  auto reply = receiver.on_chunk(out[0], now + 200ms);
  CHECK(reply.ack.status == transport::SnapshotAckStatus::Refused);
  old_leader.on_ack(reply.ack, now);
  auto outcomes = old_leader.take_outcomes();
  REQUIRE(outcomes.size() == 1);
  CHECK_FALSE(outcomes[0].finished);
  Network net(13);
  auto done = run(new_leader, receiver, net, now, 10s);
  REQUIRE(done.size() == 1);
  CHECK(done[0].finished);
  CHECK(env.contents(final_path(50)) == env.contents(new_snap.path));
}

TEST_CASE("the send rate is paced by snapshot_send_mb_s", "[snapshot_transfer]") {
  storage::FaultEnv env;
  const auto snap = make_snapshot(env, 400 * 1024, 15);
  auto opts = small_chunks();
  opts.rate_bytes_per_s = 100 * 1024;  // 400 KiB at 100 KiB/s: about 4 s
  opts.abandon_after = 60s;
  auto now = Clock::time_point{} + 1h;
  const auto start = now;
  SnapshotSender sender(env, kLeader, opts);
  SnapshotReceiver receiver(env, kFollowerSnap, kFollower, opts);
  REQUIRE(sender.start(kFollower, 5, snap.id, snap.path, now) == SnapshotSender::Start::Started);
  Network net(15);
  auto outcomes = run(sender, receiver, net, now, 60s);
  REQUIRE(outcomes.size() == 1);
  CHECK(outcomes[0].finished);
  const double secs = std::chrono::duration<double>(now - start).count();
  CHECK(secs >= 3.5);
  CHECK(secs <= 5.0);
}

TEST_CASE("a newer snapshot asked for mid-transfer does not restart the transfer in flight", "[snapshot_transfer]") {
  storage::FaultEnv env;
  const auto old_snap = make_snapshot(env, 80 * 1024, 17, 40);
  const auto new_snap = make_snapshot(env, 80 * 1024, 18, 50);
  const auto opts = small_chunks();
  auto now = Clock::time_point{} + 1h;
  SnapshotSender sender(env, kLeader, opts);
  SnapshotReceiver receiver(env, kFollowerSnap, kFollower, opts);
  REQUIRE(sender.start(kFollower, 5, old_snap.id, old_snap.path, now) == SnapshotSender::Start::Started);
  std::vector<SnapshotChunk> out;
  while (sender.acked(kFollower) < old_snap.id.file_size / 2) {
    sender.poll(now, &out);
    for (auto& c : out) sender.on_ack(receiver.on_chunk(c, now).ack, now);
    out.clear();
  }
  const uint64_t acked = sender.acked(kFollower);
  // The core asks again with its newest snapshot (e.g. after its progress was reset).
  CHECK(sender.start(kFollower, 5, new_snap.id, new_snap.path, now) == SnapshotSender::Start::AlreadyRunning);
  CHECK(sender.acked(kFollower) == acked);
  Network net(17);
  std::vector<SnapshotReceiver::Completed> completed;
  auto outcomes = run(sender, receiver, net, now, 10s, &completed);
  REQUIRE(outcomes.size() == 1);
  CHECK(outcomes[0].finished);
  CHECK(outcomes[0].index == 40);
  REQUIRE(completed.size() == 1);
  CHECK(completed[0].snap == old_snap.id);
  CHECK(net.chunk_bytes_sent <= old_snap.id.file_size - acked);
  CHECK(env.contents(final_path(40)) == env.contents(old_snap.path));
}
