#include "transport/peer_transport.h"

#include <stdexcept>

#include "transport/codec.h"
#include "transport/wire.h"

namespace transport {
namespace {

// Options every socket of this transport shares: bounded memory, fast dead-peer detection.
void set_common_options(zmq::socket_t& s, const PeerTransportOptions& o) {
  s.set(zmq::sockopt::linger, 0);
  s.set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(kMaxFrameBytes));
  s.set(zmq::sockopt::heartbeat_ivl, o.heartbeat_ivl_ms);
  s.set(zmq::sockopt::heartbeat_timeout, o.heartbeat_timeout_ms);
  s.set(zmq::sockopt::heartbeat_ttl, o.heartbeat_timeout_ms);
}

// "tcp://HOST:PORT" -> "tcp://SRC:0;HOST:PORT" (ZeroMQ's source-address syntax).
std::string with_source(const std::string& endpoint, const std::string& source_host) {
  constexpr std::string_view kScheme = "tcp://";
  if (source_host.empty() || endpoint.compare(0, kScheme.size(), kScheme) != 0) return endpoint;
  return std::string(kScheme) + source_host + ":0;" + endpoint.substr(kScheme.size());
}

}  // namespace

PeerTransport::PeerTransport(zmq::context_t& ctx, raft::NodeId self, std::string cluster_id,
                             const std::string& bind_endpoint)
    : PeerTransport(ctx, self, std::move(cluster_id), bind_endpoint, PeerTransportOptions{}) {}

PeerTransport::PeerTransport(zmq::context_t& ctx, raft::NodeId self, std::string cluster_id,
                             const std::string& bind_endpoint, PeerTransportOptions options)
    : ctx_(ctx),
      self_(self),
      cluster_id_(std::move(cluster_id)),
      options_(std::move(options)),
      router_(ctx, zmq::socket_type::router) {
  if (options_.curve.enabled) {
    auto keys = read_key_pair(options_.curve.keys_dir, node_key_name(self_));
    if (auto* e = std::get_if<KeyError>(&keys)) throw std::runtime_error("CURVE is on but " + e->message);
    own_keys_ = std::move(std::get<CurveKeyPair>(keys));
    // The handler is bound before the socket exists: a CURVE server without one admits anybody.
    zap_ = ZapAuthenticator::for_context(ctx_);
    zap_domain_ = zap_->add_policy("peer", options_.curve.keys_dir, {"node-"});
    make_curve_server(router_, own_keys_, zap_domain_);
  }
  set_common_options(router_, options_);
  router_.set(zmq::sockopt::rcvhwm, options_.receive_hwm);
  // A restarted peer reconnects with the same routing id while its old connection may not be
  // detected as dead yet: let the new connection take the id over instead of being refused.
  router_.set(zmq::sockopt::router_handover, 1);
  try {
    router_.bind(bind_endpoint);
  } catch (const zmq::error_t& e) {
    throw std::runtime_error("cannot bind the peer socket at " + bind_endpoint + ": " + e.what());
  }
  bound_endpoint_ = router_.get(zmq::sockopt::last_endpoint);
}

PeerTransport::~PeerTransport() {
  if (zap_) zap_->remove_policy(zap_domain_);
}

void PeerTransport::set_peer(raft::NodeId id, const std::string& raft_endpoint) {
  if (auto it = peers_.find(id); it != peers_.end()) {
    if (it->second.endpoint == raft_endpoint) return;
    peers_.erase(it);  // closes the old DEALER (LINGER 0: its queue is discarded)
  }
  if (auto s = open_dealer(id, raft_endpoint))
    peers_.emplace(id, Peer{raft_endpoint, std::move(*s), {}, std::chrono::steady_clock::now()});
}

