#include "transport/zap_authenticator.h"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <future>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "transport/curve_keys.h"

namespace transport {
namespace {

using Clock = std::chrono::steady_clock;
constexpr const char* kZapEndpoint = "inproc://zeromq.zap.01";

std::mutex g_registry_mu;
std::map<void*, std::weak_ptr<ZapAuthenticator>> g_registry;  // by context handle

}  // namespace

std::shared_ptr<ZapAuthenticator> ZapAuthenticator::for_context(zmq::context_t& ctx) {
  std::lock_guard<std::mutex> lock(g_registry_mu);
  auto& slot = g_registry[ctx.handle()];
  if (auto existing = slot.lock()) return existing;
  std::shared_ptr<ZapAuthenticator> created(new ZapAuthenticator(ctx));
  slot = created;
  return created;
}

ZapAuthenticator::ZapAuthenticator(zmq::context_t& ctx) : ctx_(ctx) {
  if (::pipe2(stop_pipe_, O_CLOEXEC | O_NONBLOCK) != 0) throw std::runtime_error("ZAP handler: pipe2 failed");
  std::promise<std::string> bound;
  auto bound_future = bound.get_future();
  thread_ = std::thread([this, bound = std::move(bound)]() mutable {
    zmq::socket_t zap(ctx_, zmq::socket_type::rep);
    zap.set(zmq::sockopt::linger, 0);
    // A handler of this context that was just destroyed may still hold the endpoint for a
    // moment (libzmq unbinds asynchronously): retry briefly.
    std::string err;
    const auto give_up = Clock::now() + std::chrono::seconds(2);
    while (true) {
      try {
        zap.bind(kZapEndpoint);
        err.clear();
        break;
      } catch (const zmq::error_t& e) {
        err = std::string("cannot bind the ZAP handler at ") + kZapEndpoint + ": " + e.what();
        if (e.num() != EADDRINUSE || Clock::now() >= give_up) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    }
    bound.set_value(err);
    if (err.empty()) run(zap);
  });
  const std::string err = bound_future.get();
  if (!err.empty()) {
    thread_.join();
    ::close(stop_pipe_[0]);
    ::close(stop_pipe_[1]);
    throw std::runtime_error(err);
  }
}

ZapAuthenticator::~ZapAuthenticator() {
  const char b = 1;
  [[maybe_unused]] ssize_t n = ::write(stop_pipe_[1], &b, 1);
  if (thread_.joinable()) thread_.join();
  ::close(stop_pipe_[0]);
  ::close(stop_pipe_[1]);
}

std::string ZapAuthenticator::add_policy(const std::string& label, const std::string& keys_dir,
                                         std::vector<std::string> prefixes) {
  Policy p;
  p.label = label;
  p.keys_dir = keys_dir;
  p.prefixes = std::move(prefixes);
  rescan(p, true);
  std::lock_guard<std::mutex> lock(mu_);
  const std::string domain = "raftkv-" + label + "-" + std::to_string(next_policy_++);
  policies_[domain] = std::move(p);
  return domain;
}

void ZapAuthenticator::remove_policy(const std::string& domain) {
  std::lock_guard<std::mutex> lock(mu_);
  policies_.erase(domain);
}

ZapAuthenticator::Counts ZapAuthenticator::counts() const {
  std::lock_guard<std::mutex> lock(mu_);
  return counts_;
}

void ZapAuthenticator::rescan(Policy& p, bool log_problems) {
  p.last_scan = Clock::now();
  // A keys_dir that cannot be listed at the moment (moved, being replaced) keeps the keys
  // already known rather than shutting every peer out; deleting a .pub is how a key is revoked.
  std::error_code ec;
  if (!p.names_by_key.empty() && !std::filesystem::is_directory(p.keys_dir, ec)) return;
  std::vector<std::string> problems;
  p.names_by_key.clear();
  for (auto& [name, key] : scan_public_keys(p.keys_dir, p.prefixes, &problems)) p.names_by_key[key] = name;
  // Only at start: a rescan is triggered by unknown clients, who must not make the log grow.
  if (log_problems)
    for (const auto& why : problems) spdlog::warn("{} socket: skipping a public key: {}", p.label, why);
}

void ZapAuthenticator::run(zmq::socket_t& zap) {
  while (true) {
    zmq::pollitem_t items[2] = {{zap.handle(), 0, ZMQ_POLLIN, 0}, {nullptr, stop_pipe_[0], ZMQ_POLLIN, 0}};
    try {
      zmq::poll(items, 2, std::chrono::milliseconds(-1));
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) continue;
      return;  // ETERM: the context is shutting down
    }
    if (items[1].revents & ZMQ_POLLIN) return;
    if (!(items[0].revents & ZMQ_POLLIN)) continue;
    std::vector<zmq::message_t> request;
    try {
      while (true) {
        zmq::message_t m;
        if (!zap.recv(m, zmq::recv_flags::dontwait)) break;
        const bool more = m.more();
        request.push_back(std::move(m));
        if (!more) break;
      }
      if (request.empty()) continue;
      const auto reply = answer(request);
      for (size_t i = 0; i < reply.size(); ++i)
        (void)zap.send(zmq::buffer(reply[i]), i + 1 < reply.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
    } catch (const zmq::error_t&) {
      return;  // ETERM
    }
  }
}

std::vector<std::string> ZapAuthenticator::answer(const std::vector<zmq::message_t>& request) {
  auto frame = [&](size_t i) { return i < request.size() ? request[i].to_string() : std::string(); };
  const std::string version = frame(0), request_id = frame(1), domain = frame(2), address = frame(3),
                    mechanism = frame(5);
  auto reply = [&](const char* code, const std::string& text, const std::string& user) {
    return std::vector<std::string>{"1.0", request_id, code, text, user, ""};
  };
  if (version != "1.0") return reply("500", "unsupported ZAP version", "");
  std::lock_guard<std::mutex> lock(mu_);
  auto it = policies_.find(domain);
  if (it == policies_.end() || mechanism != "CURVE" || request.size() < 7 || request[6].size() != 32) {
    ++counts_.refused;
    return reply("400", "not allowed", "");
  }
  Policy& p = it->second;
  char z85[kZ85KeyChars + 1] = {};
  zmq_z85_encode(z85, static_cast<const uint8_t*>(request[6].data()), 32);
  const std::string key = z85;
  // Known or not, a key is checked against keys_dir as it is now (at most one scan per
  // kRescanInterval): a .pub copied there is admitted, and one deleted is refused, at the next
  // handshake.
  if (Clock::now() - p.last_scan >= kRescanInterval) rescan(p, false);
  auto found = p.names_by_key.find(key);
  if (found != p.names_by_key.end()) {
    ++counts_.admitted;
    return reply("200", "OK", found->second);
  }
  ++counts_.refused;
  const auto now = Clock::now();
  if (p.last_log == Clock::time_point{} || now - p.last_log >= kLogInterval) {
    spdlog::warn("{} socket: refused a CURVE client from {} with unknown public key {}... (not in {}){}", p.label,
                 address, fingerprint(key), p.keys_dir,
                 p.unlogged_refusals ? " (" + std::to_string(p.unlogged_refusals) + " more refused since the last report)"
                                     : std::string());
    p.last_log = now;
    p.unlogged_refusals = 0;
  } else {
    ++p.unlogged_refusals;
  }
  return reply("400", "unknown public key", "");
}

}  // namespace transport
