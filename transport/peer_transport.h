// Peer-to-peer message transport over ZeroMQ.
//
// Each node binds one ROUTER at its raft address and holds one DEALER per peer, connected to
// that peer's ROUTER, with routing id = this node's id in decimal. Traffic is one-way per
// socket: a node sends on its DEALERs and receives on its ROUTER. The routing id a ROUTER sees
// is informative only; what a node trusts is the envelope (codec.h): its cluster id, and its
// `to`, which must be this node.
//
// Invariants that keep a node alive whatever its peers do:
// - send() never blocks (ZMQ_DONTWAIT): a full queue or an unconnected peer (ZMQ_IMMEDIATE)
//   drops the message, counts it and returns false; Raft retransmits.
// - memory is bounded: SNDHWM per peer, LINGER 0, ZMQ_MAXMSGSIZE = kMaxFrameBytes on the
//   ROUTER, ZMQ heartbeats so that a dead or paused peer's connection is dropped in about
//   heartbeat_timeout_ms instead of queueing forever.
// - a frame that does not decode, comes from another cluster, or is addressed to another
//   node is dropped and counted, never fatal.
// - ZMQ_ROUTER_HANDOVER: a restarted peer reusing its routing id takes over at once.
// With options.curve enabled (docs/security.md) the ROUTER is a CURVE server with this node's
// key pair (node-<self>.key/.pub in keys_dir) and each DEALER a CURVE client that expects
// node-<peer>.pub: traffic is encrypted and authenticated both ways. The ROUTER admits only
// the node keys of keys_dir (ZapAuthenticator, "peer" policy); a peer whose .pub is missing
// is left absent (has_peer() false, last_problem() says why). The routing id is still not
// trusted: a key holder is a node, the envelope says which one.
// Not thread-safe: one thread (the node loop) owns a PeerTransport.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <queue>
#include <random>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "raft/types.h"
#include "transport/codec.h"
#include "transport/curve_keys.h"
#include "transport/snapshot_messages.h"
#include "transport/zap_authenticator.h"

namespace transport {

struct PeerStats {
  uint64_t sent = 0, received = 0, dropped_send = 0, dropped_decode = 0, dropped_wrong_cluster = 0,
           dropped_wrong_target = 0;
  uint64_t dropped_fault = 0;  // dropped on purpose by set_drop_rate (not counted in sent)
  uint64_t dropped_sender = 0;  // refused by the sender check (set_sender_check)
};

struct PeerTransportOptions {
  int send_hwm = 10000;            // messages queued per peer before send() drops
  int receive_hwm = 10000;         // messages queued on the ROUTER
  int heartbeat_ivl_ms = 200;
  int heartbeat_timeout_ms = 1000;
  // Reconnects to a peer that is down back off from 100 ms to at most 200 ms: a restarted
  // peer hears from this node within ~200 ms. (With a 1 s cap, a follower restarted after a
  // few seconds down waited up to a second before the leader's appends reached it:
  // bench-vs-etcd's catch-up took ~1 s whatever the gap.) A refused connect costs ~nothing.
  int reconnect_ivl_ms = 100;
  int reconnect_ivl_max_ms = 200;
  size_t max_receive_batch = 10000;  // frames handled per receive_all() call
  // When non-empty, DEALERs connect from this local address ("127.0.0.21"), so that tests
  // can partition node pairs with per-address firewall rules.
  std::string source_host;
  // CURVE encryption and authentication (off by default).
  CurveSettings curve;
  // CURVE only: a DEALER that could send nothing for this long is replaced by a fresh one
  // (libzmq does not retry a refused handshake by itself).
  int curve_reopen_ms = 2000;

  // The defaults, with CURVE as the cluster file's security block says.
  static PeerTransportOptions with_curve(bool enabled, const std::string& keys_dir) {
    PeerTransportOptions o;
    o.curve.enabled = enabled;
    o.curve.keys_dir = keys_dir;
    return o;
  }
};

class PeerTransport {
 public:
  // Binds the ROUTER. Throws std::runtime_error naming the endpoint if binding fails (port in
  // use, bad endpoint). `bind_endpoint` may use a wildcard port ("tcp://127.0.0.1:*").
  // With options.curve enabled, also throws (naming the file, never a secret) if this node's
  // key pair cannot be loaded, e.g. a secret key readable by group or others.
  PeerTransport(zmq::context_t& ctx, raft::NodeId self, std::string cluster_id,
                const std::string& bind_endpoint);
  PeerTransport(zmq::context_t& ctx, raft::NodeId self, std::string cluster_id,
                const std::string& bind_endpoint, PeerTransportOptions options);
  PeerTransport(const PeerTransport&) = delete;
  PeerTransport& operator=(const PeerTransport&) = delete;
  ~PeerTransport();

  // Adds a peer, or reconnects it if its endpoint changed (no-op if unchanged). Never throws:
  // a malformed endpoint leaves the peer absent (has_peer() is false) and is described by
  // last_problem().
  void set_peer(raft::NodeId id, const std::string& raft_endpoint);
  void remove_peer(raft::NodeId id);
  bool has_peer(raft::NodeId id) const;

