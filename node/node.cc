#include "node/node.h"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <random>

#include <spdlog/spdlog.h>

#include "node/data_dir_claim.h"
#include "node/kv_command.h"
#include "raft/raft.h"
#include "node/member_addresses.h"
#include "raft/conf_change.h"
#include "storage/env.h"
#include "storage/snapshot_stream.h"

namespace node {
namespace {

using Clock = std::chrono::steady_clock;
using transport::ClientReply;
using transport::ReplyCode;
using transport::RequestKind;

// Forwards the core's log lines to spdlog.
class SpdlogRaftLogger final : public raft::Logger {
 public:
  void log(raft::LogLevel level, const std::string& message) override {
    switch (level) {
      case raft::LogLevel::Debug: spdlog::debug("raft: {}", message); break;
      case raft::LogLevel::Info: spdlog::info("raft: {}", message); break;
      case raft::LogLevel::Warn: spdlog::warn("raft: {}", message); break;
      case raft::LogLevel::Error: spdlog::error("raft: {}", message); break;
    }
  }
};

ClientReply error_reply(ReplyCode code, std::string why) {
  ClientReply r;
  r.code = code;
  r.error = std::move(why);
  return r;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// How long a read_index may stay unanswered before its gets are told Unknown (the leader
// may have been deposed without noticing yet, or a new leader has not committed in its
// term yet): two maximum election timeouts.
Clock::duration read_timeout(const config::ClusterConfig& c) {
  return std::chrono::milliseconds(int64_t{4} * c.election_ticks * c.tick_ms);
}

// The file a node leaves in its data dir once it has applied its own removal.
constexpr const char* kRemovedMarker = "removed";
constexpr const char* kRemovedAdvice = "removed from the cluster; start with an empty data dir to re-add it";

// The process's resident memory (second field of /proc/self/statm, in pages); 0 if unknown.
uint64_t resident_bytes() {
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return 0;
  unsigned long long size = 0, resident = 0;
  const int n = std::fscanf(f, "%llu %llu", &size, &resident);
  std::fclose(f);
  return n == 2 ? resident * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE)) : 0;
}

bool contains(const std::vector<raft::NodeId>& ids, raft::NodeId id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

bool is_member_id(const raft::ConfState& cs, raft::NodeId id) {
  return contains(cs.voters, id) || contains(cs.learners, id) || contains(cs.voters_outgoing, id);
}

// A normal entry that records members' incarnations on first use (maybe_record_incarnations):
// this prefix, then member_addresses.h text. No KV command starts with it (kv_command.h: a
// command starts with its version byte).
constexpr const char* kIncarnationRecordPrefix = "raftkv:record-incarnations:";

}  // namespace

Node::Node(zmq::context_t& ctx, NodeOptions options)
    : ctx_(ctx), opts_(std::move(options)), tick_interval_(opts_.cluster.tick_ms) {}

Node::~Node() = default;

std::variant<std::unique_ptr<Node>, std::string> Node::create(zmq::context_t& ctx, NodeOptions options) {
  std::unique_ptr<Node> n(new Node(ctx, std::move(options)));
  std::string err = n->init();
  if (!err.empty()) return err;
  return n;
}

std::string Node::init() {
  const auto& cluster = opts_.cluster;
  const config::NodeAddress* self = cluster.find(opts_.id);
  if (!self) return "node " + std::to_string(opts_.id) + " is not in " + cluster.path;
  for (const auto& n : cluster.nodes) addresses_[n.id] = {n.raft, n.client};

  LogStoreOptions so;
  so.fsync = cluster.fsync;
  so.env = opts_.test_env.get();
  so.keep_entries_after_snapshot = std::min<uint64_t>(5000, cluster.snapshot_entries);
  snapshot_policy_ = SnapshotPolicy::for_member(opts_.id, cluster.snapshot_entries, cluster.snapshot_log_mb);
  if (!cluster.fsync) spdlog::warn("fsync is off: acknowledged writes may be lost on a machine crash");
  if (opts_.in_memory) {
    store_ = make_mem_log_store(so);
  } else {
    const std::string dir = cluster.node_dir(opts_.id);
    // Before anything is read or written: refuse another cluster's or node's folder, and a
    // folder another process holds (data_dir_claim.h).
    auto claimed = claim_data_dir(dir, cluster.cluster_id, opts_.id);
    if (auto* refusal = std::get_if<std::string>(&claimed)) return *refusal;
    dir_claim_ = std::move(std::get<DataDirClaim>(claimed));
    auto opened = open_disk_log_store(dir, so);
    if (!opened.ok()) return "cannot open the data in " + dir + ": " + opened.error().to_string();
    store_ = std::move(opened.value());
    for (const auto& w : store_->recovery_warnings()) spdlog::warn("storage recovery: {}", w);
    if (auto err = settle_identity(*dir_claim_, cluster.cluster_id, opts_.id, store_->empty(), opts_.bootstrap);
        !err.empty())
      return err;
    identity_ = dir_claim_->identity;
    if (std::filesystem::exists(dir + "/" + kRemovedMarker)) {
      // This data belongs to a member that was removed: never rejoin with it (it would
      // campaign with a stale log and a stale membership). run() exits 0 at once.
      removed_ = true;
      return "";
    }
  }

  if (opts_.in_memory) {
    identity_ = storage::Identity{storage::kIdentityFormatVersion, cluster.cluster_id, opts_.id,
                                  storage::new_incarnation(),
                                  opts_.bootstrap ? storage::IdentityOrigin::Bootstrap : storage::IdentityOrigin::Join};
  }
  if (store_->empty()) {
    if (opts_.bootstrap) {
      // A brand-new cluster: every member of the file starts from the same snapshot at
      // index 1, term 1, whose membership is the file's nodes (README "Killing and restarting nodes").
      raft::Snapshot snap;
      snap.metadata.index = 1;
      snap.metadata.term = 1;
      for (const auto& n : cluster.nodes) snap.metadata.conf_state.voters.push_back(n.id);
      snap.data = KvStateMachine().snapshot();
      raft::HardState hs{1, raft::kNone, 1};
      auto r = store_->persist(&snap, {}, hs, true);
      if (!r.ok()) return "cannot write the bootstrap snapshot: " + r.error().to_string();
      spdlog::info("bootstrapped a new cluster '{}' with {} voters", cluster.cluster_id, cluster.nodes.size());
    } else {
      spdlog::info("empty data and no --bootstrap: waiting to be added by the leader");
    }
  } else if (opts_.bootstrap) {
    spdlog::info("--bootstrap ignored: restarting from existing data");
  }

  auto initial = store_->storage().initial_state();
  if (!initial.ok()) return "cannot read the initial state: " + initial.error().to_string();
  ready_hooks_ = std::make_unique<ReadyHooks>(*this);
  ready_ = std::make_unique<raft::ReadyDriver>(*ready_hooks_, *ready_hooks_, *ready_hooks_, initial->hard_state);
  ready_->on_soft_state = [this](const raft::SoftState& ss) { soft_state_ = ss; };
  conf_state_ = initial->conf_state;
  if (!store_->empty() && !is_member(conf_state_) &&
      (!conf_state_.voters.empty() || !conf_state_.learners.empty()) && conf_state_.voters_outgoing.empty()) {
    // Not a member of the membership this node last applied: it was removed, unless it is a
    // new member still catching up (its addition comes later in the log). Say so; the
    // replayed log decides (apply_conf_change_entry stops the node if it sees its removal).
    spdlog::warn("node {} is not in the membership of its latest snapshot (voters {}): if it was {}", opts_.id,
                 conf_state_.voters.size(), kRemovedAdvice);
  }
  auto snap = store_->storage().snapshot(0);
  if (snap.ok() && !snap->empty()) {
    if (std::string err = restore_kv(*snap); !err.empty())
      return "snapshot at index " + std::to_string(snap->metadata.index) + ": " + err;
    applied_ = snap->metadata.index;
    last_snapshot_index_ = applied_;
  }
  for (const auto& [id, m] : kv_.members()) addresses_[id] = {m.raft, m.client};

  raft_logger_ = std::make_unique<SpdlogRaftLogger>();
  raft::Config rc;
  rc.id = opts_.id;
  rc.election_tick = cluster.election_ticks;
  rc.heartbeat_tick = cluster.heartbeat_ticks;
  rc.pre_vote = true;
  rc.check_quorum = true;
  rc.max_inflight_msgs = 256;
  rc.max_size_per_msg = 1 << 20;
  // At most ~1 MiB of committed entries per Ready: a node restarted on a million-entry log
  // rebuilds its state in chunks and answers requests and heartbeats in between, instead of
  // going deaf for seconds.
  rc.max_committed_size_per_ready = 1 << 20;
  rc.lazy_commit_broadcast = true;  // see raft/config.h: one message per follower per put
  rc.applied = applied_;
  rc.seed = opts_.id * 0x9E3779B97F4A7C15ull ^
            static_cast<uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
  rc.logger = raft_logger_.get();
  auto raw = raft::RawNode::create(rc, store_->storage());
  if (!raw.ok()) return "cannot start raft: " + raw.error().to_string();
  raw_ = std::move(raw.value());

  try {
    peers_ = std::make_unique<transport::PeerTransport>(
        ctx_, opts_.id, cluster.cluster_id, self->raft,
        transport::PeerTransportOptions::with_curve(cluster.security.curve, cluster.security.keys_dir));
    clients_ = std::make_unique<ClientService>(
        ctx_, self->client, opts_.id, transport::CurveSettings{cluster.security.curve, cluster.security.keys_dir});
  } catch (const std::exception& e) {
    return e.what();
  }
  if (opts_.test_delay_ms > 0) {
    peers_->set_delay(std::chrono::milliseconds(opts_.test_delay_ms));
    spdlog::warn("test fault hook: holding outgoing peer messages for 0..{} ms", opts_.test_delay_ms);
  }
  if (opts_.test_drop_rate > 0) {
    peers_->set_drop_rate(opts_.test_drop_rate, rc.seed);
    spdlog::warn("test fault hook: dropping {:.1f}% of outgoing peer messages", opts_.test_drop_rate * 100);
  }
  if (!store_->snap_dir().empty()) {
    SnapshotTransferOptions to;
    to.rate_bytes_per_s = cluster.snapshot_send_mb_s << 20;
    storage::Env& env = opts_.test_env ? *opts_.test_env : *storage::default_env();
    snap_sender_ = std::make_unique<SnapshotSender>(env, opts_.id, to);
    snap_receiver_ = std::make_unique<SnapshotReceiver>(env, store_->snap_dir(), opts_.id, to);
    snap_receiver_->recover(Clock::now());
  }
  // Every frame names this folder's incarnation; frames of members whose incarnation is not
  // the recorded one are dropped before they reach the core (docs/membership.md "Amnesia").
  peers_->set_sender_identity({identity_.incarnation, claims_slot()});
  peers_->set_sender_check(
      [this](raft::NodeId from, const transport::SenderIdentity& sender) { return sender_refusal(from, sender); });
  update_peers();
  spdlog::info("node {} of cluster '{}' serving: raft {}, client {}; applied {}, term {}, commit {}; incarnation {} "
               "({})",
               opts_.id, cluster.cluster_id, self->raft, self->client, applied_, ready_->hard_state().term, ready_->hard_state().commit,
               storage::incarnation_hex(identity_.incarnation), storage::to_string(identity_.origin));
  update_standing();
  return "";
}

void Node::update_peers() {
  for (const auto& [id, addr] : addresses_)
    if (id != opts_.id) peers_->set_peer(id, addr.first);
}

bool Node::is_leader() const { return soft_state_.raft_state == raft::StateRole::Leader; }

bool Node::is_member(const raft::ConfState& cs) const {
  return contains(cs.voters, opts_.id) || contains(cs.learners, opts_.id) || contains(cs.voters_outgoing, opts_.id);
}

void Node::mark_removed(raft::Index index) {
  removed_ = true;
  spdlog::warn("node {} applied its own removal at index {}: stopping ({})", opts_.id, index, kRemovedAdvice);
  if (opts_.in_memory) return;
  const std::string path = opts_.cluster.node_dir(opts_.id) + "/" + kRemovedMarker;
  if (FILE* f = std::fopen(path.c_str(), "w")) {
    std::fprintf(f, "node %llu was removed from cluster '%s' at log index %llu\n",
                 static_cast<unsigned long long>(opts_.id), opts_.cluster.cluster_id.c_str(),
                 static_cast<unsigned long long>(index));
    std::fclose(f);
  }
}

int Node::run(int stop_fd) {
  stop_fd_ = stop_fd;
  if (removed_ && !raw_) {
    spdlog::warn("node {}: its data dir says it was {}; exiting", opts_.id, kRemovedAdvice);
    return 0;
  }
  next_tick_ = Clock::now() + tick_interval_;
  while (true) {
    const auto now = Clock::now();
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next_tick_ - now);
    if (wait.count() < 0) wait = std::chrono::milliseconds(0);
    // Committed entries still to apply (a restart on a long log hands them out in chunks):
    // look at the sockets without waiting, then go on applying.
    if (raw_->has_ready()) wait = std::chrono::milliseconds(0);
    if (auto due = peers_->next_delayed_due()) {  // test-only delayed messages (RAFT_TEST_DELAY_MS)
      const auto until_due = std::chrono::ceil<std::chrono::milliseconds>(*due - now);
      wait = std::clamp(until_due, std::chrono::milliseconds(0), wait);
    }
    zmq::pollitem_t items[3] = {
        {peers_->socket().handle(), 0, ZMQ_POLLIN, 0},
        {clients_->socket().handle(), 0, ZMQ_POLLIN, 0},
        {nullptr, stop_fd, ZMQ_POLLIN, 0},
    };
    try {
      zmq::poll(items, 3, wait);
    } catch (const zmq::error_t& e) {
      if (e.num() != EINTR) throw;
    }
    const auto busy_from = Clock::now();
    if (items[2].revents & ZMQ_POLLIN) {
      spdlog::info("stop requested: shutting down (applied {}, commit {})", applied_, ready_->hard_state().commit);
      if (snapshot_taker_.running()) {
        // Its file is not recorded anywhere yet: killing the child loses nothing (the next
        // run takes a snapshot again), waiting could take seconds at a large state.
        spdlog::info("stopping the snapshot at index {} being written by process {}",
                     snapshot_taker_.metadata().index, snapshot_taker_.pid());
        snapshot_taker_.abort();
      }
      // A clean stop leaves the latest commit index on disk, so that a restart re-applies
      // everything at once. Best effort: a failure here loses nothing.
      if (ready_->commit_unwritten()) (void)store_->persist(nullptr, {}, ready_->hard_state(), true);
      fail_pending("the node is shutting down");
      return 0;
    }
    peers_->flush_delayed();
    tick_if_due();
    step_peer_messages();
    handle_snapshot_packets();
    handle_client_requests();
    issue_read_index();
    if (raw_->has_ready() && !handle_ready()) break;
    send_snapshot_chunks();
    answer_ready_reads();
    maybe_snapshot();
    note_iteration(Clock::now() - busy_from);
    maybe_finish_removal();
    if (removed_) {
      // One more Ready: a removed leader hands over (MsgTimeoutNow) as it steps down.
      if (raw_->has_ready() && !handle_ready()) break;
      fail_pending("this node was removed from the cluster");
      spdlog::info("stopped: {}", kRemovedAdvice);
      return 0;
    }
  }
  // handle_ready failed: a fatal storage error (already logged), or a stop asked for while
  // writes were paused on a full disk.
  if (stop_requested_) {
    spdlog::info("stop requested while writes were paused: shutting down (applied {}, commit {})", applied_,
                 ready_->hard_state().commit);
    fail_pending("the node is shutting down");
    return 0;
  }
  return 1;
}

