// BackgroundWriter: a client on its own thread writing <prefix>0, <prefix>1, ... (value v<i>)
// one after the other until stopped, recording which writes were acknowledged and when; and
// the check the tests make afterwards: every acknowledged write is readable. Shared by the
// failover and disk-fault tests, which both prove "no acknowledged write is lost" under load.
#pragma once

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "client/client.h"
#include "tests/integration/cluster_harness.h"

namespace harness {

class BackgroundWriter {
 public:
  using Clock = std::chrono::steady_clock;

  explicit BackgroundWriter(const Cluster& c, std::string prefix = "w")
      : opts_(c.client_options(std::chrono::seconds(3))), prefix_(std::move(prefix)) {
    thread_ = std::thread([this] { loop(); });
  }
  ~BackgroundWriter() { stop(); }
  BackgroundWriter(const BackgroundWriter&) = delete;
  BackgroundWriter& operator=(const BackgroundWriter&) = delete;

  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  size_t acked() {
    std::lock_guard<std::mutex> lock(mu_);
    return acked_.size();
  }
  std::vector<int> acked_keys() {
    std::lock_guard<std::mutex> lock(mu_);
    return acked_;
  }
  // Outcomes that were not Ok, for the failure message.
  std::string problems() {
    std::lock_guard<std::mutex> lock(mu_);
    return std::to_string(failed_) + " writes not acknowledged, last: " + last_error_;
  }
  std::optional<Clock::time_point> first_ack_after(Clock::time_point t) {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& a : ack_times_)
      if (a > t) return a;
    return std::nullopt;
  }
  const std::string& prefix() const { return prefix_; }

 private:
  void loop() {
    zmq::context_t ctx(1);
    client::Client cl(ctx, opts_);
    for (int i = 0; !stop_; ++i) {
      auto r = cl.put(prefix_ + std::to_string(i), "v" + std::to_string(i));
      std::lock_guard<std::mutex> lock(mu_);
      if (r.outcome == client::Outcome::Ok) {
        acked_.push_back(i);
        ack_times_.push_back(Clock::now());
      } else {
        ++failed_;
        last_error_ = std::string(client::to_string(r.outcome)) + ": " + r.error;
      }
    }
  }

  client::Options opts_;
  std::string prefix_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::vector<int> acked_;
  std::vector<Clock::time_point> ack_times_;
  size_t failed_ = 0;
  std::string last_error_;
  std::thread thread_;
};

// Every key the writer had acknowledged reads back its value (linearizable reads).
inline void require_acked_readable(Cluster& c, const std::string& prefix, const std::vector<int>& acked) {
  client::Client cl(c.zmq_context(), c.client_options(std::chrono::seconds(10)));
  for (int i : acked) {
    auto r = cl.get(prefix + std::to_string(i), false);
    CAPTURE(i, r.error);
    REQUIRE(r.outcome == client::Outcome::Ok);
    REQUIRE(r.value == "v" + std::to_string(i));
  }
}

}  // namespace harness
