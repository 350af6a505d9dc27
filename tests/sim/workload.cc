#include "tests/sim/workload.h"

namespace sim {

using lincheck::OpKind;
using lincheck::Outcome;

Workload::Workload(Network& net, int clients, int keys, uint64_t timeout_steps)
    : net_(net), rng_(net.rng()()), keys_(keys), timeout_(timeout_steps) {
  for (int i = 0; i < clients; ++i) clients_.push_back(Client{static_cast<uint64_t>(i + 1)});
  auto prev_apply = net_.on_apply;
  net_.on_apply = [this, prev_apply](const SimNode& n, const Entry& e, const ApplyResult* r) {
    if (prev_apply) prev_apply(n, e, r);
    on_apply(n, e, r);
  };
  auto prev_read = net_.on_read;
  net_.on_read = [this, prev_read](const SimNode& n, const raft::ReadState& rs) {
    if (prev_read) prev_read(n, rs);
    on_read(n, rs);
  };
}

std::string Workload::start_op(NodeId via, uint64_t step) {
  std::vector<size_t> idle;
  for (size_t i = 0; i < clients_.size(); ++i) {
    if (!clients_[i].busy) idle.push_back(i);
  }
  if (idle.empty() || !net_.node(via).alive()) return "";
  Client& c = clients_[idle[rng_() % idle.size()]];
  lincheck::Op op;
  op.client = c.id;
  op.key = "k" + std::to_string(rng_() % static_cast<uint64_t>(keys_));
  op.outcome = Outcome::Unknown;
  const uint64_t seq = ++c.next_seq;
  const uint64_t dice = rng_() % 10;
  std::string line;
  if (dice < 3) {
    op.kind = OpKind::Get;
    const std::string ctx = "read/" + std::to_string(c.id) + "/" + std::to_string(seq);
    op.invoke_time = ++now_;
    reads_[ctx] = ops_.size();
    net_.act(via, [&](raft::RawNode& r) { r.read_index(ctx); });
    line = "client " + std::to_string(c.id) + " read " + op.key + " via " + std::to_string(via);
  } else {
    Command cmd;
    cmd.client = c.id;
    cmd.seq = seq;
    cmd.key = op.key;
    cmd.value = "v" + std::to_string(c.id) + "." + std::to_string(seq);
    if (dice < 7) {
      cmd.kind = OpKind::Put;
    } else if (dice < 9) {
      cmd.kind = OpKind::Cas;
      auto it = last_written_.find(op.key);
      if (it != last_written_.end() && rng_() % 4 != 0) cmd.expected = it->second;
    } else {
      cmd.kind = OpKind::Del;
    }
    op.kind = cmd.kind;
    op.input = cmd.value;
    op.expected = cmd.expected;
    op.invoke_time = ++now_;
    auto r = net_.propose(via, cmd);
    if (!r) {
      // Refused before reaching any log: it never takes effect, the client knows.
      --now_;
      return "";
    }
    writes_[{c.id, seq}] = ops_.size();
    line = "client " + std::to_string(c.id) + " " + lincheck::describe(op) + " via " + std::to_string(via);
  }
  c.busy = true;
  c.op = ops_.size();
  c.since = step;
  ops_.push_back(std::move(op));
  return line;
}

void Workload::expire(uint64_t step) {
  for (Client& c : clients_) {
    if (c.busy && c.since + timeout_ < step) c.busy = false;
  }
}

void Workload::finish(size_t op) {
  for (Client& c : clients_) {
    if (c.busy && c.op == op) c.busy = false;
  }
}

void Workload::on_apply(const SimNode& n, const Entry& e, const ApplyResult* r) {
  if (!r || r->duplicate) return;
  auto cmd = decode_command(e.data);
  if (!cmd) return;
  auto it = writes_.find({cmd->client, cmd->seq});
  if (it == writes_.end()) return;
  lincheck::Op& op = ops_[it->second];
  if (op.outcome != Outcome::Unknown) return;  // already applied elsewhere
  op.complete_time = ++now_;
  op.outcome = (op.kind == OpKind::Cas && !r->ok) ? Outcome::Fail : Outcome::Ok;
  ++acknowledged_;
  max_acked_index_ = std::max(max_acked_index_, e.index);
  if (op.outcome == Outcome::Ok && op.kind != OpKind::Del) last_written_[op.key] = op.input;
  finish(it->second);
}

void Workload::on_read(const SimNode& n, const raft::ReadState& rs) {
  auto it = reads_.find(rs.request_ctx);
  if (it == reads_.end()) return;
  lincheck::Op& op = ops_[it->second];
  if (op.outcome != Outcome::Unknown) return;
  op.output = n.app.get(op.key);
  op.complete_time = ++now_;
  op.outcome = Outcome::Ok;
  finish(it->second);
}

}  // namespace sim