std::optional<zmq::socket_t> PeerTransport::open_dealer(raft::NodeId id, const std::string& raft_endpoint) {
  std::string server_key;
  if (options_.curve.enabled) {
    // Read at each (re)connect: a member added later only needs its .pub copied to keys_dir.
    auto key = read_public_key(options_.curve.keys_dir, node_key_name(id));
    if (auto* e = std::get_if<KeyError>(&key)) {
      last_problem_ = "cannot connect to peer " + std::to_string(id) + " with CURVE: " + e->message;
      return std::nullopt;
    }
    server_key = std::move(std::get<std::string>(key));
  }
  try {
    zmq::socket_t s(ctx_, zmq::socket_type::dealer);
    if (options_.curve.enabled) make_curve_client(s, own_keys_, server_key);
    set_common_options(s, options_);
    // Set before connect: the routing id is sent in the handshake (TOOLCHAIN pitfall 9).
    s.set(zmq::sockopt::routing_id, std::to_string(self_));
    s.set(zmq::sockopt::sndhwm, options_.send_hwm);
    s.set(zmq::sockopt::rcvhwm, 1);  // peers never answer on this socket
    // Queue only for connected peers: a message for a peer that is down is dropped at once
    // (and Raft learns it is unreachable) instead of piling up until it returns.
    s.set(zmq::sockopt::immediate, 1);
    s.set(zmq::sockopt::reconnect_ivl, options_.reconnect_ivl_ms);
    s.set(zmq::sockopt::reconnect_ivl_max, options_.reconnect_ivl_max_ms);
    s.connect(with_source(raft_endpoint, options_.source_host));
    return s;
  } catch (const zmq::error_t& e) {
    last_problem_ = "cannot connect to peer " + std::to_string(id) + " at '" + raft_endpoint + "': " + e.what();
    return std::nullopt;
  }
}

void PeerTransport::note_send_failure(raft::NodeId id, Peer& p) {
  if (!options_.curve.enabled) return;
  // libzmq never retries a connection whose CURVE handshake was refused (a protocol error
  // ends the session), e.g. because this node's key was not yet in the peer's keys_dir.
  // So a DEALER that has sent nothing for a while is replaced: a fresh connection, with the
  // peer's public key read again. For a peer that is simply down this costs one socket per
  // interval.
  const auto now = std::chrono::steady_clock::now();
  const auto interval = std::chrono::milliseconds(options_.curve_reopen_ms);
  if (p.failing_since == std::chrono::steady_clock::time_point{}) p.failing_since = now;
  if (now - p.failing_since < interval || now - p.opened < interval) return;
  if (auto s = open_dealer(id, p.endpoint)) {
    p.socket = std::move(*s);
    p.opened = now;
    p.failing_since = now;
  }
}

void PeerTransport::remove_peer(raft::NodeId id) { peers_.erase(id); }

bool PeerTransport::has_peer(raft::NodeId id) const { return peers_.count(id) != 0; }

void PeerTransport::drop(uint64_t& counter, std::string why) {
  ++counter;
  last_problem_ = std::move(why);
}

bool PeerTransport::send(const raft::Message& m) {
  auto it = peers_.find(m.to);
  if (it == peers_.end()) {
    drop(stats_.dropped_send, "no peer " + std::to_string(m.to));
    return false;
  }
  if (drop_rate_ > 0 && std::uniform_real_distribution<double>(0, 1)(rng_) < drop_rate_) {
    ++stats_.dropped_fault;
    return true;
  }
  std::string bytes = encode_message(cluster_id_, m, sender_identity_);
  if (bytes.size() > kMaxFrameBytes) {
    // The receiver would drop the whole connection (ZMQ_MAXMSGSIZE): never send it.
    drop(stats_.dropped_send, std::string(raft::to_string(m.msg_type)) + " to " + std::to_string(m.to) +
                                  " is " + std::to_string(bytes.size()) + " bytes, over the frame limit");
    return false;
  }
  return send_encoded(m.to, it->second, std::move(bytes));
}

bool PeerTransport::send_encoded(raft::NodeId to, Peer& peer, std::string bytes) {
  if (max_delay_.count() > 0) {
    const auto delay = std::chrono::microseconds(
        std::uniform_int_distribution<int64_t>(0, std::chrono::microseconds(max_delay_).count())(rng_));
    delayed_.push(Delayed{std::chrono::steady_clock::now() + delay, delayed_count_++, to, std::move(bytes)});
    return true;
  }
  return send_frame(to, peer, bytes);
}

bool PeerTransport::send_snapshot_packet(raft::NodeId to, const SnapshotPacket& p) {
  auto it = peers_.find(to);
  if (it == peers_.end()) {
    drop(stats_.dropped_send, "no peer " + std::to_string(to));
    return false;
  }
  if (drop_rate_ > 0 && std::uniform_real_distribution<double>(0, 1)(rng_) < drop_rate_) {
    ++stats_.dropped_fault;
    return true;
  }
  std::string bytes = encode_snapshot_packet(cluster_id_, p);
  if (bytes.size() > kMaxFrameBytes) {
    drop(stats_.dropped_send, "snapshot chunk to " + std::to_string(to) + " over the frame limit");
    return false;
  }
  return send_encoded(to, it->second, std::move(bytes));
}

