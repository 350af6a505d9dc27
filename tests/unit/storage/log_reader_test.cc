// The record framing: batches written by LogWriter read back by LogReader, torn tails told
// apart from corruption, and a bounded random-mutation fuzz of the reader and of recovery.
#include <catch2/catch.hpp>

#include <random>

#include "storage/disk_storage.h"
#include "storage/testing/fault_env.h"
#include "storage/log_reader.h"
#include "storage/log_writer.h"
#include "storage/records.h"
#include "storage/snapshot_file.h"
#include "storage_test_util.h"

using namespace storage;

namespace {

// An image of three batches: {a}, {b, c}, {d}; returns the offset where each batch starts.
std::string three_batches(std::vector<uint64_t>* starts) {
  std::string image;
  starts->push_back(image.size());
  encode_record(RecordType::kHardState, false, std::string(24, 'a'), &image);
  starts->push_back(image.size());
  encode_record(RecordType::kEntries, true, std::string(40, 'b'), &image);
  encode_record(RecordType::kEntries, false, std::string(7, 'c'), &image);
  starts->push_back(image.size());
  encode_record(RecordType::kHardState, false, std::string(30, 'd'), &image);
  return image;
}

// Reads every batch; returns how many complete batches there were and the final status.
LogReader::Status read_all(LogReader& r, size_t* batches) {
  std::vector<RecordView> batch;
  *batches = 0;
  while (true) {
    auto st = r.read_batch(&batch);
    if (st != LogReader::Status::kBatch) return st;
    ++*batches;
  }
}

}  // namespace

TEST_CASE("records written in batches are read back in the same batches", "[log_reader]") {
  std::vector<uint64_t> starts;
  const std::string image = three_batches(&starts);
  LogReader r(image, "f.wal");
  std::vector<RecordView> batch;
  REQUIRE(r.read_batch(&batch) == LogReader::Status::kBatch);
  REQUIRE(batch.size() == 1);
  CHECK(batch[0].payload == std::string(24, 'a'));
  CHECK(batch[0].type == static_cast<uint8_t>(RecordType::kHardState));
  REQUIRE(r.read_batch(&batch) == LogReader::Status::kBatch);
  REQUIRE(batch.size() == 2);
  CHECK(batch[0].offset == starts[1]);
  CHECK(batch[1].payload == "ccccccc");
  REQUIRE(r.read_batch(&batch) == LogReader::Status::kBatch);
  REQUIRE(r.read_batch(&batch) == LogReader::Status::kEof);
  CHECK_FALSE(r.torn_tail());
  CHECK(r.valid_end() == image.size());
}

TEST_CASE("a batch torn at every byte offset leaves exactly the complete batches before it",
          "[log_reader]") {
  std::vector<uint64_t> starts;
  const std::string image = three_batches(&starts);
  // Cutting anywhere inside the middle batch (two records) or the last one.
  for (uint64_t cut = starts[1]; cut < image.size(); ++cut) {
    CAPTURE(cut);
    const std::string torn = image.substr(0, cut);
    LogReader r(torn, "f.wal");
    size_t batches = 0;
    REQUIRE(read_all(r, &batches) == LogReader::Status::kEof);
    const size_t expected = cut < starts[2] ? 1 : 2;
    CHECK(batches == expected);
    CHECK(r.valid_end() == starts[expected]);
    CHECK(r.torn_tail() == (cut != starts[expected]));
  }
}

TEST_CASE("a zero-filled tail is a torn tail, not corruption", "[log_reader]") {
  std::vector<uint64_t> starts;
  std::string image = three_batches(&starts);
  image.resize(starts[2]);
  image.append(100, '\0');
  LogReader r(image, "f.wal");
  size_t batches = 0;
  REQUIRE(read_all(r, &batches) == LogReader::Status::kEof);
  CHECK(batches == 2);
  CHECK(r.torn_tail());
  CHECK(r.valid_end() == starts[2]);
}

TEST_CASE("a flipped bit in a middle record is reported as corruption naming file and offset",
          "[log_reader]") {
  std::vector<uint64_t> starts;
  const std::string image = three_batches(&starts);
  // Every bit of the middle batch's first record, header and payload.
  const uint64_t record_end = starts[1] + kHeaderSize + 40;
  for (uint64_t byte = starts[1]; byte < record_end; ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      CAPTURE(byte, bit);
      std::string bad = image;
      bad[byte] = static_cast<char>(bad[byte] ^ (1 << bit));
      LogReader r(bad, "wal/7.wal");
      size_t batches = 0;
      REQUIRE(read_all(r, &batches) == LogReader::Status::kCorruption);
      CHECK(batches == 1);
      CHECK(r.error().find("wal/7.wal: offset " + std::to_string(starts[1]) + ": ") == 0);
      CHECK(r.error().find("checksum mismatch") != std::string::npos);
    }
  }
}

