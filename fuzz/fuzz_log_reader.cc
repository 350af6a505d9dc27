// storage::LogReader over a file image, then every record's payload through the record
// decoders (records.h) and describe_record, as recovery does. Mode byte 0: the input is the
// image. Otherwise the image is built of records framed with correct checksums (so that the
// fuzzer gets past them) whose types, flags and payloads come from the input, some of them
// valid encodings of random values, and the image is then possibly damaged.
// Properties: no crash, no wild allocation, no endless loop; offsets stay inside the image;
// decoded entries round-trip.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "storage/log_reader.h"
#include "storage/log_writer.h"
#include "storage/records.h"

namespace {

std::string payload(FuzzedDataProvider& p, uint8_t type) {
  if (p.ConsumeBool()) return p.ConsumeRandomLengthString(128);
  switch (type) {
    case 1: {
      storage::SegmentHeader h;
      h.magic = p.ConsumeBool() ? storage::kSegmentMagic : p.ConsumeIntegral<uint32_t>();
      h.version = p.ConsumeBool() ? storage::kFormatVersion : p.ConsumeIntegral<uint32_t>();
      h.seq = p.ConsumeIntegral<uint64_t>();
      h.first_index = p.ConsumeIntegral<uint64_t>();
      h.prev_term = p.ConsumeIntegral<uint64_t>();
      h.last_index = p.ConsumeIntegral<uint64_t>();
      return storage::encode_segment_header(h);
    }
    case 2: {
      // encode_entries requires consecutive indexes (a precondition, checked by a panic).
      std::vector<raft::Entry> es(p.ConsumeIntegralInRange<size_t>(0, 4));
      const uint64_t first = p.ConsumeIntegralInRange<uint64_t>(0, UINT64_MAX - 8);
      for (size_t i = 0; i < es.size(); ++i) {
        auto& e = es[i];
        e.type = p.ConsumeBool() ? raft::EntryType::Normal : raft::EntryType::ConfChange;
        e.term = p.ConsumeIntegral<uint64_t>();
        e.index = first + i;
        e.data = p.ConsumeRandomLengthString(32);
        e.context = p.ConsumeRandomLengthString(8);
      }
      return storage::encode_entries(es);
    }
    case 3:
      return storage::encode_hard_state(
          {p.ConsumeIntegral<uint64_t>(), p.ConsumeIntegral<uint64_t>(), p.ConsumeIntegral<uint64_t>()});
    case 5:
      return storage::encode_log_start({p.ConsumeIntegral<uint64_t>(), p.ConsumeIntegral<uint64_t>(), p.ConsumeBool()});
    case 4:
    case 6: {
      raft::SnapshotMetadata m;
      m.index = p.ConsumeIntegral<uint64_t>();
      m.term = p.ConsumeIntegral<uint64_t>();
      m.conf_state.voters = {p.ConsumeIntegral<uint64_t>(), p.ConsumeIntegral<uint64_t>()};
      m.conf_state.auto_leave = p.ConsumeBool();
      return storage::encode_snapshot_metadata(m);
    }
    default:
      return p.ConsumeRandomLengthString(64);
  }
}

std::string build_image(FuzzedDataProvider& p) {
  std::string image;
  const size_t n = p.ConsumeIntegralInRange<size_t>(0, 12);
  for (size_t i = 0; i < n; ++i) {
    const uint8_t type = p.ConsumeIntegralInRange<uint8_t>(0, storage::kMaxRecordType + 1);
    const bool more = p.ConsumeIntegralInRange<int>(0, 3) == 0;
    storage::encode_record(static_cast<storage::RecordType>(type), more, payload(p, type), &image);
  }
  switch (p.ConsumeIntegralInRange<int>(0, 4)) {
    case 0:
      if (!image.empty()) image.resize(p.ConsumeIntegralInRange<size_t>(0, image.size()));
      break;
    case 1:
      if (!image.empty())
        image[p.ConsumeIntegralInRange<size_t>(0, image.size() - 1)] = static_cast<char>(p.ConsumeIntegral<uint8_t>());
      break;
    case 2:
      image.append(p.ConsumeIntegralInRange<size_t>(0, 64), '\0');
      break;
    default:
      break;
  }
  return image;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider p(data, size);
  const std::string image = p.ConsumeIntegral<uint8_t>() % 4 == 0 ? p.ConsumeRemainingBytesAsString() : build_image(p);
  storage::LogReader reader(image, "fuzz.seg");
  std::vector<storage::RecordView> batch;
  for (int guard = 0; guard < 1'000'000; ++guard) {
    const auto st = reader.read_batch(&batch);
    if (st != storage::LogReader::Status::kBatch) break;
    if (reader.valid_end() > image.size()) abort();
    for (const auto& r : batch) {
      if (r.offset + r.payload.size() > image.size()) abort();
      (void)storage::describe_record(r.type, r.payload);
      storage::SegmentHeader sh;
      (void)storage::decode_segment_header(r.payload, &sh);
      storage::LogStart ls;
      (void)storage::decode_log_start(r.payload, &ls);
      raft::HardState hs;
      (void)storage::decode_hard_state(r.payload, &hs);
      raft::SnapshotMetadata meta;
      (void)storage::decode_snapshot_metadata(r.payload, &meta);
      std::vector<raft::Entry> entries;
      if (storage::decode_entries(r.payload, &entries)) {
        std::vector<raft::Entry> again;
        if (!storage::decode_entries(storage::encode_entries(entries), &again) || again != entries) abort();
      }
      raft::Index first = 0;
      std::vector<raft::Term> terms;
      (void)storage::decode_entry_terms(r.payload, &first, &terms);
    }
  }
  return 0;
}
