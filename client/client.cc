#include "client/client.h"

#include <algorithm>
#include <random>
#include <thread>

namespace client {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

uint64_t random_client_id() {
  std::random_device rd;
  uint64_t id = 0;
  while (id == 0) id = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  return id;
}

// Waits for the reply to `request_id` on `conn` until `until`. Other replies are dropped
// (they answer attempts already given up on).
std::optional<transport::ClientReply> await_reply(Connection& conn, uint64_t request_id,
                                                  Clock::time_point until) {
  std::vector<transport::ClientReply> replies;
  while (true) {
    replies.clear();
    conn.receive_all(replies);
    for (auto& r : replies)
      if (r.request_id == request_id) return std::move(r);
    const auto now = Clock::now();
    if (now >= until) return std::nullopt;
    zmq::pollitem_t item{conn.socket().handle(), 0, ZMQ_POLLIN, 0};
    const auto wait = std::chrono::duration_cast<milliseconds>(until - now) + milliseconds(1);
    zmq::poll(&item, 1, wait);
  }
}

// With CURVE, a node that refuses this client's key looks exactly like a dead node (no
// handshake, no reply): say which key was used, so that a wrong key is easy to spot.
std::string curve_hint() {
  auto curve = client_curve();
  if (!curve) return "";
  return " (CURVE on: key " + curve->key_name + " " + transport::fingerprint(curve->own.public_key) +
         "... must be in the node's keys_dir)";
}

void sleep_until_at_most(Clock::time_point deadline, milliseconds d) {
  const auto until = std::min(deadline, Clock::now() + d);
  std::this_thread::sleep_until(until);
}

}  // namespace

int exit_code(Outcome o) {
  switch (o) {
    case Outcome::Ok: return 0;
    case Outcome::NotFound:
    case Outcome::CasFailed: return 1;
    case Outcome::Unknown:
    case Outcome::Unavailable: return 3;
    case Outcome::Rejected: return 4;
  }
  return 3;
}

const char* to_string(Outcome o) {
  switch (o) {
    case Outcome::Ok: return "ok";
    case Outcome::NotFound: return "not_found";
    case Outcome::CasFailed: return "cas_fail";
    case Outcome::Unknown: return "unknown";
    case Outcome::Unavailable: return "unavailable";
    case Outcome::Rejected: return "rejected";
  }
  return "?";
}

Client::Client(zmq::context_t& ctx, Options options)
    : ctx_(ctx), options_(std::move(options)), client_id_(random_client_id()) {
  for (const auto& m : options_.members) endpoints_[m.id] = m.client;
}

Connection& Client::connection(raft::NodeId id) {
  auto& slot = connections_[id];
  if (!slot) slot = std::make_unique<Connection>(ctx_, id, endpoints_.at(id), options_.cluster_id);
  else if (slot->endpoint() != endpoints_.at(id)) slot->reset(endpoints_.at(id));
  return *slot;
}

raft::NodeId Client::pick_target(size_t& round_robin) {
  if (options_.only_node != raft::kNone) return options_.only_node;
  if (leader_hint_ != raft::kNone && endpoints_.count(leader_hint_)) return leader_hint_;
  auto it = endpoints_.begin();
  std::advance(it, round_robin++ % endpoints_.size());
  return it->first;
}

std::string oversized_request(const transport::ClientRequest& req, const Options& options) {
  auto too_large = [](const char* what, size_t n, uint64_t limit) {
    return std::string(what) + " too large: " + std::to_string(n) + " bytes, limit " + std::to_string(limit);
  };
  if (req.key.size() > options.max_key_bytes) return too_large("key", req.key.size(), options.max_key_bytes);
  if (req.value.size() > options.max_value_bytes) return too_large("value", req.value.size(), options.max_value_bytes);
  if (req.expected.size() > options.max_value_bytes)
    return too_large("expected value", req.expected.size(), options.max_value_bytes);
  // Limits from a hand-made Options may still let a frame outgrow what a node accepts.
  const uint64_t payload = req.key.size() + req.value.size() + req.expected.size() + req.cluster_id.size();
  if (payload + config::kClientRequestOverheadBytes > config::kMaxClientRequestBytes) {
    const size_t frame = transport::encode_request(req).size();
    if (frame > config::kMaxClientRequestBytes)
      return too_large("request", frame, config::kMaxClientRequestBytes) + " (the client frame limit)";
  }
  return "";
}