TEST_CASE("an unknown record type with a valid checksum is corruption", "[log_reader]") {
  std::string image;
  encode_record(static_cast<RecordType>(42), false, "xyz", &image);
  encode_record(RecordType::kHardState, false, "abc", &image);
  LogReader r(image, "f.wal");
  size_t batches = 0;
  REQUIRE(read_all(r, &batches) == LogReader::Status::kCorruption);
  CHECK(r.error() == "f.wal: offset 0: unknown record type 42");
}

TEST_CASE("the record decoders reject truncated and oversized payloads", "[records]") {
  const auto ents = storage_test::entries(5, {1, 1, 2});
  const std::string payload = encode_entries(ents);
  std::vector<raft::Entry> out;
  REQUIRE(decode_entries(payload, &out));
  CHECK(out == ents);
  for (size_t n = 0; n < payload.size(); ++n) {
    CAPTURE(n);
    CHECK_FALSE(decode_entries(payload.substr(0, n), &out));
  }
  CHECK_FALSE(decode_entries(payload + "x", &out));
  // A count far beyond what the bytes can hold is refused before anything is allocated.
  std::string huge = payload;
  huge[8] = huge[9] = huge[10] = huge[11] = static_cast<char>(0xff);
  CHECK_FALSE(decode_entries(huge, &out));

  raft::SnapshotMetadata m;
  m.index = 9;
  m.term = 3;
  m.conf_state.voters = {1, 2, 3};
  m.conf_state.learners_next = {4};
  m.conf_state.auto_leave = true;
  const std::string meta = encode_snapshot_metadata(m);
  raft::SnapshotMetadata back;
  REQUIRE(decode_snapshot_metadata(meta, &back));
  CHECK(back == m);
  for (size_t n = 0; n < meta.size(); ++n) CHECK_FALSE(decode_snapshot_metadata(meta.substr(0, n), &back));
}

TEST_CASE("random mutations of a valid log never crash the reader or recovery", "[log_reader][fuzz]") {
  // Build a realistic segment with a storage on an in-memory Env.
  FaultEnv env;
  Options opts;
  opts.env = &env;
  opts.cache_bytes = 0;
  {
    auto s = DiskStorage::open("/n", opts);
    REQUIRE(s.ok());
    auto& st = **s;
    raft::Snapshot snap = storage_test::snapshot(1, 1, {1, 2, 3});
    REQUIRE(st.persist(&snap, {}, storage_test::hard_state(1, 0, 1), true).ok());
    REQUIRE(st.persist(nullptr, storage_test::entries(2, {1, 1, 2}), storage_test::hard_state(2, 1, 2), true).ok());
    REQUIRE(st.persist(nullptr, storage_test::entries(4, {2, 2}), std::nullopt, true).ok());
    REQUIRE(st.persist(nullptr, storage_test::entries(3, {3}), storage_test::hard_state(3, 2, 3), true).ok());
    REQUIRE(st.create_snapshot(2, {{1, 2, 3}, {}, {}, {}, false}, "snapdata").ok());
  }
  auto names = env.list_dir("/n/wal");
  REQUIRE(names.ok());
  REQUIRE(names->size() == 1);
  const std::string path = "/n/wal/" + names->front();
  const std::string original = env.contents(path);

  const uint64_t seed = Catch::rngSeed() ? Catch::rngSeed() : 20261128;
  CAPTURE(seed);
  std::mt19937_64 rng(seed);
  const int kIterations = 3000;
  int opened = 0, refused = 0;
  for (int it = 0; it < kIterations; ++it) {
    std::string img = original;
    const int mutations = 1 + static_cast<int>(rng() % 4);
    for (int m = 0; m < mutations && !img.empty(); ++m) {
      const size_t pos = rng() % img.size();
      switch (rng() % 6) {
        case 0: img[pos] = static_cast<char>(img[pos] ^ (1 << (rng() % 8))); break;
        case 1: img[pos] = static_cast<char>(rng()); break;
        case 2: img.resize(pos); break;
        case 3: img.insert(pos, std::string(1 + rng() % 16, static_cast<char>(rng()))); break;
        case 4: img.erase(pos, 1 + rng() % 16); break;
        case 5: {  // duplicate a range (a replayed write)
          const size_t len = std::min<size_t>(1 + rng() % 64, img.size() - pos);
          img.insert(rng() % img.size(), img.substr(pos, len));
          break;
        }
      }
    }
    // The reader alone.
    LogReader r(img, path);
    std::vector<RecordView> batch;
    while (r.read_batch(&batch) == LogReader::Status::kBatch) {
      for (const auto& rec : batch) (void)describe_record(rec.type, rec.payload);
    }
    // Full recovery over the mutated segment: either it opens or it says why, as a value.
    FaultEnv copy;
    copy.set_contents(path, img);
    copy.set_contents("/n/snap/" + snapshot_name(2), env.contents("/n/snap/" + snapshot_name(2)));
    auto s = DiskStorage::open_read_only("/n", &copy, nullptr);
    if (s.ok()) {
      ++opened;
      (void)storage_test::observe(**s);
    } else {
      ++refused;
      CHECK(s.code() == raft::ErrorCode::Io);
      CHECK_FALSE(s.error().message.empty());
    }
  }
  CHECK(opened + refused == kIterations);
  CHECK(refused > 0);
}
