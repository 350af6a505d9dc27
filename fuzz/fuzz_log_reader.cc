// storage::LogReader over an arbitrary file image, then every record's payload through the
// record decoders (records.h) and describe_record, as recovery does. Properties: no crash,
// no wild allocation, no endless loop; the reader's offsets stay inside the image.
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "storage/log_reader.h"
#include "storage/records.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view image(reinterpret_cast<const char*>(data), size);
  storage::LogReader reader(image, "fuzz.seg");
  std::vector<storage::RecordView> batch;
  for (int guard = 0; guard < 1'000'000; ++guard) {
    const auto st = reader.read_batch(&batch);
    if (st != storage::LogReader::Status::kBatch) break;
    if (reader.valid_end() > size) abort();
    for (const auto& r : batch) {
      if (r.offset + r.payload.size() > size) abort();
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
        // Whatever decodes re-encodes to the same entries.
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
