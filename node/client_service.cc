#include "node/client_service.h"

#include <stdexcept>
#include <variant>

#include "transport/client_codec.h"

namespace node {
namespace {
constexpr int kHighWater = 100000;
constexpr int64_t kMaxRequestBytes = 16 << 20;
}  // namespace

ClientService::ClientService(zmq::context_t& ctx, const std::string& endpoint)
    : socket_(ctx, zmq::socket_type::router) {
  socket_.set(zmq::sockopt::linger, 0);
  socket_.set(zmq::sockopt::sndhwm, kHighWater);
  socket_.set(zmq::sockopt::rcvhwm, kHighWater);
  socket_.set(zmq::sockopt::maxmsgsize, kMaxRequestBytes);
  try {
    socket_.bind(endpoint);
  } catch (const zmq::error_t& e) {
    throw std::runtime_error("cannot bind the client socket at " + endpoint + ": " + e.what());
  }
}

void ClientService::receive_all(std::vector<IncomingRequest>& out) {
  while (true) {
    std::vector<zmq::message_t> frames;
    while (true) {
      zmq::message_t m;
      zmq::recv_result_t got;
      try {
        got = socket_.recv(m, zmq::recv_flags::dontwait);
      } catch (const zmq::error_t&) {
        return;
      }
      if (!got) {
        if (frames.empty()) return;
        break;  // cannot happen mid-message (ZeroMQ delivers messages atomically)
      }
      const bool more = m.more();
      frames.push_back(std::move(m));
      if (!more) break;
    }
    if (frames.size() != 2) {
      ++stats_.dropped_decode;
      continue;
    }
    auto decoded = transport::decode_request(
        std::string_view(static_cast<const char*>(frames[1].data()), frames[1].size()));
    if (!std::holds_alternative<transport::ClientRequest>(decoded)) {
      ++stats_.dropped_decode;
      continue;
    }
    ++stats_.received;
    out.push_back({frames[0].to_string(), std::move(std::get<transport::ClientRequest>(decoded))});
  }
}

void ClientService::reply(const std::string& peer, const transport::ClientReply& reply) {
  const std::string bytes = transport::encode_reply(reply);
  try {
    if (!socket_.send(zmq::buffer(peer), zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
      ++stats_.dropped_reply;
      return;
    }
    (void)socket_.send(zmq::buffer(bytes), zmq::send_flags::dontwait);
    ++stats_.replied;
  } catch (const zmq::error_t&) {
    ++stats_.dropped_reply;
  }
}

}  // namespace node