void Node::tick_if_due() {
  const auto now = Clock::now();
  if (now < next_tick_) return;
  update_standing();
  // Ticks only drive elections on a node that does not lead: one without standing must not
  // campaign, so it does not tick (it still follows a leader and applies what it receives).
  if (standing_.empty()) raw_->tick();
  maybe_record_incarnations();
  next_tick_ += tick_interval_;
  // After a long stall (paused process, slow fsync) do not replay every missed tick at once:
  // one tick, then the normal cadence.
  if (next_tick_ < now) next_tick_ = now + tick_interval_;
  check_transfer(pending_transfer_ && now >= pending_transfer_->deadline);
  for (auto it = retiring_peers_.begin(); it != retiring_peers_.end();) {
    if (now < it->second) {
      ++it;
      continue;
    }
    if (!addresses_.count(it->first)) peers_->remove_peer(it->first);  // unless re-added since
    it = retiring_peers_.erase(it);
  }
  // Gets whose read_index went unanswered too long are told Unknown.
  const auto limit = read_timeout(opts_.cluster);
  for (auto it = pending_reads_.begin(); it != pending_reads_.end();) {
    if (now - it->second.issued > limit) {
      for (auto& g : it->second.gets)
        reply(g.waiter, error_reply(ReplyCode::Unknown, "the leader could not confirm its leadership in time"));
      it = pending_reads_.erase(it);
    } else {
      ++it;
    }
  }
}

