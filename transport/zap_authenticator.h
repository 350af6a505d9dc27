// ZapAuthenticator: the ZeroMQ authentication handler (ZAP, RFC 27) of one zmq context.
//
// libzmq asks "inproc://zeromq.zap.01" whether to admit each client that completes a CURVE
// handshake with one of the context's CURVE server sockets; WITHOUT a handler there it
// admits every client key. So a CURVE server socket must never exist in a context whose
// handler is not running: for_context() binds the handler before it returns, and every
// server socket holds a shared_ptr to it (declared before the socket, so the handler outlives
// it).
//
// Each server socket registers a policy and puts the returned domain in ZMQ_ZAP_DOMAIN; the
// peer ROUTER and the client ROUTER thus get different policies in one context. A policy
// admits the public keys of <keys_dir>/<prefix>*.pub for its prefixes (peer socket: "node-",
// client socket: "node-" and "client-"). Each handshake is checked against keys_dir as it is
// now, rescanned at most once per kRescanInterval: a member added later is admitted once its
// .pub is copied there, and a key whose .pub is deleted is refused from its next handshake,
// without a restart (connections already open stay open: ZAP is only asked at handshakes).
// A refused handshake fails, and a line with the address and a short fingerprint of the key
// (never more) is logged, at most one per kLogInterval per policy with a count of the others.
// A request for an unknown domain is refused.
//
// Why a thread rather than the node loop: libzmq's I/O thread waits for the ZAP reply in the
// middle of a handshake; a thread answers in microseconds whatever the node loop is doing
// (an fsync, a snapshot) and needs no change to that loop. Its shared state is the policy
// table, guarded by mu_; the ZAP socket itself is used by the handler thread only.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <zmq.hpp>

namespace transport {

class ZapAuthenticator {
 public:
  static constexpr std::chrono::milliseconds kRescanInterval{1000};
  static constexpr std::chrono::milliseconds kLogInterval{10000};

  // The handler of `ctx`, started (and bound) on first use. Throws std::runtime_error if the
  // ZAP endpoint is taken by another handler not made here.
  static std::shared_ptr<ZapAuthenticator> for_context(zmq::context_t& ctx);

  ~ZapAuthenticator();
  ZapAuthenticator(const ZapAuthenticator&) = delete;
  ZapAuthenticator& operator=(const ZapAuthenticator&) = delete;

  // Registers a policy; returns the ZAP domain to set on the server socket. `label` names it
  // in logs ("peer", "client").
  std::string add_policy(const std::string& label, const std::string& keys_dir, std::vector<std::string> prefixes);
  void remove_policy(const std::string& domain);

  struct Counts {
    uint64_t admitted = 0, refused = 0;
  };
  Counts counts() const;

 private:
  struct Policy {
    std::string label;
    std::string keys_dir;
    std::vector<std::string> prefixes;
    std::map<std::string, std::string> names_by_key;  // Z85 public key -> key file base name
    std::chrono::steady_clock::time_point last_scan{};
    std::chrono::steady_clock::time_point last_log{};
    uint64_t unlogged_refusals = 0;
  };

  explicit ZapAuthenticator(zmq::context_t& ctx);
  void run(zmq::socket_t& zap);
  // Handles one request (frames after the REP envelope); returns the reply frames.
  std::vector<std::string> answer(const std::vector<zmq::message_t>& request);
  static void rescan(Policy& p, bool log_problems);

  zmq::context_t& ctx_;
  int stop_pipe_[2] = {-1, -1};
  std::thread thread_;

  mutable std::mutex mu_;
  // Guarded by mu_
  std::map<std::string, Policy> policies_;  // by domain
  uint64_t next_policy_ = 1;
  Counts counts_;
};

}  // namespace transport
