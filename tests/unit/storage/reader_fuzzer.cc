// libFuzzer target for the record reader and recovery (clang only):
//   cmake -DCMAKE_CXX_COMPILER=clang++ -DSANITIZE=fuzzer-no-link,address,undefined ...
//   build/bin/storage_reader_fuzzer -max_total_time=60
// The input is used as the only segment of a node dir; recovery must either open it or
// return an Io error, never crash, leak or read out of bounds.
#include <cstddef>
#include <cstdint>
#include <string>

#include "storage/disk_storage.h"
#include "storage/testing/fault_env.h"
#include "storage/log_reader.h"
#include "storage/records.h"
#include "storage/segment.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string image(reinterpret_cast<const char*>(data), size);
  {
    storage::LogReader reader(image, "fuzz.wal");
    std::vector<storage::RecordView> batch;
    while (reader.read_batch(&batch) == storage::LogReader::Status::kBatch) {
      for (const auto& rec : batch) (void)storage::describe_record(rec.type, rec.payload);
    }
  }
  storage::FaultEnv env;
  env.set_contents("/n/wal/" + storage::segment_name(1, 1), image);
  (void)env.create_dirs("/n/snap");
  auto s = storage::DiskStorage::open_read_only("/n", &env, nullptr);
  if (s.ok()) {
    const auto& st = **s;
    const raft::Index first = *st.first_index();
    const raft::Index last = *st.last_index();
    if (last >= first && last - first < 100000) (void)st.entries(first, last + 1, raft::kNoLimit);
  }
  return 0;
}
