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
    : ClientService(ctx, endpoint, raft::kNone, transport::CurveSettings{}) {}

ClientService::ClientService(zmq::context_t& ctx, const std::string& endpoint, raft::NodeId self,
                             const transport::CurveSettings& curve)
    : socket_(ctx, zmq::socket_type::router) {
  if (curve.enabled) {
    auto keys = transport::read_key_pair(curve.keys_dir, transport::node_key_name(self));
    if (auto* e = std::get_if<transport::KeyError>(&keys)) throw std::runtime_error("CURVE is on but " + e->message);
    // The handler runs before the socket binds: a CURVE server without one admits anybody.
    zap_ = transport::ZapAuthenticator::for_context(ctx);
    zap_domain_ = zap_->add_policy("client", curve.keys_dir, {"client-", "node-"});
    transport::make_curve_server(socket_, std::get<transport::CurveKeyPair>(keys), zap_domain_);
  }
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

ClientService::~ClientService() {
  if (zap_) zap_->remove_policy(zap_domain_);
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
