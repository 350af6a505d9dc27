#include "client/connection.h"

#include <variant>

namespace client {
namespace {
constexpr int kSendHighWater = 100000;
constexpr int64_t kMaxReplyBytes = 64 << 20;
}  // namespace

Connection::Connection(zmq::context_t& ctx, raft::NodeId node_id, std::string endpoint)
    : ctx_(ctx), node_id_(node_id), endpoint_(std::move(endpoint)) {
  open();
}

void Connection::open() {
  socket_ = zmq::socket_t(ctx_, zmq::socket_type::dealer);
  socket_.set(zmq::sockopt::linger, 0);
  socket_.set(zmq::sockopt::sndhwm, kSendHighWater);
  socket_.set(zmq::sockopt::rcvhwm, kSendHighWater);
  socket_.set(zmq::sockopt::maxmsgsize, kMaxReplyBytes);
  socket_.connect(endpoint_);
}

void Connection::reset(std::string endpoint) {
  endpoint_ = std::move(endpoint);
  outstanding_.clear();
  open();
}

uint64_t Connection::send(transport::ClientRequest req) {
  req.request_id = next_request_id_++;
  const std::string bytes = transport::encode_request(req);
  try {
    auto sent = socket_.send(zmq::buffer(bytes), zmq::send_flags::dontwait);
    if (!sent) return 0;
  } catch (const zmq::error_t&) {
    return 0;
  }
  outstanding_.insert(req.request_id);
  return req.request_id;
}

void Connection::receive_all(std::vector<transport::ClientReply>& out) {
  while (true) {
    zmq::message_t msg;
    zmq::recv_result_t got;
    try {
      got = socket_.recv(msg, zmq::recv_flags::dontwait);
    } catch (const zmq::error_t&) {
      return;
    }
    if (!got) return;
    // A DEALER reply is one frame; anything else is not ours.
    if (msg.more()) {
      while (msg.more()) {
        zmq::message_t rest;
        if (!socket_.recv(rest, zmq::recv_flags::dontwait)) return;
        msg = std::move(rest);
      }
      continue;
    }
    auto decoded = transport::decode_reply(std::string_view(static_cast<const char*>(msg.data()), msg.size()));
    if (!std::holds_alternative<transport::ClientReply>(decoded)) continue;
    auto& reply = std::get<transport::ClientReply>(decoded);
    if (outstanding_.erase(reply.request_id) == 0) continue;
    out.push_back(std::move(reply));
  }
}

}  // namespace client