void Node::step_peer_messages() {
  inbox_.clear();
  peers_->receive_all(inbox_, snap_receiver_ ? &snap_inbox_ : nullptr);
  for (auto& m : inbox_) {
    const raft::NodeId from = m.from;
    // Raft trusts its peers: a message from an id that is neither in the membership nor in
    // the address book (the cluster file plus what the log taught us) could claim any term
    // or commit index. Drop it before it reaches the core.
    if (!is_known_peer(from)) {
      ++dropped_unknown_peer_;
      if ((dropped_unknown_peer_ & (dropped_unknown_peer_ - 1)) == 0)  // log 1, 2, 4, 8, ...
        spdlog::warn("dropped a message from unknown node id {} ({} so far)", from, dropped_unknown_peer_);
      continue;
    }
    if (!standing_.empty() && m.msg_type == raft::MessageType::MsgHeartbeat &&
        m.commit > raw_->raft().raft_log().last_index()) {
      // A leader's heartbeat never carries a commit beyond what it knows this node holds: this
      // node held entries up to m.commit in an earlier life and lost them (the core would
      // stop on "commit out of range"). It keeps running, without standing, so that it can
      // be removed and added again; status says so.
      if (!amnesia_leader_) {
        spdlog::warn("node {} (leader of term {}) counts on this node holding entries up to {}, but its log is "
                     "empty: this data folder lost its data",
                     from, m.term, m.commit);
      }
      amnesia_leader_ = from;
      update_standing();
      continue;
    }
    if (!standing_.empty() &&
        (m.msg_type == raft::MessageType::MsgRequestVote || m.msg_type == raft::MessageType::MsgRequestPreVote ||
         m.msg_type == raft::MessageType::MsgTimeoutNow)) {
      // Without standing this node may have voted in this term in an earlier life: it grants
      // nothing and campaigns for nothing (update_standing logged why).
      ++dropped_without_standing_;
      if ((dropped_without_standing_ & (dropped_without_standing_ - 1)) == 0)
        spdlog::warn("ignored {} from node {}: {} ({} so far)", raft::to_string(m.msg_type), from, standing_,
                     dropped_without_standing_);
      continue;
    }
    auto r = raw_->step(std::move(m));
    if (!r.ok() && r.code() != raft::ErrorCode::StepPeerNotFound)
      spdlog::debug("dropped a message from {}: {}", from, r.error().to_string());
  }
}

// Amnesia (docs/membership.md): a voter that lost its data restarts with a new incarnation
// and no memory of its votes. The membership records the incarnation of each member (given
// by push-config when it adds one; for the founding members, recorded through the log when
// the leader first hears from them: maybe_record_incarnations). A message whose sender speaks
// under another incarnation than the recorded one is dropped here, so none of its votes (nor
// anything else it says) counts.
std::string Node::sender_refusal(raft::NodeId from, const transport::SenderIdentity& sender) {
  const auto& members = kv_.members();
  const auto it = members.find(from);
  const uint64_t recorded = it == members.end() ? 0 : it->second.incarnation;
  if (recorded == 0 || sender.incarnation == recorded) {
    if (recorded == 0 && sender.claims_slot) heard_incarnation_[from] = sender.incarnation;
    return "";
  }
  const std::string why = "node " + std::to_string(from) + " speaks as incarnation " +
                          storage::incarnation_hex(sender.incarnation) + " but the membership records " +
                          storage::incarnation_hex(recorded) +
                          " (it lost its data: remove it with push-config, then add it again)";
  ++dropped_other_incarnation_;
  if ((dropped_other_incarnation_ & (dropped_other_incarnation_ - 1)) == 0)  // log 1, 2, 4, 8, ...
    spdlog::warn("dropped a message: {} ({} so far)", why, dropped_other_incarnation_);
  return why;
}

bool Node::claims_slot() const {
  // A folder that founded the cluster, or that received data from a leader, may be recorded
  // under its incarnation on first use; one that found out it lost its data may not.
  return amnesia_leader_ == raft::kNone &&
         (identity_.founder() || (raw_ && raw_->raft().raft_log().last_index() > 0));
}

void Node::maybe_record_incarnations() {
  if (!is_leader() || opts_.in_memory) return;
  const auto now = Clock::now();
  if (now < next_record_attempt_) return;
  std::vector<MemberAddress> unrecorded;
  const auto& members = kv_.members();
  for (const auto* ids : {&conf_state_.voters, &conf_state_.learners, &conf_state_.voters_outgoing}) {
    for (raft::NodeId id : *ids) {
      const auto rec = members.find(id);
      if (rec != members.end() && rec->second.incarnation != 0) continue;
      const auto addr = addresses_.find(id);
      if (addr == addresses_.end()) continue;
      uint64_t inc = 0;
      if (id == opts_.id) {
        inc = identity_.incarnation;
      } else if (auto h = heard_incarnation_.find(id); h != heard_incarnation_.end()) {
        inc = h->second;
      }
      const bool listed = std::any_of(unrecorded.begin(), unrecorded.end(), [&](const auto& m) { return m.id == id; });
      if (inc != 0 && !listed) unrecorded.push_back({id, addr->second.first, addr->second.second, inc});
    }
  }
  if (unrecorded.empty()) return;
  raft::Entry e;
  e.data = std::string(kIncarnationRecordPrefix) + encode_member_addresses(unrecorded);
  std::vector<raft::Entry> batch;
  batch.push_back(std::move(e));
  if (raw_->propose_batch(std::move(batch)).ok())
    spdlog::info("proposed to record the incarnations of members without one: {}",
                 encode_member_addresses(unrecorded));
  // Once per election timeout at most: the entry commits long before that.
  next_record_attempt_ = now + std::chrono::milliseconds(int64_t{opts_.cluster.election_ticks} * opts_.cluster.tick_ms);
}

void Node::apply_incarnation_record(const raft::Entry& e) {
  std::string err;
  auto records = decode_member_addresses(std::string_view(e.data).substr(std::strlen(kIncarnationRecordPrefix)), &err);
  if (!records) {
    spdlog::error("entry {} is not a valid incarnation record ({}): skipped on every node", e.index, err);
    return;
  }
  for (const auto& m : *records) {
    // First use wins: only a current member without a recorded incarnation is recorded (the
    // same decision on every replica, which applies the same entries in the same order).
    const auto rec = kv_.members().find(m.id);
    if (!is_member_id(conf_state_, m.id) || m.incarnation == 0 ||
        (rec != kv_.members().end() && rec->second.incarnation != 0))
      continue;
    kv_.set_member(m);
    addresses_[m.id] = {m.raft, m.client};
    spdlog::info("recorded incarnation {} for node {} (first use, entry {})", storage::incarnation_hex(m.incarnation),
                 m.id, e.index);
  }
}

