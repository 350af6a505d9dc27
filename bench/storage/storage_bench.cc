// storage_bench: figures for the durable storage, on the real file system.
//
//   storage_bench [--dir DIR] [--runs N] [--replay-entries N] [--replay-only]
//
// 1. Append throughput: persist() of 100-byte entries in batches of 1, 16 and 256, each call
//    synced (fsync on, must_sync), as the node does once per Ready. Prints entries/s, payload
//    MB/s and fsyncs/s.
// 2. Replay: a log of one million 100-byte entries (written with fsync off, in batches of 256
//    and of 1), then the time DiskStorage::open takes to recover it. Target: under one second.
// Each figure is the median of --runs runs (default 3). DIR defaults to a fresh folder under
// the current directory (not /tmp, which may be a tmpfs where fsync costs nothing).
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "storage/disk_storage.h"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// CPU time (user + system) of this process, in seconds.
double cpu_seconds() {
  struct rusage ru {};
  ::getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "storage_bench: %s\n", what.c_str());
  std::exit(1);
}

std::vector<raft::Entry> batch_at(raft::Index first, size_t n) {
  std::vector<raft::Entry> out(n);
  for (size_t i = 0; i < n; ++i) {
    out[i].index = first + i;
    out[i].term = 1;
    out[i].data.assign(100, static_cast<char>('a' + (first + i) % 26));
  }
  return out;
}

std::unique_ptr<storage::DiskStorage> open_or_die(const std::string& dir,
                                                  const storage::Options& opts) {
  auto s = storage::DiskStorage::open(dir, opts);
  if (!s.ok()) die(s.error().message);
  return std::move(*s);
}

struct AppendFigures {
  double entries_per_s;
  double mb_per_s;
  double syncs_per_s;
};

AppendFigures bench_append(const std::string& dir, size_t batch, double budget_s) {
  std::filesystem::remove_all(dir);
  storage::Options opts;  // fsync on
  auto s = open_or_die(dir, opts);
  raft::Index next = 1;
  size_t calls = 0;
  const auto t0 = Clock::now();
  while (seconds_since(t0) < budget_s || calls < 20) {
    auto r = s->persist(nullptr, batch_at(next, batch), std::nullopt, /*must_sync=*/true);
    if (!r.ok()) die(r.error().message);
    next += batch;
    ++calls;
  }
  const double secs = seconds_since(t0);
  const double entries = static_cast<double>(next - 1);
  return {entries / secs, entries * 100 / secs / 1e6, static_cast<double>(calls) / secs};
}

struct ReplayFigures {
  double wall_s;
  double cpu_s;
};

ReplayFigures bench_replay(const std::string& dir, uint64_t total, size_t batch, bool write) {
  storage::Options opts;
  if (write) {
    std::filesystem::remove_all(dir);
    opts.fsync = false;
    auto s = open_or_die(dir, opts);
    for (raft::Index next = 1; next <= total; next += batch) {
      auto r = s->persist(nullptr, batch_at(next, std::min<uint64_t>(batch, total - next + 1)),
                          std::nullopt, false);
      if (!r.ok()) die(r.error().message);
    }
    ::sync();
  }
  const double cpu0 = cpu_seconds();
  const auto t0 = Clock::now();
  auto s = open_or_die(dir, opts);
  const double secs = seconds_since(t0);
  const double cpu = cpu_seconds() - cpu0;
  if (*s->last_index() != total) die("replay lost entries");
  return {secs, cpu};
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir = "storage_bench.data";
  int runs = 3;
  uint64_t replay_entries = 1000000;
  bool replay_only = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--dir" && i + 1 < argc) {
      dir = argv[++i];
    } else if (a == "--runs" && i + 1 < argc) {
      runs = std::max(1, std::atoi(argv[++i]));
    } else if (a == "--replay-only") {
      replay_only = true;
    } else if (a == "--replay-entries" && i + 1 < argc) {
      replay_entries = std::strtoull(argv[++i], nullptr, 10);
    } else {
      std::fprintf(stderr, "usage: storage_bench [--dir DIR] [--runs N] [--replay-entries N] [--replay-only]\n");
      return 2;
    }
  }
  std::printf("storage_bench: dir %s, median of %d runs\n", dir.c_str(), runs);
  if (!replay_only) std::printf("append, 100-byte entries, one fsync per persist():\n");
  for (size_t batch : {1, 16, 256}) {
    if (replay_only) break;
    std::vector<double> eps, mbs, sps;
    for (int r = 0; r < runs; ++r) {
      auto f = bench_append(dir, batch, 2.0);
      eps.push_back(f.entries_per_s);
      mbs.push_back(f.mb_per_s);
      sps.push_back(f.syncs_per_s);
    }
    std::printf("  batch %4zu: %10.0f entries/s  %7.2f MB/s  %7.0f fsyncs/s\n", batch, median(eps),
                median(mbs), median(sps));
  }
  std::printf("replay (DiskStorage::open) of %lu 100-byte entries:\n", replay_entries);
  for (size_t batch : {256, 1}) {
    std::vector<double> wall, cpu;
    for (int r = 0; r < runs; ++r) {
      auto f = bench_replay(dir, replay_entries, batch, r == 0);
      wall.push_back(f.wall_s);
      cpu.push_back(f.cpu_s);
    }
    std::printf("  written in batches of %3zu: %7.3f s wall, %7.3f s cpu\n", batch, median(wall),
                median(cpu));
  }
  std::filesystem::remove_all(dir);
  return 0;
}