Result Client::execute(transport::ClientRequest req, bool is_write) {
  if (auto why = oversized_request(req, options_); !why.empty()) return {Outcome::Rejected, {}, false, why, 0};
  const auto deadline = Clock::now() + options_.timeout;
  if (options_.only_node != raft::kNone && !endpoints_.count(options_.only_node))
    return {Outcome::Rejected, {}, false, "node " + std::to_string(options_.only_node) + " is not in the cluster file", 0};
  if (endpoints_.empty()) return {Outcome::Unavailable, {}, false, "no members to ask", 0};
  milliseconds backoff(20);
  const milliseconds max_backoff(500);
  auto back_off = [&] {
    sleep_until_at_most(deadline, backoff);
    backoff = std::min(max_backoff, backoff * 2);
  };
  if (leader_hint_ == raft::kNone && options_.only_node == raft::kNone && !req.serializable && endpoints_.size() > 1)
    leader_hint_ = discover_leader(std::min(deadline, Clock::now() + options_.attempt_timeout));
  size_t round_robin = 0;
  bool sent = false;
  std::string last_error = "no member answered";
  while (Clock::now() < deadline) {
    const raft::NodeId target = pick_target(round_robin);
    Connection& conn = connection(target);
    const uint64_t rid = conn.send(req);
    if (rid == 0) {
      last_error = conn.problem().empty() ? "could not queue a request to node " + std::to_string(target) +
                                                " (its queue is full, or it refuses this connection)" + curve_hint()
                                          : conn.problem();
      leader_hint_ = raft::kNone;
      back_off();
      continue;
    }
    sent = true;
    const auto attempt_deadline = options_.only_node != raft::kNone
                                      ? deadline
                                      : std::min(deadline, Clock::now() + options_.attempt_timeout);
    auto reply = await_reply(conn, rid, attempt_deadline);
    if (!reply) {
      conn.forget(rid);
      last_error = "node " + std::to_string(target) + " did not answer in time" + curve_hint();
      leader_hint_ = raft::kNone;
      continue;
    }
    Result res;
    res.served_by = target;
    res.value = std::move(reply->value);
    res.value_present = reply->value_present;
    const bool answered = reply->code == transport::ReplyCode::Ok || reply->code == transport::ReplyCode::NotFound ||
                          reply->code == transport::ReplyCode::CasFailed;
    // Only the leader answers writes and linearizable reads: remember it for the next call.
    if (answered && !req.serializable) leader_hint_ = target;
    switch (reply->code) {
      case transport::ReplyCode::Ok:
        res.outcome = Outcome::Ok;
        return res;
      case transport::ReplyCode::NotFound:
        res.outcome = Outcome::NotFound;
        return res;
      case transport::ReplyCode::CasFailed:
        res.outcome = Outcome::CasFailed;
        return res;
      case transport::ReplyCode::Rejected:
        res.outcome = Outcome::Rejected;
        res.error = reply->error.empty() ? "rejected" : reply->error;
        return res;
      case transport::ReplyCode::NotLeader: {
        const std::string where = reply->leader_id == raft::kNone
                                      ? std::string("no leader is known")
                                      : "the leader is node " + std::to_string(reply->leader_id);
        // A node that cannot serve for a reason of its own (its disk is full, ...) says why.
        const std::string why = reply->error.empty()
                                    ? "node " + std::to_string(target) + " is not the leader (" + where + ")"
                                    : reply->error + " (" + where + ")";
        if (options_.only_node != raft::kNone) {
          res.outcome = Outcome::Rejected;
          res.error = why;
          return res;
        }
        last_error = why;
        if (reply->leader_id != raft::kNone && reply->leader_id != target) {
          // A leader that is not in our file (added later) is reachable through the hint.
          if (!reply->leader_client.empty()) endpoints_[reply->leader_id] = reply->leader_client;
          if (endpoints_.count(reply->leader_id)) {
            leader_hint_ = reply->leader_id;
            continue;
          }
        }
        leader_hint_ = raft::kNone;
        back_off();
        continue;
      }
      case transport::ReplyCode::Busy:
      case transport::ReplyCode::Unknown:
        // Safe to retry: a write keeps its (client_id, seq), so it applies at most once.
        last_error = reply->error.empty() ? "node " + std::to_string(target) + " could not tell" : reply->error;
        if (reply->code == transport::ReplyCode::Unknown) leader_hint_ = raft::kNone;
        back_off();
        continue;
    }
  }
  Result res;
  res.outcome = is_write && sent ? Outcome::Unknown : Outcome::Unavailable;
  res.error = "timed out after " + std::to_string(options_.timeout.count()) + " ms: " + last_error;
  return res;
}

