// Micro-benchmarks of the raft/ core, in the spirit of the raft-rs benches.
//
//   BM_ThreeNodePropose/<batch>: a three-node cluster of RawNodes over MemStorage in one
//     process. Each iteration proposes `batch` entries on the leader, then runs the full Ready
//     loop on every node (raft::ReadyDriver, the loop raft-node runs, over MemStorage: send,
//     apply, persist, send, advance) and delivers messages
//     in memory until the cluster is quiet: every proposal committed and applied everywhere.
//     So the figure is proposals per second with `batch` proposals per Ready, with no I/O;
//     msgs/round counts the messages delivered per iteration.
//   BM_RaftLogAppend/<batch>: RaftLog::append of `batch` entries at a time, with the
//     application's persistence (MemStorage append + stable_entries) every 256 entries.
//
// Both keep memory bounded by compacting MemStorage as they go.
#include <benchmark/benchmark.h>

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "raft/mem_storage.h"
#include "raft/raft.h"
#include "raft/raft_log.h"
#include "raft/raw_node.h"
#include "raft/ready_driver.h"

namespace {

using namespace raft;

constexpr size_t kPayload = 128;

// One node's side of the driver: MemStorage as the disk, the shared wire as the outbox, and
// a state machine that only counts what the leader applied.
class BenchHooks final : public DurableLog, public Outbox, public Applier {
 public:
  BenchHooks(MemStorage& store, std::vector<Message>& wire, uint64_t* applied)
      : store_(store), wire_(wire), applied_(applied) {}
  WriteOutcome write(const WriteRequest& w) override {
    if (w.snapshot) (void)store_.apply_snapshot(*w.snapshot);
    store_.append(*w.entries);
    if (w.hard_state) store_.set_hard_state(*w.hard_state);
    return WriteOutcome::Done;
  }
  void send(std::vector<Message>& msgs) override {
    for (auto& m : msgs) wire_.push_back(std::move(m));
    msgs.clear();
  }
  void restore(const Snapshot&) override {}
  void apply(std::vector<Entry>& es) override {
    for (const auto& e : es) {
      benchmark::DoNotOptimize(e.data.data());
      if (applied_ && !e.data.empty()) ++*applied_;
    }
  }
  void read_states(std::vector<ReadState>&) override {}

 private:
  MemStorage& store_;
  std::vector<Message>& wire_;
  uint64_t* applied_;  // null: not counted (followers)
};

class BenchCluster {
 public:
  BenchCluster() {
    ConfState cs;
    cs.voters = {1, 2, 3};
    for (size_t i = 0; i < 3; ++i) {
      stores_[i] = std::make_unique<MemStorage>(MemStorage::new_with_conf_state(cs));
      Config c;
      c.id = i + 1;
      c.seed = i + 1;
      auto n = RawNode::create(c, *stores_[i]);
      if (!n.ok()) std::abort();
      nodes_[i] = std::move(*n);
      hooks_[i] = std::make_unique<BenchHooks>(*stores_[i], wire_, i == 0 ? &applied_ : nullptr);
      drivers_[i] = std::make_unique<ReadyDriver>(*hooks_[i], *hooks_[i], *hooks_[i], stores_[i]->hard_state());
    }
    if (!nodes_[0]->campaign().ok()) std::abort();
    run();
    if (nodes_[0]->raft().state() != StateRole::Leader) std::abort();
  }

  RawNode& leader() { return *nodes_[0]; }
  uint64_t applied_entries() const { return applied_; }
  uint64_t messages() const { return messages_; }  // delivered, in every direction

  // Runs Ready cycles and delivers messages until nothing moves.
  void run() {
    for (;;) {
      bool any = false;
      for (size_t i = 0; i < 3; ++i) {
        if (nodes_[i]->has_ready()) {
          any = true;
          (void)drivers_[i]->handle_ready(*nodes_[i]);
        }
      }
      if (!any && wire_.empty()) break;
      std::vector<Message> msgs;
      msgs.swap(wire_);
      messages_ += msgs.size();
      for (auto& m : msgs) (void)nodes_[m.to - 1]->step(std::move(m));
    }
    maybe_compact();
  }

 private:
  void maybe_compact() {
    for (size_t i = 0; i < 3; ++i) {
      const Index applied = nodes_[i]->raft().raft_log().applied();
      if (applied > compacted_[i] + 8192) {
        (void)stores_[i]->compact(applied);
        compacted_[i] = applied;
      }
    }
  }

  std::array<std::unique_ptr<MemStorage>, 3> stores_;
  std::array<std::unique_ptr<RawNode>, 3> nodes_;
  std::array<std::unique_ptr<BenchHooks>, 3> hooks_;
  std::array<std::unique_ptr<ReadyDriver>, 3> drivers_;
  std::array<Index, 3> compacted_{};
  std::vector<Message> wire_;
  uint64_t applied_ = 0;
  uint64_t messages_ = 0;
};

void BM_ThreeNodePropose(benchmark::State& state) {
  const auto batch = static_cast<size_t>(state.range(0));
  BenchCluster c;
  const std::string payload(kPayload, 'x');
  const uint64_t messages_before = c.messages();
  for (auto _ : state) {
    for (size_t i = 0; i < batch; ++i) {
      if (!c.leader().propose("", payload).ok()) state.SkipWithError("proposal dropped");
    }
    c.run();
  }
  if (c.applied_entries() != state.iterations() * batch) state.SkipWithError("not every proposal applied");
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * batch));
  state.counters["proposals/s"] =
      benchmark::Counter(static_cast<double>(state.iterations() * batch), benchmark::Counter::kIsRate);
  // Messages per round of `batch` proposals (load-independent: compare builds with it).
  state.counters["msgs/round"] =
      static_cast<double>(c.messages() - messages_before) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_ThreeNodePropose)->Arg(1)->Arg(64)->Unit(benchmark::kMicrosecond);

void BM_RaftLogAppend(benchmark::State& state) {
  const auto batch = static_cast<size_t>(state.range(0));
  MemStorage store;
  RaftLog log(store);
  const std::string payload(kPayload, 'x');
  std::vector<Entry> es(batch);
  Index next = 1;
  for (auto _ : state) {
    for (auto& e : es) {
      e.term = 1;
      e.index = next++;
      e.data = payload;
    }
    benchmark::DoNotOptimize(log.append(es));
    if (log.unstable_entries().size() >= 256) {
      // The application persists: storage append, then the log drops its unstable copy.
      const std::vector<Entry> unstable = log.unstable_entries();
      store.append(unstable);
      log.stable_entries(unstable.back().index, unstable.back().term);
      log.commit_to(unstable.back().index);
      log.applied_to(unstable.back().index);
      if (unstable.back().index > 1 << 16) (void)store.compact(unstable.back().index);
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * batch));
  state.counters["entries/s"] =
      benchmark::Counter(static_cast<double>(state.iterations() * batch), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_RaftLogAppend)->Arg(1)->Arg(64);

}  // namespace

BENCHMARK_MAIN();