  // Non-blocking. false when the peer is unknown or its queue is full (the message is
  // dropped and counted; the caller then calls RawNode::report_unreachable).
  bool send(const raft::Message& m);

  // A snapshot chunk or ack (snapshot_messages.h), under the same rules as send(): never
  // blocks, false when dropped. The test fault hooks (drop rate, delay) apply to it too.
  bool send_snapshot_packet(raft::NodeId to, const SnapshotPacket& p);

  // The ROUTER, for zmq::poll(ZMQ_POLLIN).
  zmq::socket_t& socket() { return router_; }

  // Drains the frames waiting on the ROUTER without blocking (at most
  // options.max_receive_batch per call; poll again if more remain). Undecodable frames,
  // frames of another cluster, or addressed to another node id are dropped and counted.
  // Snapshot chunks and acks go to *snapshots (dropped and counted when it is null).
  void receive_all(std::vector<raft::Message>& out, std::vector<SnapshotPacket>* snapshots = nullptr);

  // This node's incarnation and claims-slot flag, written into the envelope of every frame sent
  // from now on (codec.h SenderIdentity).
  void set_sender_identity(const SenderIdentity& identity) { sender_identity_ = identity; }
  // Called for every decoded message addressed to this node with its sender's id and
  // envelope identity: a non-empty answer drops the message (counted in dropped_sender; the
  // answer is the reason, logged like other drops). The node uses it to refuse members that
  // lost their data (docs/membership.md "Amnesia").
  using SenderCheck = std::function<std::string(raft::NodeId from, const SenderIdentity& sender)>;
  void set_sender_check(SenderCheck check) { sender_check_ = std::move(check); }

  const PeerStats& stats() const { return stats_; }
  // Why the last frame or message was dropped (for logs), "" if none was.
  const std::string& last_problem() const { return last_problem_; }
  // The endpoint actually bound, with the port resolved ("tcp://127.0.0.1:43117").
  const std::string& bound_endpoint() const { return bound_endpoint_; }
  raft::NodeId self() const { return self_; }

  // Test-only fault hook (chaos tests): drop this fraction of outgoing messages, as a lossy
  // network would (send() still returns true). p = 0 turns it off.
  void set_drop_rate(double p, uint64_t seed);
  // Test-only fault hook (chaos tests; the kernel here has no netem): hold every outgoing
  // message for a random time in [0, max_delay] before it leaves, as a slow network would;
  // independent delays also reorder messages. The owner calls flush_delayed() from its loop
  // and wakes up by next_delayed_due(). Zero turns it off.
  void set_delay(std::chrono::milliseconds max_delay);
  // Sends the held messages that are due; returns how many left.
  size_t flush_delayed();
  std::optional<std::chrono::steady_clock::time_point> next_delayed_due() const;

 private:
  struct Peer {
    std::string endpoint;
    zmq::socket_t socket;
    std::chrono::steady_clock::time_point failing_since{};  // first failed send since the last success
    std::chrono::steady_clock::time_point opened{};
  };

  void drop(uint64_t& counter, std::string why);
  // Puts an encoded frame on peer `to`'s socket (counted in stats_).
  bool send_frame(raft::NodeId to, Peer& peer, const std::string& bytes);
  // The shared tail of send() and send_snapshot_packet(): fault hooks, then send_frame.
  bool send_encoded(raft::NodeId to, Peer& peer, std::string bytes);
  // A new DEALER connected to `raft_endpoint`; nullopt (last_problem_ says why) on failure.
  std::optional<zmq::socket_t> open_dealer(raft::NodeId id, const std::string& raft_endpoint);
  void note_send_failure(raft::NodeId id, Peer& p);

  // Constant after construction
  zmq::context_t& ctx_;
  const raft::NodeId self_;
  const std::string cluster_id_;
  const PeerTransportOptions options_;
  CurveKeyPair own_keys_;                  // CURVE only
  std::shared_ptr<ZapAuthenticator> zap_;  // CURVE only; declared before router_ to outlive it
  std::string zap_domain_;
  zmq::socket_t router_;
  std::string bound_endpoint_;

  std::map<raft::NodeId, Peer> peers_;
  SenderIdentity sender_identity_;
  SenderCheck sender_check_;
  PeerStats stats_;
  std::string last_problem_;
  double drop_rate_ = 0;
  std::mt19937_64 rng_;
  struct Delayed {
    std::chrono::steady_clock::time_point due;
    uint64_t order;  // ties keep the sending order
    raft::NodeId to;
    std::string bytes;
    bool operator>(const Delayed& o) const { return due != o.due ? due > o.due : order > o.order; }
  };
  std::chrono::milliseconds max_delay_{0};
  uint64_t delayed_count_ = 0;
  std::priority_queue<Delayed, std::vector<Delayed>, std::greater<Delayed>> delayed_;
};

}  // namespace transport
