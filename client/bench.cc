#include "client/bench.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <random>
#include <thread>
#include <unordered_map>

#include "client/connection.h"

namespace client {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

uint64_t random_id(std::mt19937_64& rng) {
  uint64_t id = 0;
  while (id == 0) id = rng();
  return id;
}

std::string key_name(uint64_t n) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "k%08llu", static_cast<unsigned long long>(n));
  return buf;
}

double ms(uint64_t nanos) { return static_cast<double>(nanos) / 1e6; }

// One virtual closed-loop client.
struct VirtualClient {
  uint64_t client_id = 0;
  uint64_t next_seq = 1;
  std::mt19937_64 rng;
  transport::ClientRequest request;  // the request outstanding (kept to resend it)
  bool is_write = false;
  bool pending = false;              // a request is outstanding or waiting for a retry
  Clock::time_point started;         // first send of the current request
  Clock::time_point sent;            // last (re)send
  struct ConnSlot* slot = nullptr;   // where it waits (null: waiting for a retry)
  uint64_t request_id = 0;
};

// A Connection and the clients waiting on it, by request_id.
struct ConnSlot {
  std::unique_ptr<Connection> conn;
  std::unordered_map<uint64_t, size_t> waiting;
};

class Runner {
 public:
  Runner(zmq::context_t& ctx, const std::vector<Member>& members, const BenchOptions& o)
      : ctx_(ctx), options_(o), value_(o.value_size, 'v') {
    for (const auto& m : members) endpoints_[m.id] = m.client;
    for (const auto& m : members) member_ids_.push_back(m.id);
    Options copts;
    copts.members = members;
    status_client_ = std::make_unique<Client>(ctx_, copts);
  }

