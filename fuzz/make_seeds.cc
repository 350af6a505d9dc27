// Writes a small seed corpus for every fuzz target into DIR/<target>/: valid frames, requests,
// replies, KV commands and a valid segment image, so that fuzzing starts from inputs that get
// past the first checks.  Usage: make_seeds DIR
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "node/kv_command.h"
#include "storage/log_writer.h"
#include "storage/records.h"
#include "transport/client_codec.h"
#include "transport/codec.h"

namespace {

void put(const std::filesystem::path& dir, const std::string& name, const std::string& bytes) {
  std::filesystem::create_directories(dir);
  std::ofstream(dir / name, std::ios::binary) << bytes;
}

class StringFile final : public storage::WritableFile {
 public:
  explicit StringFile(std::string* out) : out_(out) {}
  raft::Result<void> append(std::string_view data) override {
    out_->append(data);
    return {};
  }
  raft::Result<void> sync() override { return {}; }

 private:
  std::string* out_;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  const std::filesystem::path root = argv[1];

  raft::Message m;
  m.msg_type = raft::MessageType::MsgAppend;
  m.from = 1;
  m.to = 2;
  m.term = 3;
  m.log_term = 2;
  m.index = 10;
  m.commit = 9;
  m.entries.push_back({raft::EntryType::Normal, 3, 11, "put k v", ""});
  // The raw-mode targets read the frame after a mode byte of 0.
  put(root / "fuzz_decode_message", "append", std::string(1, '\0') + transport::encode_message("fz", m));
  m.msg_type = raft::MessageType::MsgSnapshot;
  m.entries.clear();
  m.snapshot.data = "state";
  m.snapshot.metadata = {{{1, 2, 3}, {4}, {}, {}, false}, 10, 3};
  put(root / "fuzz_decode_message", "snapshot", std::string(1, '\0') + transport::encode_message("fz", m));

  transport::ClientRequest req;
  req.request_id = 7;
  req.client_id = 99;
  req.seq = 1;
  req.kind = transport::RequestKind::Cas;
  req.key = "k";
  req.value = "new";
  req.expected = "old";
  put(root / "fuzz_client_codec", "request", std::string(1, '\0') + transport::encode_request(req));
  transport::ClientReply rep;
  rep.request_id = 7;
  rep.code = transport::ReplyCode::NotLeader;
  rep.leader_id = 2;
  rep.leader_client = "tcp://127.0.0.1:7202";
  rep.status.role = "follower";
  rep.status.voters = {1, 2, 3};
  put(root / "fuzz_client_codec", "reply", std::string(1, '\0') + transport::encode_reply(rep));

  node::KvCommand c{node::KvOp::Cas, 5, 6, "key", "value", "expected", false};
  put(root / "fuzz_kv_command", "cas", std::string(1, '\1') + node::encode_kv_command(c));

  std::string image;
  storage::LogWriter w(std::make_unique<StringFile>(&image), 0);
  storage::SegmentHeader sh;
  sh.magic = storage::kSegmentMagic;
  sh.version = storage::kFormatVersion;
  sh.seq = 1;
  w.add(storage::RecordType::kSegmentHeader, storage::encode_segment_header(sh));
  w.end_batch();
  std::vector<raft::Entry> entries{{raft::EntryType::Normal, 1, 1, "a", ""}, {raft::EntryType::Normal, 1, 2, "bb", "c"}};
  w.add(storage::RecordType::kEntries, storage::encode_entries(entries));
  w.add(storage::RecordType::kHardState, storage::encode_hard_state({1, 1, 2}));
  w.end_batch();
  w.add(storage::RecordType::kLogStart, storage::encode_log_start({2, 1, false}));
  w.end_batch();
  if (!w.write()) return 1;
  // The fuzzer reads the image after a mode byte of 0.
  put(root / "fuzz_log_reader", "segment", std::string(1, '\0') + image);
  return 0;
}
