// Connection: one DEALER socket to one node's client ROUTER, with many requests in flight.
//
// Requests and replies are matched by request_id (assigned here, unique per connection);
// a reply whose request_id is not outstanding (an answer to an attempt already given up on)
// is dropped. Sends never block: the socket queues up to a bounded high-water mark, and a
// message that does not fit is reported as not sent. Linger is 0 so that closing never
// waits for a dead node. This is the building block of both the blocking Client and the
// pipelined benchmark (many outstanding requests over few sockets).
//
// CURVE (docs/security.md): when the process has set client CURVE keys (set_client_curve,
// raftctl does it once from the cluster file's security block, before any command runs), every
// Connection opened afterwards is a CURVE client with the client's key pair and the node's
// public key (node-<id>.pub). It is process-wide on purpose: every socket raftctl opens (the
// client library, bench, push-config) must use it, and a plain socket to a CURVE server would
// just time out. A Connection to a node whose public key is unknown is not opened: send()
// fails and problem() says why.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <variant>
#include <unordered_set>
#include <vector>

#include <zmq.hpp>

#include "transport/client_codec.h"
#include "transport/client_protocol.h"
#include "transport/curve_keys.h"

namespace client {

struct ClientCurve {
  std::string keys_dir;
  std::string key_name;                              // e.g. "client-client"
  transport::CurveKeyPair own;                       // secret: never print it
  std::map<raft::NodeId, std::string> server_keys;  // node id -> public key
};

// Loads client-<name>.key/.pub (refused if the secret is readable by group or others) and
// every node-<id>.pub of keys_dir. Errors name the file, never a secret.
std::variant<ClientCurve, transport::KeyError> load_client_curve(const std::string& keys_dir, const std::string& name);
// Every Connection opened after this call uses `curve` (nullptr: plain ZeroMQ).
void set_client_curve(std::shared_ptr<const ClientCurve> curve);
std::shared_ptr<const ClientCurve> client_curve();

class Connection {
 public:
  // Every request sent carries `cluster_id` (unless it names one itself), so that a node of
  // another cluster refuses it; empty: unchecked.
  Connection(zmq::context_t& ctx, raft::NodeId node_id, std::string endpoint, std::string cluster_id = {});

  raft::NodeId node_id() const { return node_id_; }
  const std::string& endpoint() const { return endpoint_; }
  // Reconnects the socket to another endpoint (a NotLeader hint may name a new address);
  // outstanding requests are forgotten.
  void reset(std::string endpoint);

  // Assigns a request_id, sends without blocking, and returns the id; 0 if the message
  // could not be queued (high-water mark reached) or the socket could not be opened
  // (problem() says why).
  uint64_t send(transport::ClientRequest req);
  // Forgets an outstanding request: a late reply to it will be dropped.
  void forget(uint64_t request_id) { outstanding_.erase(request_id); }
  size_t outstanding() const { return outstanding_.size(); }

  // Moves every reply already waiting (matching an outstanding request) into `out`, without
  // blocking. Undecodable frames are dropped.
  void receive_all(std::vector<transport::ClientReply>& out);
  zmq::socket_t& socket() { return socket_; }
  // Why this connection cannot be used ("" when it can): e.g. no public key for the node.
  const std::string& problem() const { return problem_; }

 private:
  void open();

  zmq::context_t& ctx_;
  raft::NodeId node_id_;
  std::string endpoint_;
  std::string cluster_id_;
  zmq::socket_t socket_;
  uint64_t next_request_id_ = 1;
  std::unordered_set<uint64_t> outstanding_;
  std::string problem_;
};

}  // namespace client