  BenchResult run() {
    const bool needs_leader = options_.read_ratio < 1.0 || !options_.serializable;
    const auto start = Clock::now();
    if (needs_leader) {
      leader_ = discover_leader(start + std::max<milliseconds>(options_.request_timeout, milliseconds(3000)));
      if (leader_ == raft::kNone) {
        result_.error = "no member named a leader";
        return std::move(result_);
      }
    }
    std::random_device rd;
    std::mt19937_64 seeder((static_cast<uint64_t>(rd()) << 32) ^ rd());
    clients_.resize(std::max<size_t>(1, options_.clients));
    for (auto& c : clients_) {
      c.client_id = random_id(seeder);
      c.rng.seed(seeder());
    }
    const auto t0 = Clock::now();
    window_start_ = t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(options_.warmup_s));
    window_end_ = window_start_ + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(options_.duration_s));
    next_progress_ = t0 + std::chrono::seconds(1);
    for (size_t i = 0; i < clients_.size(); ++i) issue(i, t0);
    loop();
    result_.elapsed_s = std::chrono::duration<double>(window_end_ - window_start_).count();
    result_.leader = leader_;
    return std::move(result_);
  }

 private:
  raft::NodeId discover_leader(Clock::time_point until) {
    while (true) {
      auto rows = status_client_->status_all(milliseconds(500));
      for (const auto& r : rows)
        if (r.reachable && r.status.role == "leader") return r.member.id;
      for (const auto& r : rows)
        if (r.reachable && r.status.leader != raft::kNone && endpoints_.count(r.status.leader)) return r.status.leader;
      if (Clock::now() >= until) return raft::kNone;
      std::this_thread::sleep_for(milliseconds(20));
    }
  }

  ConnSlot& slot_for(raft::NodeId node, size_t client_index) {
    auto& slots = slots_[node];
    if (slots.empty()) {
      slots.resize(std::max<size_t>(1, options_.connections));
      for (auto& s : slots) s.conn = std::make_unique<Connection>(ctx_, node, endpoints_.at(node));
      poll_dirty_ = true;
    }
    return slots[client_index % slots.size()];
  }

  // Builds client i's next request and sends it.
  void issue(size_t i, Clock::time_point now) {
    auto& c = clients_[i];
    transport::ClientRequest req;
    const bool read = options_.read_ratio > 0 &&
                      std::uniform_real_distribution<double>(0.0, 1.0)(c.rng) < options_.read_ratio;
    if (read) {
      req.kind = transport::RequestKind::Get;
      req.key = key_name(c.rng() % std::max<uint64_t>(1, options_.keys));
      req.serializable = options_.serializable;
    } else {
      req.kind = transport::RequestKind::Put;
      req.key = key_name(next_put_key_++ % std::max<uint64_t>(1, options_.keys));
      req.value = value_;
      req.client_id = c.client_id;
      req.seq = c.next_seq++;
    }
    c.request = std::move(req);
    c.is_write = !read;
    c.started = now;
    c.pending = true;
    send(i, now);
  }

  raft::NodeId target_of(size_t i) const {
    const auto& c = clients_[i];
    if (!c.is_write && c.request.serializable) return member_ids_[i % member_ids_.size()];
    return leader_;
  }

  // (Re)sends client i's outstanding request; on a full queue or no leader, retries later.
  void send(size_t i, Clock::time_point now) {
    auto& c = clients_[i];
    const raft::NodeId target = target_of(i);
    if (target == raft::kNone || !endpoints_.count(target)) {
      retry_later(i, now + milliseconds(10));
      need_leader_ = true;
      return;
    }
    ConnSlot& slot = slot_for(target, i / std::max<size_t>(1, member_ids_.size()));
    const uint64_t rid = slot.conn->send(c.request);
    if (rid == 0) {
      retry_later(i, now + milliseconds(1));
      return;
    }
    slot.waiting.emplace(rid, i);
    c.slot = &slot;
    c.request_id = rid;
    c.sent = now;
  }

  void retry_later(size_t i, Clock::time_point when) {
    clients_[i].slot = nullptr;
    retries_.emplace(when, i);
  }

  void detach(size_t i) {
    auto& c = clients_[i];
    if (c.slot) {
      c.slot->waiting.erase(c.request_id);
      c.slot->conn->forget(c.request_id);
      c.slot = nullptr;
    }
  }

  bool counting(Clock::time_point now) const { return now >= window_start_ && now < window_end_; }
  bool after_warmup(Clock::time_point now) const { return now >= window_start_; }

  void finish(size_t i, Clock::time_point now, bool answered) {
    auto& c = clients_[i];
    c.pending = false;
    if (answered) {
      const uint64_t nanos = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(now - c.started).count());
      interval_.record(nanos);  // the progress line shows the warm-up too
      if (counting(now)) {
        OpStats& s = c.is_write ? result_.puts : result_.gets;
        ++s.ok;
        s.latency.record(nanos);
        result_.all.record(nanos);
      }
    }
    if (now < window_end_) issue(i, now);
  }

  void on_reply(size_t i, const transport::ClientReply& r, Clock::time_point now) {
    auto& c = clients_[i];
    c.slot = nullptr;
    switch (r.code) {
      case transport::ReplyCode::Ok:
      case transport::ReplyCode::NotFound:
      case transport::ReplyCode::CasFailed:
        finish(i, now, true);
        return;
      case transport::ReplyCode::NotLeader:
        if (after_warmup(now)) ++result_.redirects;
        if (r.leader_id != raft::kNone) {
          if (!endpoints_.count(r.leader_id) && !r.leader_client.empty()) {
            endpoints_[r.leader_id] = r.leader_client;
            member_ids_.push_back(r.leader_id);
          }
          if (endpoints_.count(r.leader_id) && r.leader_id != target_of(i)) {
            leader_ = r.leader_id;
            send(i, now);
            return;
          }
        }
        need_leader_ = true;
        retry_later(i, now + milliseconds(10));
        return;
      case transport::ReplyCode::Busy:
        if (after_warmup(now)) ++result_.busy;
        retry_later(i, now + milliseconds(5));
        return;
      case transport::ReplyCode::Unknown:
        if (after_warmup(now)) ++(c.is_write ? result_.unknown : result_.errors);
        need_leader_ = true;
        finish(i, now, false);
        return;
      case transport::ReplyCode::Rejected:
        if (after_warmup(now)) ++result_.errors;
        finish(i, now, false);
        return;
    }
  }

  void expire(Clock::time_point now) {
    for (size_t i = 0; i < clients_.size(); ++i) {
      auto& c = clients_[i];
      if (!c.pending || !c.slot || now - c.sent < options_.request_timeout) continue;
      detach(i);
      if (after_warmup(now)) ++(c.is_write ? result_.unknown : result_.errors);
      need_leader_ = true;
      finish(i, now, false);
    }
  }

  void report_progress(Clock::time_point now) {
    if (!options_.progress) return;
    const double t = std::chrono::duration<double>(now - window_start_).count();
    char line[256];
    std::snprintf(line, sizeof line,
                  "bench: %s %5.1fs  %8.0f ops/s  p50 %.2f ms  p99 %.2f ms  max %.2f ms  errors %llu  unknown %llu",
                  t < 0 ? "warm-up" : "t=", t < 0 ? -t : t, static_cast<double>(interval_.count()),
                  ms(interval_.percentile(50)), ms(interval_.percentile(99)), ms(interval_.max()),
                  static_cast<unsigned long long>(result_.errors), static_cast<unsigned long long>(result_.unknown));
    options_.progress(line);
    interval_.clear();
  }

  void loop() {
    std::vector<zmq::pollitem_t> items;
    std::vector<ConnSlot*> item_slots;
    std::vector<transport::ClientReply> replies;
    auto next_expire = Clock::now() + milliseconds(50);
    while (true) {
      auto now = Clock::now();
      if (now >= window_end_) break;
      if (need_leader_ && (options_.read_ratio < 1.0 || !options_.serializable)) {
        need_leader_ = false;
        const raft::NodeId found = discover_leader(std::min(window_end_, now + milliseconds(500)));
        if (found != raft::kNone) leader_ = found;
        else need_leader_ = true;
        now = Clock::now();
      }
      if (poll_dirty_) {
        items.clear();
        item_slots.clear();
        for (auto& [node, slots] : slots_)
          for (auto& s : slots) {
            items.push_back({s.conn->socket().handle(), 0, ZMQ_POLLIN, 0});
            item_slots.push_back(&s);
          }
        poll_dirty_ = false;
      }
      auto wake = std::min({window_end_, next_progress_, next_expire});
      if (!retries_.empty()) wake = std::min(wake, retries_.begin()->first);
      const auto wait = std::max<milliseconds>(milliseconds(0), std::chrono::duration_cast<milliseconds>(wake - now));
      if (!items.empty()) zmq::poll(items.data(), items.size(), wait);
      else std::this_thread::sleep_for(wait);
      now = Clock::now();
      for (size_t k = 0; k < items.size(); ++k) {
        if (!(items[k].revents & ZMQ_POLLIN)) continue;
        ConnSlot* slot = item_slots[k];
        replies.clear();
        slot->conn->receive_all(replies);
        for (const auto& r : replies) {
          auto it = slot->waiting.find(r.request_id);
          if (it == slot->waiting.end()) continue;
          const size_t i = it->second;
          slot->waiting.erase(it);
          on_reply(i, r, now);
        }
      }
      while (!retries_.empty() && retries_.begin()->first <= now) {
        const size_t i = retries_.begin()->second;
        retries_.erase(retries_.begin());
        if (clients_[i].pending && now < window_end_) send(i, now);
      }
      if (now >= next_expire) {
        expire(now);
        next_expire = now + milliseconds(50);
      }
      if (now >= next_progress_) {
        report_progress(now);
        next_progress_ += std::chrono::seconds(1);
        if (next_progress_ <= now) next_progress_ = now + std::chrono::seconds(1);
      }
    }
  }

  zmq::context_t& ctx_;
  BenchOptions options_;
  std::string value_;
  std::map<raft::NodeId, std::string> endpoints_;
  std::vector<raft::NodeId> member_ids_;
  std::unique_ptr<Client> status_client_;
  raft::NodeId leader_ = raft::kNone;
  bool need_leader_ = false;
  std::vector<VirtualClient> clients_;
  // Stable addresses: clients point at their slot; a node's vector is sized once.
  std::map<raft::NodeId, std::vector<ConnSlot>> slots_;
  bool poll_dirty_ = true;
  std::multimap<Clock::time_point, size_t> retries_;
  uint64_t next_put_key_ = 0;
  Clock::time_point window_start_, window_end_, next_progress_;
  LatencyHistogram interval_;
  BenchResult result_;
};

}  // namespace

BenchResult run_bench(zmq::context_t& ctx, const std::vector<Member>& members, const BenchOptions& options) {
  if (members.empty()) {
    BenchResult r;
    r.error = "no members to ask";
    return r;
  }
  Runner runner(ctx, members, options);
  return runner.run();
}

double probe_first_write(zmq::context_t& ctx, const std::vector<Member>& members, Clock::time_point since,
                         Clock::time_point deadline, milliseconds try_timeout) {
  Options o;
  o.members = members;
  o.timeout = try_timeout;
  o.attempt_timeout = try_timeout;
  Client c(ctx, o);
  while (Clock::now() < deadline) {
    const Result r = c.put("bench-failover-probe", "x");
    if (r.outcome == Outcome::Ok) return std::chrono::duration<double, std::milli>(Clock::now() - since).count();
    std::this_thread::sleep_for(milliseconds(5));
  }
  return -1;
}

}  // namespace client