std::string Node::standing_problem() const {
  const auto& members = kv_.members();
  const auto it = members.find(opts_.id);
  const uint64_t recorded = it == members.end() ? 0 : it->second.incarnation;
  const std::string self = "this data folder is incarnation " + storage::incarnation_hex(identity_.incarnation);
  if (recorded != 0) {
    if (recorded == identity_.incarnation) return "";
    return "must be re-added: remove it with push-config, then add it again (the membership records incarnation " +
           storage::incarnation_hex(recorded) + " for node " + std::to_string(opts_.id) + "; " + self +
           ": its data was lost or replaced)";
  }
  if (identity_.founder()) return "";
  if (amnesia_leader_ != raft::kNone)
    return "must be re-added: remove it with push-config, then add it again (node " +
           std::to_string(amnesia_leader_) + ", the leader, counts on node " + std::to_string(opts_.id) +
           " holding entries that this data folder does not have; " + self + ", created empty: its data was lost)";
  if (!is_member(conf_state_))
    return "waiting to be added by push-config (" + self + "; if node " + std::to_string(opts_.id) +
           " is still a member, its data was lost: remove it with push-config, then add it again)";
  return "not recorded yet: node " + std::to_string(opts_.id) + " is a member whose incarnation the cluster has "
         "not recorded (" + self + ", created empty); the leader records it once this node holds data it sent";
}

void Node::update_standing() {
  if (peers_) peers_->set_sender_identity({identity_.incarnation, claims_slot()});
  std::string now = standing_problem();
  if (now == standing_) return;
  if (now.empty()) {
    spdlog::info("node {} holds its place in the membership (incarnation {}): it may vote and campaign", opts_.id,
                 storage::incarnation_hex(identity_.incarnation));
  } else {
    spdlog::warn("node {} neither votes nor campaigns: {}", opts_.id, now);
  }
  standing_ = std::move(now);
}

bool Node::is_known_peer(raft::NodeId id) const {
  if (id == raft::kNone || id == opts_.id) return false;
  return raw_->raft().prs().is_member(id) || addresses_.count(id) != 0;
}

void Node::handle_client_requests() {
  incoming_.clear();
  clients_->receive_all(incoming_);
  for (auto& in : incoming_) handle_request(in);
  propose_writes();
}

void Node::propose_writes() {
  if (write_batch_.empty()) return;
  auto r = raw_->propose_batch(std::move(write_batch_));
  for (auto& [key, waiter] : write_batch_waiters_) {
    if (r.ok()) {
      pending_writes_[key].push_back(waiter);
    } else {
      // Dropped before entering the log: definitely not applied by this attempt.
      reply(waiter, error_reply(ReplyCode::Busy, "proposal dropped: " + r.error().to_string()));
    }
  }
  write_batch_.clear();
  write_batch_waiters_.clear();
}

void Node::reply(const Waiter& w, ClientReply r) {
  r.request_id = w.request_id;
  clients_->reply(w.peer, r);
}

void Node::reply_not_leader(const IncomingRequest& in) {
  ClientReply r;
  r.code = ReplyCode::NotLeader;
  r.leader_id = soft_state_.leader_id;
  if (auto it = addresses_.find(soft_state_.leader_id); it != addresses_.end()) r.leader_client = it->second.second;
  reply({in.peer, in.request.request_id}, std::move(r));
}

void Node::handle_request(IncomingRequest& in) {
  auto& req = in.request;
  const Waiter waiter{in.peer, req.request_id};
  const bool reads_status = req.kind == RequestKind::Status || req.kind == RequestKind::Membership;
  if (!req.cluster_id.empty() && req.cluster_id != opts_.cluster.cluster_id && !reads_status) {
    // A client whose cluster file names another cluster (same addresses, other cluster): it
    // must not read or change this one's data. Status still answers, naming this cluster.
    reply(waiter, error_reply(ReplyCode::Rejected, "this is node " + std::to_string(opts_.id) + " of cluster '" +
                                                       opts_.cluster.cluster_id + "', not of cluster '" +
                                                       req.cluster_id + "' (check the cluster file)"));
    return;
  }
  switch (req.kind) {
    case RequestKind::Status:
    case RequestKind::Membership: {
      ClientReply r;
      r.status = node_status();
      r.leader_id = soft_state_.leader_id;
      reply(waiter, std::move(r));
      return;
    }
    case RequestKind::Get: {
      if (refuse_oversized(req, waiter)) return;
      if (req.serializable) {
        auto v = kv_.get(req.key);
        ClientReply r;
        r.code = v ? ReplyCode::Ok : ReplyCode::NotFound;
        if (v) r.value = std::move(*v), r.value_present = true;
        reply(waiter, std::move(r));
        return;
      }
      if (!is_leader()) return reply_not_leader(in);
      new_gets_.push_back({waiter, req.key});
      return;
    }
    case RequestKind::Put:
    case RequestKind::Del:
    case RequestKind::Cas: {
      if (refuse_oversized(req, waiter)) return;
      if (!is_leader()) return reply_not_leader(in);
      if (req.client_id == 0) {
        reply(waiter, error_reply(ReplyCode::Rejected, "a write needs a non-zero client_id"));
        return;
      }
      if (refuse_over_quota(req, waiter)) return;
      KvCommand cmd;
      cmd.op = req.kind == RequestKind::Put ? KvOp::Put : req.kind == RequestKind::Del ? KvOp::Del : KvOp::Cas;
      cmd.client_id = req.client_id;
      cmd.seq = req.seq;
      cmd.key = std::move(req.key);
      cmd.value = std::move(req.value);
      cmd.expected = std::move(req.expected);
      cmd.expected_absent = req.expected_absent;
      // Proposed together with every other write of this loop iteration (propose_writes):
      // one log append and one MsgAppend per follower for the whole batch.
      raft::Entry entry;
      entry.data = encode_kv_command(cmd);
      write_batch_.push_back(std::move(entry));
      write_batch_waiters_.push_back({{cmd.client_id, cmd.seq}, waiter});
      return;
    }
    case RequestKind::TransferLeader: {
      if (!is_leader()) return reply_not_leader(in);
      if (req.target == opts_.id) {
        ClientReply r;
        r.leader_id = opts_.id;
        r.status = node_status();
        reply(waiter, std::move(r));
        return;
      }
      if (!contains(conf_state_.voters, req.target)) {
        reply(waiter, error_reply(ReplyCode::Rejected,
                                  "node " + std::to_string(req.target) + " is not a voter of the current configuration"));
        return;
      }
      if (pending_transfer_) {
        reply(waiter, error_reply(ReplyCode::Busy, "a leader transfer is already in progress"));
        return;
      }
      // The core abandons a transfer after an election timeout; answer within two.
      raw_->transfer_leader(req.target);
      pending_transfer_ = PendingTransfer{
          waiter, req.target,
          Clock::now() + std::chrono::milliseconds(int64_t{2} * opts_.cluster.election_ticks * opts_.cluster.tick_ms)};
      return;
    }
    case RequestKind::ConfChange: {
      if (!is_leader()) return reply_not_leader(in);
      std::string err;
      if (!decode_member_addresses(req.conf_change.context, &err)) {
        reply(waiter, error_reply(ReplyCode::Rejected, "bad member addresses in the context: " + err));
        return;
      }
      if (pending_conf_change_) {
        reply(waiter, error_reply(ReplyCode::Busy, "another membership change is being applied"));
        return;
      }
      auto r = raw_->propose_conf_change({}, req.conf_change);
      if (!r.ok()) {
        // ProposalDropped: another change is pending or a transfer runs (try again later);
        // anything else: the change itself is invalid for the current membership.
        const bool busy = r.code() == raft::ErrorCode::ProposalDropped;
        reply(waiter, error_reply(busy ? ReplyCode::Busy : ReplyCode::Rejected,
                                  "membership change refused: " + r.error().to_string()));
        return;
      }
      pending_conf_change_ = PendingConfChange{waiter, raw_->status().last_index};
      spdlog::info("proposed membership change {} at index {}", raft::describe(req.conf_change),
                   pending_conf_change_->index);
      return;
    }
  }
  reply(waiter, error_reply(ReplyCode::Rejected, "unknown request kind"));
}