raft::NodeId Client::discover_leader(Clock::time_point until) {
  std::vector<std::pair<raft::NodeId, uint64_t>> asked;
  for (const auto& [id, endpoint] : endpoints_) {
    transport::ClientRequest req;
    req.kind = transport::RequestKind::Status;
    if (const uint64_t rid = connection(id).send(req)) asked.emplace_back(id, rid);
  }
  raft::NodeId found = raft::kNone;
  std::vector<transport::ClientReply> replies;
  while (found == raft::kNone && Clock::now() < until) {
    std::vector<zmq::pollitem_t> items;
    for (auto& [id, rid] : asked) items.push_back({connection(id).socket().handle(), 0, ZMQ_POLLIN, 0});
    zmq::poll(items, std::chrono::duration_cast<milliseconds>(until - Clock::now()) + milliseconds(1));
    for (auto& [id, rid] : asked) {
      replies.clear();
      connection(id).receive_all(replies);
      for (const auto& r : replies) {
        if (r.request_id != rid) continue;
        rid = 0;
        const raft::NodeId leader = r.status.leader;
        if (leader != raft::kNone && endpoints_.count(leader)) found = leader;
      }
    }
    if (std::all_of(asked.begin(), asked.end(), [](const auto& a) { return a.second == 0; })) break;
  }
  for (auto& [id, rid] : asked)
    if (rid != 0) connection(id).forget(rid);
  return found;
}

Result Client::put(const std::string& key, const std::string& value) {
  transport::ClientRequest req;
  req.kind = transport::RequestKind::Put;
  req.client_id = client_id_;
  req.seq = next_seq_++;
  req.key = key;
  req.value = value;
  return execute(std::move(req), true);
}

Result Client::del(const std::string& key) {
  transport::ClientRequest req;
  req.kind = transport::RequestKind::Del;
  req.client_id = client_id_;
  req.seq = next_seq_++;
  req.key = key;
  return execute(std::move(req), true);
}

Result Client::cas(const std::string& key, const std::string& expected, bool expected_absent,
                   const std::string& value) {
  transport::ClientRequest req;
  req.kind = transport::RequestKind::Cas;
  req.client_id = client_id_;
  req.seq = next_seq_++;
  req.key = key;
  req.expected = expected;
  req.expected_absent = expected_absent;
  req.value = value;
  return execute(std::move(req), true);
}

Result Client::get(const std::string& key, bool serializable) {
  transport::ClientRequest req;
  req.kind = transport::RequestKind::Get;
  req.key = key;
  req.serializable = serializable;
  if (serializable && options_.only_node == raft::kNone) {
    // Any member may answer a serializable read: do not insist on the leader.
    const auto saved = leader_hint_;
    auto res = execute(std::move(req), false);
    if (leader_hint_ == raft::kNone) leader_hint_ = saved;
    return res;
  }
  return execute(std::move(req), false);
}

Result Client::transfer_leader(raft::NodeId target) {
  transport::ClientRequest req;
  req.kind = transport::RequestKind::TransferLeader;
  req.target = target;
  // Idempotent: a retry after Unknown asks again (and succeeds at once if target leads).
  return execute(std::move(req), false);
}

std::vector<Client::MemberStatus> Client::status_all(milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  std::vector<MemberStatus> out;
  std::vector<uint64_t> rids;
  for (const auto& [id, endpoint] : endpoints_) {
    if (options_.only_node != raft::kNone && id != options_.only_node) continue;
    MemberStatus ms;
    ms.member = {id, endpoint};
    transport::ClientRequest req;
    req.kind = transport::RequestKind::Status;
    const uint64_t rid = connection(id).send(req);
    if (rid == 0) ms.error = connection(id).problem().empty() ? "request queue full" : connection(id).problem();
    out.push_back(std::move(ms));
    rids.push_back(rid);
  }
  size_t pending = std::count_if(rids.begin(), rids.end(), [](uint64_t r) { return r != 0; });
  std::vector<transport::ClientReply> replies;
  while (pending > 0) {
    std::vector<zmq::pollitem_t> items;
    for (auto& ms : out) items.push_back({connection(ms.member.id).socket().handle(), 0, ZMQ_POLLIN, 0});
    const auto now = Clock::now();
    if (now >= deadline) break;
    zmq::poll(items, std::chrono::duration_cast<milliseconds>(deadline - now) + milliseconds(1));
    for (size_t i = 0; i < out.size(); ++i) {
      if (rids[i] == 0 || out[i].reachable) continue;
      replies.clear();
      connection(out[i].member.id).receive_all(replies);
      for (auto& r : replies) {
        if (r.request_id != rids[i]) continue;
        out[i].reachable = true;
        out[i].status = std::move(r.status);
        --pending;
      }
    }
  }
  for (size_t i = 0; i < out.size(); ++i) {
    if (!out[i].reachable) {
      if (rids[i] != 0) connection(out[i].member.id).forget(rids[i]);
      if (out[i].error.empty())
        out[i].error = "no answer within " + std::to_string(timeout.count()) + " ms" + curve_hint();
    }
  }
  return out;
}

}  // namespace client
