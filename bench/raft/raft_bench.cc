// Micro-benchmarks of the raft/ core, in the spirit of the raft-rs benches.
//
//   BM_ThreeNodePropose/<batch>: a three-node cluster of RawNodes over MemStorage in one
//     process. Each iteration proposes `batch` entries on the leader, then runs the full Ready
//     loop on every node (persist to MemStorage, send, apply, advance) and delivers messages
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

namespace {

using namespace raft;

constexpr size_t kPayload = 128;

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
          handle_ready(i);
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
  void handle_ready(size_t i) {
    RawNode& n = *nodes_[i];
    MemStorage& s = *stores_[i];
    Ready rd = n.ready();
    for (auto& m : rd.messages) wire_.push_back(std::move(m));
    if (!rd.snapshot.empty()) (void)s.apply_snapshot(rd.snapshot);
    s.append(rd.entries);
    if (rd.hard_state) s.set_hard_state(*rd.hard_state);
    for (auto& m : rd.persisted_messages) wire_.push_back(std::move(m));
    apply(i, rd.committed_entries);
    LightReady lr = n.advance(std::move(rd));
    if (lr.commit_index) s.set_commit(*lr.commit_index);
    for (auto& m : lr.messages) wire_.push_back(std::move(m));
    apply(i, lr.committed_entries);
    n.advance_apply();
  }

  void apply(size_t i, const std::vector<Entry>& es) {
    for (const auto& e : es) {
      benchmark::DoNotOptimize(e.data.data());
      if (i == 0 && !e.data.empty()) ++applied_;
    }
  }

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
