#include "raft/read_only.h"

namespace raft {

void ReadOnly::add_request(Index index, Message req, NodeId self) {
  const std::string ctx = req.entries.empty() ? std::string() : req.entries[0].data;
  if (pending_.count(ctx)) return;
  ReadIndexStatus status{std::move(req), index, {self}};
  pending_.emplace(ctx, std::move(status));
  queue_.push_back(ctx);
}

const std::set<NodeId>* ReadOnly::recv_ack(NodeId from, const std::string& ctx) {
  auto it = pending_.find(ctx);
  if (it == pending_.end()) return nullptr;
  it->second.acks.insert(from);
  return &it->second.acks;
}

std::vector<ReadIndexStatus> ReadOnly::advance(const std::string& ctx) {
  std::vector<ReadIndexStatus> out;
  if (!pending_.count(ctx)) return out;
  while (!queue_.empty()) {
    std::string front = std::move(queue_.front());
    queue_.pop_front();
    auto it = pending_.find(front);
    out.push_back(std::move(it->second));
    pending_.erase(it);
    if (front == ctx) break;
  }
  return out;
}

std::string ReadOnly::last_pending_request_ctx() const {
  return queue_.empty() ? std::string() : queue_.back();
}

}  // namespace raft