void Node::issue_read_index() {
  if (new_gets_.empty()) return;
  if (!is_leader()) {
    for (auto& g : new_gets_) reply(g.waiter, error_reply(ReplyCode::Unknown, "leadership lost"));
    new_gets_.clear();
    return;
  }
  // One read_index for every get that arrived in this iteration (batched ReadIndex).
  std::string ctx(8, '\0');
  const uint64_t n = next_read_ctx_++;
  for (int i = 0; i < 8; ++i) ctx[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  pending_reads_[ctx] = ReadBatch{std::move(new_gets_), Clock::now()};
  new_gets_.clear();
  raw_->read_index(ctx);
}

void Node::send_messages(std::vector<raft::Message>& msgs) {
  for (auto& m : msgs) {
    const bool is_snapshot = m.msg_type == raft::MessageType::MsgSnapshot;
    if (is_snapshot && snap_sender_ && storage::decode_snapshot_descriptor(m.snapshot.data)) {
      start_snapshot_transfer(m);
      continue;
    }
    const raft::NodeId to = m.to;
    const bool sent = peers_->send(m);
    if (!sent) unreachable_.push_back(to);
    // The core waits in the snapshot state until told how the snapshot went.
    if (is_snapshot) snapshots_sent_.emplace_back(to, sent);
  }
}

void Node::start_snapshot_transfer(const raft::Message& m) {
  const auto desc = *storage::decode_snapshot_descriptor(m.snapshot.data);
  const transport::SnapshotId id{desc.index, desc.term, desc.file_size, desc.file_hash};
  std::string why;
  switch (snap_sender_->start(m.to, m.term, id, store_->snapshot_path(desc.index), Clock::now(), &why)) {
    case SnapshotSender::Start::Started:
      store_->pin_snapshot(desc.index);
      snap_pins_[m.to] = desc.index;
      spdlog::info("sending the snapshot at index {} ({} bytes) to node {} in chunks", desc.index, desc.file_size,
                   m.to);
      break;
    case SnapshotSender::Start::AlreadyRunning:
      // Finish the one in flight (docs/snapshots.md): the core hears of its outcome.
      spdlog::debug("snapshot at {} for node {}: a transfer to it is already running", desc.index, m.to);
      break;
    case SnapshotSender::Start::Failed:
      spdlog::warn("cannot send the snapshot at index {} to node {}: {}", desc.index, m.to, why);
      snapshots_sent_.emplace_back(m.to, false);
      break;
  }
}

void Node::handle_snapshot_packets() {
  if (!snap_receiver_) return;
  const auto now = Clock::now();
  for (auto& p : snap_inbox_) {
    if (auto* ack = std::get_if<transport::SnapshotAck>(&p)) {
      snap_sender_->on_ack(*ack, now);
      continue;
    }
    const auto& chunk = std::get<transport::SnapshotChunk>(p);
    if (!is_known_peer(chunk.from)) continue;  // as for raft messages: see step_peer_messages
    auto reply = snap_receiver_->on_chunk(chunk, now);
    if (reply.began_at) {
      spdlog::info("receiving the snapshot at index {} ({} bytes) from node {}{}", chunk.snap.index,
                   chunk.snap.file_size, chunk.from,
                   *reply.began_at > 0 ? " (resuming at byte " + std::to_string(*reply.began_at) + ")" : "");
    }
    if (reply.ack.status == transport::SnapshotAckStatus::Refused)
      spdlog::warn("refused the snapshot at {} from node {}: {}", chunk.snap.index, chunk.from, reply.ack.reason);
    peers_->send_snapshot_packet(chunk.from, reply.ack);
    if (!reply.completed) continue;
    const auto& done = *reply.completed;
    spdlog::info("received the snapshot at index {} ({} bytes) from node {}: handing it to raft", done.snap.index,
                 done.snap.file_size, done.from);
    // The file is verified, synced and in snap/: the core gets the MsgSnapshot the leader's
    // core sent, with the descriptor as its data; persisting it adopts the file.
    raft::Message m;
    m.msg_type = raft::MessageType::MsgSnapshot;
    m.from = done.from;
    m.to = opts_.id;
    m.term = done.msg_term;
    m.snapshot.metadata = done.metadata;
    m.snapshot.data = storage::encode_snapshot_descriptor(
        storage::SnapshotDescriptor{done.snap.index, done.snap.term, done.snap.file_size, done.snap.file_hash});
    auto r = raw_->step(std::move(m));
    if (!r.ok()) spdlog::debug("received snapshot not stepped: {}", r.error().to_string());
  }
  snap_inbox_.clear();
  snap_receiver_->tick(now);
}

void Node::send_snapshot_chunks() {
  if (!snap_sender_) return;
  if (!is_leader() && snap_sender_->running_count() > 0) snap_sender_->cancel_all("no longer the leader");
  snap_outbox_.clear();
  snap_sender_->poll(Clock::now(), &snap_outbox_);
  // A chunk the transport drops is sent again by the protocol (no ack: go back).
  for (const auto& c : snap_outbox_) peers_->send_snapshot_packet(c.to, c);
  for (const auto& o : snap_sender_->take_outcomes()) {
    if (auto it = snap_pins_.find(o.to); it != snap_pins_.end()) {
      store_->unpin_snapshot(it->second);
      snap_pins_.erase(it);
    }
    if (o.finished) {
      spdlog::info("node {} has the snapshot at index {}", o.to, o.index);
    } else {
      spdlog::warn("snapshot transfer at index {} to node {} failed: {}", o.index, o.to, o.why);
    }
    if (is_leader())
      raw_->report_snapshot(o.to, o.finished ? raft::SnapshotStatus::Finish : raft::SnapshotStatus::Failure);
  }
}

void Node::check_transfer(bool deadline_passed) {
  if (!pending_transfer_) return;
  const raft::NodeId target = pending_transfer_->target;
  if (soft_state_.leader_id == target) {
    ClientReply r;
    r.leader_id = target;
    reply(pending_transfer_->waiter, std::move(r));
    pending_transfer_.reset();
  } else if (deadline_passed) {
    ClientReply r = error_reply(ReplyCode::Unknown, "the transfer to node " + std::to_string(target) +
                                                        " did not complete in time (the leader is " +
                                                        std::to_string(soft_state_.leader_id) + ")");
    r.leader_id = soft_state_.leader_id;
    reply(pending_transfer_->waiter, std::move(r));
    pending_transfer_.reset();
  }
}

bool Node::persist(const raft::Snapshot* snapshot, const std::vector<raft::Entry>& entries,
                   const std::optional<raft::HardState>& hard_state, bool must_sync) {
  auto attempt = [&]() {
    const auto started = Clock::now();
    auto r = store_->persist(snapshot, entries, hard_state, must_sync);
    if (r.ok()) slowest_persist_ = std::max(slowest_persist_, Clock::now() - started);
    return r;
  };
  auto r = attempt();
  if (r.ok()) return true;
  if (store_->is_no_space(r.error())) return wait_for_disk_space(r.error(), attempt);
  spdlog::critical("cannot persist: {}; stopping so that nothing more is acknowledged", r.error().to_string());
  return false;
}

bool Node::wait_for_disk_space(const raft::Error& first, const std::function<raft::Result<void>()>& retry) {
  using namespace std::chrono_literals;
  const std::string dir = opts_.in_memory ? std::string("memory") : opts_.cluster.node_dir(opts_.id);
  const auto since = Clock::now();
  disk_full_since_ = since;
  // The storage's message repeats "disk full in <dir>: " before the system error.
  std::string detail = first.message;
  if (const std::string prefix = "disk full in " + dir + ": "; detail.rfind(prefix, 0) == 0) detail.erase(0, prefix.size());
  spdlog::error("disk full in {}: writes paused, retrying every 200 ms ({})", dir, detail);
  // Requests in flight here may or may not commit elsewhere: their clients retry (with the
  // same write id) on another member.
  fail_pending("disk full on node " + std::to_string(opts_.id) + ": writes paused");
  auto next_retry = since + 200ms;
  auto next_reminder = since + 10s;
  uint64_t dropped = 0;
  while (true) {
    const auto now = Clock::now();
    if (now >= next_retry) {
      auto r = retry();
      if (r.ok()) {
        const auto paused = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - since);
        spdlog::info("disk space back: resuming (writes were paused for {} ms, {} peer messages dropped)",
                     paused.count(), dropped);
        disk_full_since_.reset();
        return true;
      }
      if (!store_->is_no_space(r.error())) {
        disk_full_since_.reset();
        spdlog::critical("cannot persist: {}; stopping so that nothing more is acknowledged", r.error().to_string());
        return false;
      }
      if (now >= next_reminder) {
        spdlog::warn("disk full in {}: writes still paused after {} s, retrying", dir,
                     std::chrono::duration_cast<std::chrono::seconds>(now - since).count());
        next_reminder = now + 10s;
      }
      next_retry = Clock::now() + 200ms;
    }
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next_retry - Clock::now());
    if (wait.count() < 0) wait = 0ms;
    zmq::pollitem_t items[3] = {
        {peers_->socket().handle(), 0, ZMQ_POLLIN, 0},
        {clients_->socket().handle(), 0, ZMQ_POLLIN, 0},
        {nullptr, stop_fd_, ZMQ_POLLIN, 0},
    };
    try {
      zmq::poll(items, stop_fd_ >= 0 ? 3 : 2, wait);
    } catch (const zmq::error_t& e) {
      if (e.num() != EINTR) throw;
    }
    if (stop_fd_ >= 0 && (items[2].revents & ZMQ_POLLIN)) {
      stop_requested_ = true;
      disk_full_since_.reset();
      return false;
    }
    // Peer messages are dropped: this node behaves like a slow one (Raft tolerates loss),
    // and it takes no tick, so it neither campaigns nor goes on leading.
    inbox_.clear();
    peers_->receive_all(inbox_);
    dropped += inbox_.size();
    inbox_.clear();
    incoming_.clear();
    clients_->receive_all(incoming_);
    for (auto& in : incoming_) refuse_while_paused(in);
    incoming_.clear();
  }
}

