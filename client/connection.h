// Connection: one DEALER socket to one node's client ROUTER, with many requests in flight.
//
// Requests and replies are matched by request_id (assigned here, unique per connection);
// a reply whose request_id is not outstanding (an answer to an attempt already given up on)
// is dropped. Sends never block: the socket queues up to a bounded high-water mark, and a
// message that does not fit is reported as not sent. Linger is 0 so that closing never
// waits for a dead node. This is the building block of both the blocking Client and the
// pipelined benchmark (many outstanding requests over few sockets).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <unordered_set>
#include <vector>

#include <zmq.hpp>

#include "transport/client_codec.h"
#include "transport/client_protocol.h"

namespace client {

class Connection {
 public:
  Connection(zmq::context_t& ctx, raft::NodeId node_id, std::string endpoint);

  raft::NodeId node_id() const { return node_id_; }
  const std::string& endpoint() const { return endpoint_; }
  // Reconnects the socket to another endpoint (a NotLeader hint may name a new address);
  // outstanding requests are forgotten.
  void reset(std::string endpoint);

  // Assigns a request_id, sends without blocking, and returns the id; 0 if the message
  // could not be queued (high-water mark reached).
  uint64_t send(transport::ClientRequest req);
  // Forgets an outstanding request: a late reply to it will be dropped.
  void forget(uint64_t request_id) { outstanding_.erase(request_id); }
  size_t outstanding() const { return outstanding_.size(); }

  // Moves every reply already waiting (matching an outstanding request) into `out`, without
  // blocking. Undecodable frames are dropped.
  void receive_all(std::vector<transport::ClientReply>& out);
  zmq::socket_t& socket() { return socket_; }

 private:
  void open();

  zmq::context_t& ctx_;
  raft::NodeId node_id_;
  std::string endpoint_;
  zmq::socket_t socket_;
  uint64_t next_request_id_ = 1;
  std::unordered_set<uint64_t> outstanding_;
};

}  // namespace client
