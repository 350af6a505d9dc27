// Client: the blocking client library behind raftctl. It finds the leader, follows
// NotLeader hints, retries with backoff until its deadline, and maps every outcome to one
// of the answers of the README's client contract (and to raftctl's exit codes).
//
// Retry safety: a Client has a random 64-bit client_id and numbers its writes (seq). A write
// keeps its (client_id, seq) across every retry, so the state machine applies it at most
// once (kv_state_machine.h); that is why a write can be retried on any node, even after an
// Unknown answer. Invariant: at most one write of a Client is in flight (the blocking API
// guarantees it), which is what the state machine's one-entry-per-client table requires.
//
// Outcome of a write when the deadline passes: Unknown (it may have been applied). Reads
// that time out are Unavailable (nothing was changed).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "client/connection.h"
#include "config/cluster_config.h"
#include "transport/client_protocol.h"

namespace client {

enum class Outcome {
  Ok,           // done (get: value holds the value)
  NotFound,     // get / del of a missing key
  CasFailed,    // value / value_present: what the key holds
  Unknown,      // a write that may or may not have been applied (timeout, lost leader)
  Unavailable,  // nothing happened: no node answered in time
  Rejected,     // definitely not applied (error says why)
};

// The exit codes (README): 0 ok, 1 not found / cas mismatch, 3 unknown or unavailable,
// 4 rejected. (2, usage or config error, never comes from a request.)
int exit_code(Outcome o);
const char* to_string(Outcome o);

struct Result {
  Outcome outcome = Outcome::Ok;
  std::string value;
  bool value_present = false;
  std::string error;                  // why, for Unknown / Unavailable / Rejected
  raft::NodeId served_by = raft::kNone;
};

struct Member {
  raft::NodeId id = raft::kNone;
  std::string client;  // client endpoint, tcp://HOST:PORT
};

struct Options {
  std::vector<Member> members;
  // Send every request to this member only (raftctl --node); kNone means any member.
  raft::NodeId only_node = raft::kNone;
  std::chrono::milliseconds timeout{5000};
  // How long one attempt waits for a reply before trying another member.
  std::chrono::milliseconds attempt_timeout{1000};
  // The cluster file's cluster_id: a node of another cluster refuses the requests (Rejected).
  std::string cluster_id;
  // The cluster file's limits: a request over them is Rejected before it is sent ("value
  // too large: N bytes, limit M"), as is one whose frame would exceed the node's client
  // frame limit (the node would drop it unanswered: retrying could never succeed).
  uint64_t max_key_bytes = config::kDefaultMaxKeyBytes;
  uint64_t max_value_bytes = config::kDefaultMaxValueBytes;
};

// Why `req` cannot be sent under `options` ("" if it can).
std::string oversized_request(const transport::ClientRequest& req, const Options& options);

class Client {
 public:
  Client(zmq::context_t& ctx, Options options);

  Result put(const std::string& key, const std::string& value);
  Result del(const std::string& key);
  // expected_absent: succeed only if the key does not exist (expected is then ignored).
  Result cas(const std::string& key, const std::string& expected, bool expected_absent,
             const std::string& value);
  Result get(const std::string& key, bool serializable);
  // Asks the leader to hand leadership to `target`; Ok once `target` leads (served_by is
  // the old leader), Unknown when the transfer did not complete in time.
  Result transfer_leader(raft::NodeId target);

  struct MemberStatus {
    Member member;
    bool reachable = false;
    transport::NodeStatus status;
    std::string error;
  };
  // Asks every member (or only_node) for its status at once and waits at most `timeout`.
  std::vector<MemberStatus> status_all(std::chrono::milliseconds timeout);

  uint64_t client_id() const { return client_id_; }

 private:
  Result execute(transport::ClientRequest req, bool is_write);
  // Asks every member for its status at once and returns as soon as one names a leader
  // (kNone if none does before `until`): one round trip instead of trying members in turn,
  // each of which may be dead and cost a whole attempt timeout.
  raft::NodeId discover_leader(std::chrono::steady_clock::time_point until);
  Connection& connection(raft::NodeId id);
  raft::NodeId pick_target(size_t& round_robin);

  zmq::context_t& ctx_;
  Options options_;
  uint64_t client_id_;
  uint64_t next_seq_ = 1;
  raft::NodeId leader_hint_ = raft::kNone;
  std::map<raft::NodeId, std::string> endpoints_;
  std::map<raft::NodeId, std::unique_ptr<Connection>> connections_;
};

}  // namespace client