void Node::refuse_while_paused(IncomingRequest& in) {
  const Waiter waiter{in.peer, in.request.request_id};
  if (in.request.kind == RequestKind::Status || in.request.kind == RequestKind::Membership) {
    ClientReply r;
    r.status = node_status();
    r.leader_id = soft_state_.leader_id;
    reply(waiter, std::move(r));
    return;
  }
  // NotLeader is the code that sends a client to another member; the leader hint is kept
  // only if it points elsewhere (this node cannot lead while it cannot write).
  ClientReply r;
  r.code = ReplyCode::NotLeader;
  r.error = "disk full on node " + std::to_string(opts_.id) + ": writes paused, try another member";
  if (soft_state_.leader_id != opts_.id) {
    r.leader_id = soft_state_.leader_id;
    if (auto it = addresses_.find(r.leader_id); it != addresses_.end()) r.leader_client = it->second.second;
  }
  reply(waiter, std::move(r));
}

void Node::maybe_hand_over_for_slow_disk() {
  const auto took = slowest_persist_;
  slowest_persist_ = {};
  const auto limit = std::chrono::milliseconds(opts_.cluster.fsync_stall_ms);
  if (took <= limit || !is_leader()) return;
  const auto now = Clock::now();
  const auto took_ms = std::chrono::duration_cast<std::chrono::milliseconds>(took).count();
  if (now < next_stall_handover_) {
    spdlog::warn("slow disk: a write took {} ms (fsync_stall_ms {}); a leader transfer was tried recently", took_ms,
                 limit.count());
    return;
  }
  const raft::Status st = raw_->status();
  raft::NodeId target = raft::kNone;
  raft::Index best = 0;
  for (const auto& [id, p] : st.progress) {
    if (id == opts_.id || !contains(conf_state_.voters, id)) continue;
    if (target == raft::kNone || p.matched > best) target = id, best = p.matched;
  }
  if (target == raft::kNone) {
    spdlog::warn("slow disk: a write took {} ms (fsync_stall_ms {}), but there is no other voter to lead", took_ms,
                 limit.count());
    return;
  }
  spdlog::warn("slow disk: a write took {} ms (fsync_stall_ms {}): handing leadership to node {} (matched {})",
               took_ms, limit.count(), target, best);
  raw_->transfer_leader(target);
  next_stall_handover_ =
      now + std::chrono::milliseconds(int64_t{4} * opts_.cluster.election_ticks * opts_.cluster.tick_ms);
}

// The node's side of the Ready driver (raft/ready_driver.h), which fixes the order every
// Ready is handled in: the LogStore is the disk (through persist(), which times the write and
// waits out a full disk), the peer transport the outbox, and the KV state machine with the
// client bookkeeping (replies, conf-change waiters, read batches) the applier.
class Node::ReadyHooks final : public raft::DurableLog, public raft::Outbox, public raft::Applier {
 public:
  explicit ReadyHooks(Node& node) : node_(node) {}
  raft::WriteOutcome write(const raft::WriteRequest& w) override {
    return node_.persist(w.snapshot, *w.entries, w.hard_state, w.must_sync) ? raft::WriteOutcome::Done
                                                                             : raft::WriteOutcome::Failed;
  }
  void send(std::vector<raft::Message>& msgs) override { node_.send_messages(msgs); }
  void restore(const raft::Snapshot& snap) override { node_.restore_snapshot(snap); }
  void apply(std::vector<raft::Entry>& entries) override { node_.apply_entries(entries); }
  // A confirmed read index: its batch is answered once applied_ reaches it.
  void read_states(std::vector<raft::ReadState>& states) override {
    for (auto& rs : states) {
      auto it = node_.pending_reads_.find(rs.request_ctx);
      if (it == node_.pending_reads_.end()) continue;
      node_.ready_reads_.emplace(rs.index, std::move(it->second));
      node_.pending_reads_.erase(it);
    }
  }

 private:
  Node& node_;
};

bool Node::handle_ready() {
  const raft::Term term_before = ready_->hard_state().term;
  const bool was_leader = is_leader();
  if (!ready_->handle_ready(*raw_)) return false;

  for (raft::NodeId id : unreachable_) raw_->report_unreachable(id);
  unreachable_.clear();
  for (const auto& [to, sent] : snapshots_sent_)
    raw_->report_snapshot(to, sent ? raft::SnapshotStatus::Finish : raft::SnapshotStatus::Failure);
  snapshots_sent_.clear();
  check_transfer(false);

  const raft::Term term = ready_->hard_state().term;
  if (was_leader && !is_leader()) {
    spdlog::info("no longer the leader (term {}): answering pending requests Unknown", term);
    fail_pending("leadership lost before the request was applied");
  } else if (term != term_before && !pending_writes_.empty()) {
    fail_pending("the term changed before the request was applied");
  }
  if (!was_leader && is_leader()) spdlog::info("became the leader of term {}", term);
  maybe_hand_over_for_slow_disk();
  return true;
}

std::string Node::restore_kv(const raft::Snapshot& snap) {
  auto data = store_->snapshot_data(snap);
  if (!data.ok()) return data.error().to_string();
  std::string err;
  if (!kv_.restore_stream(data->next, data->max_bytes, &err)) return err;
  return "";
}

void Node::restore_snapshot(const raft::Snapshot& snap) {
  if (std::string err = restore_kv(snap); !err.empty()) {
    spdlog::critical("snapshot at index {} from the leader does not decode: {}", snap.metadata.index, err);
    std::abort();  // applying a partial state would silently diverge from the cluster
  }
  applied_ = snap.metadata.index;
  last_snapshot_index_ = applied_;
  conf_state_ = snap.metadata.conf_state;
  for (const auto& [id, m] : kv_.members()) addresses_[id] = {m.raft, m.client};
  update_peers();
  spdlog::info("restored a snapshot at index {} term {} ({} keys)", snap.metadata.index, snap.metadata.term,
               kv_.size());
}

