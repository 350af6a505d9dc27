// ReadOnly: pending linearizable read requests on the leader (Raft thesis §6.4).
//
// A read request records the commit index at the time it arrives. It may be answered once
// a quorum has acknowledged a heartbeat that carries the request's context, proving that this
// node was still the leader when the read arrived. Requests are answered in arrival order:
// acknowledging a later request acknowledges every earlier one.
#pragma once

#include <deque>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "raft/config.h"
#include "raft/types.h"

namespace raft {

// The answer to a read_index request: the read may be served once the application has
// applied up to `index`. request_ctx is the context the request was made with.
struct ReadState {
  Index index = 0;
  std::string request_ctx;

  bool operator==(const ReadState&) const = default;
};

struct ReadIndexStatus {
  Message req;   // the original MsgReadIndex (its from and context are answered to)
  Index index;   // the commit index when the request arrived
  std::set<NodeId> acks;
};

class ReadOnly {
 public:
  explicit ReadOnly(ReadOnlyOption option) : option_(option) {}

  ReadOnlyOption option() const { return option_; }
  // Records a request; a context already pending is ignored (it will be answered once).
  void add_request(Index index, Message req, NodeId self);
  // Records that `from` acknowledged the heartbeat carrying ctx; returns the acks so far
  // (nullptr if ctx is unknown).
  const std::set<NodeId>* recv_ack(NodeId from, const std::string& ctx);
  // Removes and returns every request up to and including ctx, oldest first.
  std::vector<ReadIndexStatus> advance(const std::string& ctx);
  // The context of the newest pending request ("" when none): heartbeats carry it.
  std::string last_pending_request_ctx() const;
  size_t pending_count() const { return queue_.size(); }
  void reset() { pending_.clear(); queue_.clear(); }

 private:
  ReadOnlyOption option_;
  std::map<std::string, ReadIndexStatus> pending_;
  std::deque<std::string> queue_;
};

}  // namespace raft
