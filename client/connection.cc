#include "client/connection.h"

#include <mutex>
#include <variant>

namespace client {
namespace {
constexpr int kSendHighWater = 100000;
constexpr int64_t kMaxReplyBytes = 64 << 20;

std::mutex g_curve_mu;
std::shared_ptr<const ClientCurve> g_curve;  // guarded by g_curve_mu
}  // namespace

std::variant<ClientCurve, transport::KeyError> load_client_curve(const std::string& keys_dir, const std::string& name) {
  if (std::string why = transport::check_client_name(name); !why.empty())
    return transport::KeyError{"bad client key name '" + name + "': " + why};
  ClientCurve c;
  c.keys_dir = keys_dir;
  c.key_name = transport::client_key_name(name);
  auto pair = transport::read_key_pair(keys_dir, c.key_name);
  if (auto* e = std::get_if<transport::KeyError>(&pair)) return *e;
  c.own = std::move(std::get<transport::CurveKeyPair>(pair));
  for (auto& [file, key] : transport::scan_public_keys(keys_dir, {"node-"})) {
    const std::string digits = file.substr(5);
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos || digits.size() > 19) continue;
    c.server_keys[std::stoull(digits)] = key;
  }
  return c;
}

void set_client_curve(std::shared_ptr<const ClientCurve> curve) {
  std::lock_guard<std::mutex> lock(g_curve_mu);
  g_curve = std::move(curve);
}

std::shared_ptr<const ClientCurve> client_curve() {
  std::lock_guard<std::mutex> lock(g_curve_mu);
  return g_curve;
}

Connection::Connection(zmq::context_t& ctx, raft::NodeId node_id, std::string endpoint, std::string cluster_id)
    : ctx_(ctx), node_id_(node_id), endpoint_(std::move(endpoint)), cluster_id_(std::move(cluster_id)) {
  open();
}

void Connection::open() {
  socket_ = zmq::socket_t(ctx_, zmq::socket_type::dealer);
  socket_.set(zmq::sockopt::linger, 0);
  socket_.set(zmq::sockopt::sndhwm, kSendHighWater);
  socket_.set(zmq::sockopt::rcvhwm, kSendHighWater);
  socket_.set(zmq::sockopt::maxmsgsize, kMaxReplyBytes);
  problem_.clear();
  if (auto curve = client_curve()) {
    std::string server_key;
    if (auto it = curve->server_keys.find(node_id_); it != curve->server_keys.end()) {
      server_key = it->second;
    } else {
      // A member added after this process loaded the keys: its .pub may be there now.
      auto key = transport::read_public_key(curve->keys_dir, transport::node_key_name(node_id_));
      if (auto* e = std::get_if<transport::KeyError>(&key)) {
        problem_ = "no CURVE public key for node " + std::to_string(node_id_) + ": " + e->message;
        return;
      }
      server_key = std::get<std::string>(key);
    }
    transport::make_curve_client(socket_, curve->own, server_key);
  }
  socket_.connect(endpoint_);
}

void Connection::reset(std::string endpoint) {
  endpoint_ = std::move(endpoint);
  outstanding_.clear();
  open();
}

uint64_t Connection::send(transport::ClientRequest req) {
  if (!problem_.empty()) return 0;
  req.request_id = next_request_id_++;
  if (req.cluster_id.empty()) req.cluster_id = cluster_id_;
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