void Node::apply_entries(std::vector<raft::Entry>& entries) {
  for (auto& e : entries) {
    if (e.index <= applied_) continue;  // already covered by a restored snapshot
    if (e.type == raft::EntryType::ConfChange) {
      apply_conf_change_entry(e);
    } else if (e.data.rfind(kIncarnationRecordPrefix, 0) == 0) {
      apply_incarnation_record(e);
    } else if (!e.data.empty()) {  // empty: a new leader's no-op entry
      std::string err;
      auto cmd = decode_kv_command(e.data, &err);
      if (!cmd) {
        spdlog::error("entry {} is not a KV command ({}): skipped on every node", e.index, err);
      } else {
        const KvResult res = kv_.apply(*cmd);
        auto it = pending_writes_.find({cmd->client_id, cmd->seq});
        if (it != pending_writes_.end()) {
          ClientReply r;
          switch (res.code) {
            case KvResultCode::Ok: r.code = ReplyCode::Ok; break;
            case KvResultCode::NotFound: r.code = ReplyCode::NotFound; break;
            case KvResultCode::CasFailed:
              r.code = ReplyCode::CasFailed;
              r.value = res.value;
              r.value_present = res.value_present;
              break;
            case KvResultCode::Stale:
              r.code = ReplyCode::Rejected;
              r.error = "a newer write of this client was already applied";
              break;
          }
          for (const auto& w : it->second) reply(w, r);
          pending_writes_.erase(it);
        }
      }
    }
    applied_ = e.index;
  }
}

void Node::apply_conf_change_entry(const raft::Entry& e) {
  auto cc = raft::decode_conf_change(e.data);
  if (!cc.ok()) {
    spdlog::critical("entry {} is not a conf change: {}", e.index, cc.error().to_string());
    std::abort();  // membership would diverge from the other nodes
  }
  const bool was_member = is_member(conf_state_);
  const raft::ConfState before = conf_state_;
  // On the leader: how far each member's log matches ours, for the farewell below.
  std::map<raft::NodeId, raft::Index> matched;
  raft::Term term = 0;
  raft::Index commit = 0;
  if (is_leader()) {
    const raft::Status st = raw_->status();
    for (const auto& [id, p] : st.progress) matched[id] = p.matched;
    term = st.hard_state.term;
    commit = st.hard_state.commit;
  }
  std::string err;
  if (auto learned = decode_member_addresses(cc->context, &err)) {
    for (const auto& m : *learned) {
      kv_.set_member(m);
      addresses_[m.id] = {m.raft, m.client};
    }
  } else {
    spdlog::warn("conf change at {}: context has no usable addresses ({})", e.index, err);
  }
  conf_state_ = raw_->apply_conf_change(*cc);
  // A member is gone once it is in no half of the configuration (an outgoing voter of a
  // joint configuration still receives the log, so that it can learn of its removal).
  std::vector<raft::NodeId> gone;
  for (const auto* ids : {&before.voters, &before.learners, &before.voters_outgoing})
    for (raft::NodeId id : *ids)
      if (id != opts_.id && !contains(conf_state_.voters, id) && !contains(conf_state_.learners, id) &&
          !contains(conf_state_.voters_outgoing, id) && !contains(gone, id))
        gone.push_back(id);
  for (raft::NodeId id : gone) {
    // Farewell: the leader no longer replicates to a removed member, which would then never
    // learn that its removal committed. A heartbeat carrying the commit, bounded by what that
    // member is known to hold (as any heartbeat's), lets it apply the removal and stop.
    if (auto it = matched.find(id); it != matched.end() && it->second > 0) {
      raft::Message m;
      m.msg_type = raft::MessageType::MsgHeartbeat;
      m.to = id;
      m.from = opts_.id;
      m.term = term;
      m.commit = std::min(it->second, commit);
      peers_->send(m);
    }
    kv_.remove_member(id);
    addresses_.erase(id);
    retiring_peers_[id] = Clock::now() + std::chrono::seconds(1);
  }
  update_peers();
  spdlog::info("applied conf change at {}: {}", e.index, raft::describe(*cc));
  if (pending_conf_change_ && e.index >= pending_conf_change_->index) {
    ClientReply r;
    r.leader_id = soft_state_.leader_id;
    r.status = node_status();
    reply(pending_conf_change_->waiter, std::move(r));
    pending_conf_change_.reset();
  }
  // A member that is no longer a voter, a learner or an outgoing voter has been removed.
  // (A new member replaying older changes before its own addition was never a member.)
  // It does not stop at once: a member removed, wiped and added back under the same id
  // replays its old removal while it catches up (the leader's snapshot may predate it), and
  // its re-addition follows in the log. So the removal only becomes final once the node has
  // applied nothing new for a while (see maybe_finish_removal): a removed member gets no more
  // entries, a re-added one keeps applying until it reaches its addition.
  if (was_member && !is_member(conf_state_)) {
    removal_ = PendingRemoval{e.index, applied_, Clock::now()};
    spdlog::warn("node {} applied its own removal at index {}: stopping unless the log adds it back", opts_.id,
                 e.index);
  } else if (removal_ && is_member(conf_state_)) {
    spdlog::info("node {} is a member again at index {} (its removal at {} was an earlier incarnation's)", opts_.id,
                 e.index, removal_->index);
    removal_.reset();
  }
}

void Node::maybe_finish_removal() {
  if (!removal_ || removed_) return;
  if (is_member(conf_state_)) {
    removal_.reset();
    return;
  }
  if (applied_ > removal_->last_applied) {
    removal_->last_applied = applied_;
    removal_->last_progress = Clock::now();
  }
  if (Clock::now() - removal_->last_progress >= kRemovalGrace * tick_interval_ * opts_.cluster.election_ticks)
    mark_removed(removal_->index);
}

void Node::answer_ready_reads() {
  while (!ready_reads_.empty() && ready_reads_.begin()->first <= applied_) {
    auto batch = std::move(ready_reads_.begin()->second);
    ready_reads_.erase(ready_reads_.begin());
    for (auto& g : batch.gets) {
      auto v = kv_.get(g.key);
      ClientReply r;
      r.code = v ? ReplyCode::Ok : ReplyCode::NotFound;
      if (v) r.value = std::move(*v), r.value_present = true;
      reply(g.waiter, std::move(r));
    }
  }
}

void Node::fail_pending(const std::string& why) {
  for (auto& [key, waiters] : pending_writes_)
    for (const auto& w : waiters) reply(w, error_reply(ReplyCode::Unknown, why));
  pending_writes_.clear();
  for (auto& [ctx, batch] : pending_reads_)
    for (auto& g : batch.gets) reply(g.waiter, error_reply(ReplyCode::Unknown, why));
  pending_reads_.clear();
  for (auto& [idx, batch] : ready_reads_)
    for (auto& g : batch.gets) reply(g.waiter, error_reply(ReplyCode::Unknown, why));
  ready_reads_.clear();
  for (auto& g : new_gets_) reply(g.waiter, error_reply(ReplyCode::Unknown, why));
  new_gets_.clear();
  if (pending_conf_change_) reply(pending_conf_change_->waiter, error_reply(ReplyCode::Unknown, why));
  pending_conf_change_.reset();
}

void Node::maybe_snapshot() {
  // The loop's own cost of snapshotting (fork, recording the file, compaction) is timed
  // here; what the child costs the machine shows in the latencies (README "Large state").
  const auto started = Clock::now();
  struct NoteOnExit {
    Node* n;
    Clock::time_point started;
    ~NoteOnExit() { n->slowest_snapshot_step_ = std::max(n->slowest_snapshot_step_, Clock::now() - started); }
  } note{this, started};
  take_snapshot_if_due();
}

