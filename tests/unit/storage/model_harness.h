// A random driver that applies the same operations to a DiskStorage and to raft::MemStorage
// (the model), as the node would: persist() of entries / hard state / a received snapshot,
// and create_snapshot() followed by compaction. Shared by the model test and the
// fault-injection test.
#pragma once

#include <algorithm>
#include <random>

#include "raft/mem_storage.h"
#include "storage/disk_storage.h"
#include "storage_test_util.h"

namespace storage_test {

struct ModelStep {
  bool ok = true;       // the disk accepted it
  bool synced = false;  // it was synced (so a power cut must not lose it)
  std::string what;
};

class ModelDriver {
 public:
  ModelDriver(uint64_t seed, uint64_t keep) : rng_(seed), keep_(keep) {}

  uint64_t pick(uint64_t lo, uint64_t hi) {  // inclusive
    return std::uniform_int_distribution<uint64_t>(lo, hi)(rng_);
  }
  std::mt19937_64& rng() { return rng_; }

  // Applies one random operation to both. Returns what was done.
  ModelStep step(storage::DiskStorage& disk, raft::MemStorage& mem) {
    const raft::Index first = *mem.first_index();
    const raft::Index last = *mem.last_index();
    const raft::Index snap_index = mem.snapshot(0)->metadata.index;
    term_ = std::max(term_, mem.hard_state().term);
    if (last >= first - 1) term_ = std::max(term_, *mem.term(last));
    const bool must_sync = pick(0, 3) != 0;
    ModelStep out;
    out.synced = must_sync;
    switch (pick(0, 9)) {
      case 0: case 1: case 2: {  // append new entries, sometimes with a hard state
        auto ents = make_entries(last + 1, pick(1, 6));
        std::optional<raft::HardState> hs;
        if (pick(0, 1)) hs = next_hard_state(mem, last + ents.size());
        out.what = "append " + std::to_string(ents.size()) + " at " + std::to_string(last + 1);
        out.ok = disk.persist(nullptr, ents, hs, must_sync).ok();
        if (out.ok) {
          mem.append(ents);
          if (hs) mem.set_hard_state(*hs);
        }
        break;
      }
      case 3: case 4: {  // a conflicting append from somewhere inside the log
        if (last < first) return step(disk, mem);
        const raft::Index at = pick(first, last);
        ++term_;
        auto ents = make_entries(at, pick(1, 4));
        out.what = "conflicting append of " + std::to_string(ents.size()) + " at " + std::to_string(at);
        auto hs = next_hard_state(mem, at - 1);
        out.ok = disk.persist(nullptr, ents, hs, must_sync).ok();
        if (out.ok) {
          mem.append(ents);
          mem.set_hard_state(hs);
        }
        break;
      }
      case 5: {  // hard state only
        auto hs = next_hard_state(mem, last);
        out.what = "hard state";
        out.ok = disk.persist(nullptr, {}, hs, must_sync).ok();
        if (out.ok) mem.set_hard_state(hs);
        break;
      }
      case 6: {  // a snapshot received from the leader, maybe with entries after it
        const uint64_t ahead = pick(0, 6);
        const raft::Index index =
            std::max<raft::Index>({snap_index, 1, last + ahead >= 3 ? last + ahead - 3 : 1});
        term_ += pick(0, 1);
        raft::Snapshot snap = snapshot(index, term_, voters(), "recv" + std::to_string(pick(0, 1000)));
        std::vector<raft::Entry> ents;
        if (pick(0, 1)) ents = make_entries(index + 1, pick(1, 3));
        out.what = "received snapshot at " + std::to_string(index);
        out.synced = true;  // a snapshot is always synced
        out.ok = disk.persist(&snap, ents, std::nullopt, must_sync).ok();
        if (out.ok) {
          REQUIRE(mem.apply_snapshot(snap).ok());
          mem.append(ents);
        }
        break;
      }
      case 7: case 8: {  // create a snapshot and compact
        const raft::Index lo = std::max(snap_index + 1, first);
        if (last < lo) return step(disk, mem);
        const raft::Index index = pick(lo, last);
        raft::ConfState cs;
        cs.voters = voters();
        std::string data = "app" + std::to_string(pick(0, 1000));
        out.what = "create snapshot at " + std::to_string(index);
        out.synced = true;
        out.ok = disk.create_snapshot(index, cs, data).ok();
        if (out.ok) {
          REQUIRE(mem.create_snapshot(index, &cs, data).ok());
          mem.set_conf_state(cs);
          const raft::Index compact_to = std::max(first, index + 1 > keep_ ? index + 1 - keep_ : 1);
          if (compact_to > first) REQUIRE(mem.compact(compact_to).ok());
        }
        break;
      }
      default: {  // a Ready with nothing to persist but a sync
        out.what = "empty persist";
        out.ok = disk.persist(nullptr, {}, std::nullopt, must_sync).ok();
        break;
      }
    }
    return out;
  }

 private:
  std::vector<raft::Entry> make_entries(raft::Index first, size_t n) {
    std::vector<raft::Entry> out;
    for (size_t i = 0; i < n; ++i) {
      raft::Entry e = entry(first + i, term_, std::string(pick(0, 60), static_cast<char>('a' + pick(0, 25))));
      if (pick(0, 9) == 0) e.type = raft::EntryType::ConfChange;
      if (pick(0, 4) == 0) e.context = "ctx";
      out.push_back(std::move(e));
    }
    return out;
  }
  raft::HardState next_hard_state(const raft::MemStorage& mem, raft::Index max_commit) {
    raft::HardState hs = mem.hard_state();
    hs.term = std::max(hs.term, term_);
    hs.vote = pick(0, 3);
    hs.commit = std::max<raft::Index>(hs.commit, std::min<raft::Index>(max_commit, hs.commit + pick(0, 3)));
    return hs;
  }
  std::vector<raft::NodeId> voters() {
    std::vector<raft::NodeId> v;
    for (raft::NodeId id = 1; id <= pick(1, 5); ++id) v.push_back(id);
    return v;
  }

  std::mt19937_64 rng_;
  uint64_t keep_;
  raft::Term term_ = 1;
};

}  // namespace storage_test