bool PeerTransport::send_frame(raft::NodeId to, Peer& peer, const std::string& bytes) {
  try {
    if (!peer.socket.send(zmq::buffer(bytes), zmq::send_flags::dontwait)) {
      drop(stats_.dropped_send, "peer " + std::to_string(to) + " not connected or its queue is full");
      note_send_failure(to, peer);
      return false;
    }
    peer.failing_since = {};
  } catch (const zmq::error_t& e) {
    drop(stats_.dropped_send, "send to peer " + std::to_string(to) + " failed: " + e.what());
    return false;
  }
  ++stats_.sent;
  return true;
}

void PeerTransport::receive_all(std::vector<raft::Message>& out, std::vector<SnapshotPacket>* snapshots) {
  for (size_t n = 0; n < options_.max_receive_batch; ++n) {
    zmq::message_t identity;
    if (!router_.recv(identity, zmq::recv_flags::dontwait)) return;
    // A DEALER sends [payload]; the ROUTER prepends the identity. Anything with more parts is
    // not ours. Parts are read one at a time so that memory stays at one frame.
    zmq::message_t payload;
    size_t parts = 1;
    bool more = identity.more();
    while (more) {
      zmq::message_t part;
      // The rest of a multipart message is already queued: this does not block.
      (void)router_.recv(part, zmq::recv_flags::none);
      more = part.more();
      if (++parts == 2) payload = std::move(part);
    }
    if (parts != 2) {
      drop(stats_.dropped_decode, "frame with " + std::to_string(parts) + " parts from '" +
                                      wire::printable(identity.to_string_view()) + "'");
      continue;
    }
    if (is_snapshot_frame(payload.to_string_view())) {
      auto packet = decode_snapshot_packet(payload.to_string_view(), cluster_id_);
      if (auto* err = std::get_if<DecodeError>(&packet)) {
        uint64_t& counter =
            err->reason == DecodeFailure::WrongCluster ? stats_.dropped_wrong_cluster : stats_.dropped_decode;
        drop(counter, "frame from '" + wire::printable(identity.to_string_view()) + "': " + err->message);
        continue;
      }
      auto& p = std::get<SnapshotPacket>(packet);
      const raft::NodeId to = std::visit([](const auto& x) { return x.to; }, p);
      if (to != self_ || !snapshots) {
        drop(stats_.dropped_wrong_target, "snapshot frame addressed to " + std::to_string(to));
        continue;
      }
      ++stats_.received;
      snapshots->push_back(std::move(p));
      continue;
    }
    SenderIdentity sender;
    auto decoded = decode_message(payload.to_string_view(), cluster_id_, &sender);
    if (auto* err = std::get_if<DecodeError>(&decoded)) {
      uint64_t& counter =
          err->reason == DecodeFailure::WrongCluster ? stats_.dropped_wrong_cluster : stats_.dropped_decode;
      drop(counter, "frame from '" + wire::printable(identity.to_string_view()) + "': " + err->message);
      continue;
    }
    raft::Message& m = std::get<raft::Message>(decoded);
    if (m.to != self_) {
      drop(stats_.dropped_wrong_target, std::string(raft::to_string(m.msg_type)) + " from " +
                                            std::to_string(m.from) + " addressed to " + std::to_string(m.to));
      continue;
    }
    if (sender_check_) {
      if (std::string why = sender_check_(m.from, sender); !why.empty()) {
        drop(stats_.dropped_sender, std::string(raft::to_string(m.msg_type)) + " from " + std::to_string(m.from) +
                                        ": " + why);
        continue;
      }
    }
    ++stats_.received;
    out.push_back(std::move(m));
  }
}

void PeerTransport::set_drop_rate(double p, uint64_t seed) {
  drop_rate_ = p;
  rng_.seed(seed);
}

void PeerTransport::set_delay(std::chrono::milliseconds max_delay) { max_delay_ = max_delay; }

size_t PeerTransport::flush_delayed() {
  const auto now = std::chrono::steady_clock::now();
  while (!delayed_.empty() && delayed_.top().due <= now) {
    // A peer removed meanwhile loses the message, as a real network would. The send result is
    // not reported to Raft (the message is long gone).
    const Delayed& d = delayed_.top();
    if (auto it = peers_.find(d.to); it != peers_.end()) {
      send_frame(d.to, it->second, d.bytes);
    } else {
      drop(stats_.dropped_send, "no peer " + std::to_string(d.to));
    }
    delayed_.pop();
  }
  return delayed_.size();
}

std::optional<std::chrono::steady_clock::time_point> PeerTransport::next_delayed_due() const {
  if (delayed_.empty()) return std::nullopt;
  return delayed_.top().due;
}

}  // namespace transport