void Node::take_snapshot_if_due() {
  reap_snapshot();
  if (snapshot_taker_.running() || applied_ <= last_snapshot_index_) return;
  const uint64_t log_bytes = store_->entry_bytes_persisted() - log_bytes_at_snapshot_;
  if (!snapshot_policy_.due(applied_ - last_snapshot_index_, log_bytes)) return;
  const auto now = Clock::now();
  if (now < next_snapshot_attempt_) return;
  const auto retry_after = std::chrono::seconds(10);
  const std::string tmp = store_->snapshot_tmp_path(applied_);
  if (tmp.empty()) {
    // A store without files (in-memory tests): a copy of the state, taken on the loop.
    auto r = store_->create_snapshot(applied_, conf_state_, kv_.snapshot());
    if (!r.ok()) {
      spdlog::warn("snapshot at {} failed, retried in {} s: {}", applied_, retry_after.count(), r.error().to_string());
      next_snapshot_attempt_ = now + retry_after;
      return;
    }
    last_snapshot_index_ = applied_;
    log_bytes_at_snapshot_ = store_->entry_bytes_persisted();
    ++snapshots_taken_;
    return;
  }
  raft::SnapshotMetadata meta;
  meta.index = applied_;
  auto term = store_->storage().term(applied_);
  if (!term.ok()) {
    spdlog::error("snapshot at {}: no term for the applied index: {}", applied_, term.error().to_string());
    next_snapshot_attempt_ = now + retry_after;
    return;
  }
  meta.term = *term;
  meta.conf_state = conf_state_;
  if (auto err = snapshot_taker_.start(kv_, meta, tmp, opts_.cluster.fsync, opts_.test_snapshot_bytes_per_s); !err.empty()) {
    spdlog::warn("snapshot at {} not started, retried in {} s: {}", applied_, retry_after.count(), err);
    next_snapshot_attempt_ = now + retry_after;
    return;
  }
  log_bytes_at_fork_ = store_->entry_bytes_persisted();
  slowest_fork_ = std::max(slowest_fork_, snapshot_taker_.last_fork_time());
  spdlog::info("snapshot at index {} ({} keys, {} MiB, {} MiB of log since the last): written by process {}, "
               "fork took {} us",
               applied_, kv_.size(), kv_.state_bytes() >> 20, log_bytes >> 20, snapshot_taker_.pid(),
               std::chrono::duration_cast<std::chrono::microseconds>(snapshot_taker_.last_fork_time()).count());
}

void Node::reap_snapshot() {
  auto done = snapshot_taker_.poll();
  if (!done) return;
  const auto ms = [](Clock::duration d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); };
  const raft::Index index = done->metadata.index;
  const auto retry_after = std::chrono::seconds(10);
  if (done->status != 0) {
    const std::string why = done->status < 0 ? "killed by signal " + std::to_string(-done->status)
                                             : std::string(std::strerror(done->status));
    spdlog::warn("snapshot at {} failed after {} ms ({}); its file was removed, retried in {} s", index,
                 ms(done->took), why, retry_after.count());
    next_snapshot_attempt_ = Clock::now() + retry_after;
    return;
  }
  const auto record_started = Clock::now();
  auto r = store_->record_snapshot(done->metadata);
  const auto record_took = Clock::now() - record_started;
  if (!r.ok()) {
    if (r.code() == raft::ErrorCode::SnapshotOutOfDate) {
      // A snapshot from the leader overtook it: nothing to do.
      spdlog::info("snapshot at {} dropped: {}", index, r.error().to_string());
    } else if (store_->is_no_space(r.error())) {
      spdlog::warn("snapshot at {} not recorded, retried in {} s: {}", index, retry_after.count(), r.error().message);
      next_snapshot_attempt_ = Clock::now() + retry_after;
    } else {
      // The storage is failed for good: the next persist stops the node.
      spdlog::error("snapshot at {} not recorded: {}", index, r.error().to_string());
      next_snapshot_attempt_ = Clock::now() + retry_after;
    }
    return;
  }
  last_snapshot_index_ = std::max(last_snapshot_index_, index);
  log_bytes_at_snapshot_ = log_bytes_at_fork_;
  ++snapshots_taken_;
  spdlog::info("snapshot at index {} recorded in {} ms (marker, compaction): written in {} ms; slowest loop "
               "iteration while snapshotting {} ms, slowest snapshot step on the loop {} ms",
               index, ms(record_took), ms(done->took), ms(slowest_snapshot_iteration_), ms(slowest_snapshot_step_));
}

void Node::note_iteration(Clock::duration busy) {
  slowest_iteration_ = std::max(slowest_iteration_, busy);
  if (snapshot_taker_.running()) slowest_snapshot_iteration_ = std::max(slowest_snapshot_iteration_, busy);
}

bool Node::refuse_oversized(const transport::ClientRequest& req, const Waiter& waiter) {
  const auto& c = opts_.cluster;
  auto refuse = [&](const char* what, size_t n, uint64_t limit) {
    reply(waiter, error_reply(ReplyCode::Rejected, std::string(what) + " too large: " + std::to_string(n) +
                                                       " bytes, limit " + std::to_string(limit)));
    return true;
  };
  if (req.key.size() > c.max_key_bytes) return refuse("key", req.key.size(), c.max_key_bytes);
  if (req.value.size() > c.max_value_bytes) return refuse("value", req.value.size(), c.max_value_bytes);
  if (req.expected.size() > c.max_value_bytes) return refuse("expected value", req.expected.size(), c.max_value_bytes);
  return false;
}

bool Node::refuse_over_quota(const transport::ClientRequest& req, const Waiter& waiter) {
  if (req.kind != RequestKind::Put && req.kind != RequestKind::Cas) return false;
  const uint64_t quota = opts_.cluster.max_state_mb << 20;
  const int64_t growth = kv_.growth_if_set(req.key, req.value.size());
  // Checked against the applied state, so writes already in the log may take the state a
  // little past the quota (as etcd's): it bounds memory, it is not an exact ledger.
  if (growth <= 0 || kv_.state_bytes() + static_cast<uint64_t>(growth) <= quota) return false;
  reply(waiter, error_reply(ReplyCode::Rejected,
                            "state quota exceeded: the state holds " + std::to_string(kv_.state_bytes()) +
                                " bytes, this write adds " + std::to_string(growth) + ", max_state_mb is " +
                                std::to_string(opts_.cluster.max_state_mb) +
                                " (delete keys or raise max_state_mb)"));
  return true;
}

transport::NodeStatus Node::node_status() const {
  const raft::Status st = raw_->status();
  transport::NodeStatus s;
  s.id = opts_.id;
  s.cluster_id = opts_.cluster.cluster_id;
  s.role = lower(raft::to_string(st.soft_state.raft_state));
  s.term = st.hard_state.term;
  s.leader = st.soft_state.leader_id;
  s.commit = st.hard_state.commit;
  s.applied = applied_;
  s.last_index = st.last_index;
  auto first = store_->storage().first_index();
  s.first_index = first.ok() ? *first : 0;
  s.voters = st.conf_state.voters;
  s.learners = st.conf_state.learners;
  s.voters_outgoing = st.conf_state.voters_outgoing;
  for (const auto& [id, p] : st.progress) s.progress_matched.emplace_back(id, p.matched);
  for (const auto& [id, a] : addresses_) s.members.emplace_back(id, a.first + " " + a.second);
  s.incarnation = identity_.incarnation;
  s.problem = standing_;  // "" when it holds its place; the disk below overrides it
  s.state_bytes = kv_.state_bytes();
  s.rss_bytes = resident_bytes();
  s.snapshot_index = last_snapshot_index_;
  s.snapshot_running = snapshot_taker_.running() ? 1 : 0;
  const auto us = [](Clock::duration d) {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(d).count());
  };
  s.slowest_loop_us = us(slowest_iteration_);
  s.slowest_snapshot_loop_us = us(slowest_snapshot_iteration_);
  s.slowest_fork_us = us(slowest_fork_);
  s.slowest_snapshot_step_us = us(slowest_snapshot_step_);
  if (disk_full_since_) {
    s.problem = "disk full in " + (opts_.in_memory ? std::string("memory") : opts_.cluster.node_dir(opts_.id)) +
                ": writes paused for " +
                std::to_string(std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - *disk_full_since_).count()) +
                " s";
  }
  return s;
}

}  // namespace node
