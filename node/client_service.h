// ClientService: the node's ROUTER socket at its client address.
//
// Each request arrives as two frames, [client routing id][request], and each reply goes
// back as [routing id][reply]; requests and replies are matched by the client's request_id
// (many may be in flight per client socket). The socket is bounded like the peer socket
// (high-water marks, maximum message size, linger 0): a frame that is too big closes that
// client's connection inside ZeroMQ, a frame that does not decode is dropped and counted.
// Nothing a client sends can stop the node. Replies never block: a reply to a client that
// is gone or not reading is dropped.
//
// With CURVE on (docs/security.md) the ROUTER is a CURVE server with the node's own key pair
// (node-<id>.key/.pub) and admits, through the context's ZapAuthenticator ("client" policy),
// the client and node keys of keys_dir: a client without such a key never completes the
// handshake, so it can neither read nor write, and gets no reply at all.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "transport/client_protocol.h"
#include "transport/curve_keys.h"
#include "transport/zap_authenticator.h"

namespace node {

struct IncomingRequest {
  std::string peer;  // the client's routing id, to address the reply
  transport::ClientRequest request;
};

struct ClientServiceStats {
  uint64_t received = 0, replied = 0, dropped_decode = 0, dropped_reply = 0;
};

class ClientService {
 public:
  // Throws std::runtime_error naming the endpoint if the bind fails (e.g. port in use).
  ClientService(zmq::context_t& ctx, const std::string& endpoint);
  // With curve.enabled, also throws (naming the key file, never a secret) if node `self`'s
  // key pair cannot be loaded.
  ClientService(zmq::context_t& ctx, const std::string& endpoint, raft::NodeId self,
                const transport::CurveSettings& curve);
  ~ClientService();
  ClientService(const ClientService&) = delete;
  ClientService& operator=(const ClientService&) = delete;

  zmq::socket_t& socket() { return socket_; }
  // Appends every request waiting on the socket to `out`, without blocking.
  void receive_all(std::vector<IncomingRequest>& out);
  void reply(const std::string& peer, const transport::ClientReply& reply);
  const ClientServiceStats& stats() const { return stats_; }

 private:
  std::shared_ptr<transport::ZapAuthenticator> zap_;  // CURVE only; declared first: outlives socket_
  std::string zap_domain_;
  zmq::socket_t socket_;
  ClientServiceStats stats_;
};

}  // namespace node
