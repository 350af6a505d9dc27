#include "storage/records.h"

#include "raft/check.h"
#include "storage/coding.h"
#include "storage/log_format.h"

namespace storage {
namespace {

// A ConfState list is at most this long; anything larger is corruption, not a cluster.
constexpr uint32_t kMaxNodes = 1u << 16;
// Smallest encoding of one entry: type, term, two empty byte strings.
constexpr size_t kMinEntryBytes = 1 + 8 + 4 + 4;

void put_ids(Encoder& e, const std::vector<raft::NodeId>& ids) {
  e.put_u32(static_cast<uint32_t>(ids.size()));
  for (raft::NodeId id : ids) e.put_u64(id);
}

bool get_ids(Decoder& d, std::vector<raft::NodeId>* ids) {
  uint32_t n = 0;
  if (!d.get_u32(&n)) return false;
  if (n > kMaxNodes || n > d.remaining() / 8) {
    d.fail();
    return false;
  }
  ids->resize(n);
  for (auto& id : *ids) d.get_u64(&id);
  return d.ok();
}

}  // namespace

std::string encode_segment_header(const SegmentHeader& h) {
  std::string out;
  Encoder e(&out);
  e.put_u32(h.magic);
  e.put_u32(h.version);
  e.put_u64(h.seq);
  e.put_u64(h.first_index);
  e.put_u64(h.prev_term);
  e.put_u64(h.last_index);
  return out;
}

bool decode_segment_header(std::string_view in, SegmentHeader* h) {
  Decoder d(in);
  d.get_u32(&h->magic);
  d.get_u32(&h->version);
  d.get_u64(&h->seq);
  d.get_u64(&h->first_index);
  d.get_u64(&h->prev_term);
  d.get_u64(&h->last_index);
  return d.done();
}

std::string encode_log_start(const LogStart& s) {
  std::string out;
  Encoder e(&out);
  e.put_u64(s.first_index);
  e.put_u64(s.prev_term);
  e.put_u8(s.reset ? 1 : 0);
  return out;
}

bool decode_log_start(std::string_view in, LogStart* s) {
  Decoder d(in);
  uint8_t reset = 0;
  d.get_u64(&s->first_index);
  d.get_u64(&s->prev_term);
  d.get_u8(&reset);
  if (reset > 1) d.fail();
  s->reset = reset == 1;
  return d.done();
}

std::string encode_hard_state(const raft::HardState& hs) {
  std::string out;
  Encoder e(&out);
  e.put_u64(hs.term);
  e.put_u64(hs.vote);
  e.put_u64(hs.commit);
  return out;
}

bool decode_hard_state(std::string_view in, raft::HardState* hs) {
  Decoder d(in);
  d.get_u64(&hs->term);
  d.get_u64(&hs->vote);
  d.get_u64(&hs->commit);
  return d.done();
}

std::string encode_snapshot_metadata(const raft::SnapshotMetadata& m) {
  std::string out;
  Encoder e(&out);
  e.put_u64(m.index);
  e.put_u64(m.term);
  put_ids(e, m.conf_state.voters);
  put_ids(e, m.conf_state.learners);
  put_ids(e, m.conf_state.voters_outgoing);
  put_ids(e, m.conf_state.learners_next);
  e.put_u8(m.conf_state.auto_leave ? 1 : 0);
  return out;
}

bool decode_snapshot_metadata(std::string_view in, raft::SnapshotMetadata* m) {
  Decoder d(in);
  uint8_t auto_leave = 0;
  d.get_u64(&m->index);
  d.get_u64(&m->term);
  get_ids(d, &m->conf_state.voters);
  get_ids(d, &m->conf_state.learners);
  get_ids(d, &m->conf_state.voters_outgoing);
  get_ids(d, &m->conf_state.learners_next);
  d.get_u8(&auto_leave);
  if (auto_leave > 1) d.fail();
  m->conf_state.auto_leave = auto_leave == 1;
  return d.done();
}

void encode_entries(const raft::Entry* entries, size_t n, std::string* out) {
  size_t bytes = 12;
  for (size_t i = 0; i < n; ++i) bytes += kMinEntryBytes + entries[i].payload_size();
  out->reserve(out->size() + bytes);
  Encoder e(out);
  e.put_u64(n == 0 ? 0 : entries[0].index);
  e.put_u32(static_cast<uint32_t>(n));
  for (size_t i = 0; i < n; ++i) {
    RAFT_CHECK(entries[i].index == entries[0].index + i,
               "entries to encode are not consecutive: %lu at position %zu after %lu",
               entries[i].index, i, entries[0].index);
    e.put_u8(static_cast<uint8_t>(entries[i].type));
    e.put_u64(entries[i].term);
    e.put_bytes(entries[i].data);
    e.put_bytes(entries[i].context);
  }
}

bool decode_entries(std::string_view in, std::vector<raft::Entry>* entries) {
  Decoder d(in);
  uint64_t first = 0;
  uint32_t n = 0;
  d.get_u64(&first);
  d.get_u32(&n);
  if (!d.ok() || n == 0 || n > d.remaining() / kMinEntryBytes || first == 0 ||
      first + n < first) {
    return false;
  }
  entries->clear();
  entries->reserve(n);
  for (uint32_t i = 0; i < n; ++i) {
    raft::Entry& ent = entries->emplace_back();
    uint8_t type = 0;
    d.get_u8(&type);
    d.get_u64(&ent.term);
    d.get_bytes(&ent.data);
    d.get_bytes(&ent.context);
    if (!d.ok() || type > static_cast<uint8_t>(raft::EntryType::ConfChange)) return false;
    ent.type = static_cast<raft::EntryType>(type);
    ent.index = first + i;
  }
  return d.done();
}

bool decode_entry_terms(std::string_view in, raft::Index* first, std::vector<raft::Term>* terms) {
  Decoder d(in);
  uint32_t n = 0;
  d.get_u64(first);
  d.get_u32(&n);
  if (!d.ok() || n == 0 || n > d.remaining() / kMinEntryBytes || *first == 0 ||
      *first + n < *first) {
    return false;
  }
  terms->resize(n);
  for (uint32_t i = 0; i < n; ++i) {
    uint8_t type = 0;
    uint32_t len = 0;
    d.get_u8(&type);
    d.get_u64(&(*terms)[i]);
    d.get_u32(&len);
    d.skip(len);
    d.get_u32(&len);
    d.skip(len);
    if (!d.ok() || type > static_cast<uint8_t>(raft::EntryType::ConfChange)) return false;
  }
  return d.done();
}

namespace {

std::string ids_to_string(const std::vector<raft::NodeId>& ids) {
  std::string s = "[";
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i) s += ",";
    s += std::to_string(ids[i]);
  }
  return s + "]";
}

}  // namespace

std::string conf_state_to_string(const raft::ConfState& cs) {
  std::string s = "voters=" + ids_to_string(cs.voters);
  if (!cs.learners.empty()) s += " learners=" + ids_to_string(cs.learners);
  if (!cs.voters_outgoing.empty()) s += " voters_outgoing=" + ids_to_string(cs.voters_outgoing);
  if (!cs.learners_next.empty()) s += " learners_next=" + ids_to_string(cs.learners_next);
  if (cs.auto_leave) s += " auto_leave";
  return s;
}

std::string describe_record(uint8_t type, std::string_view payload) {
  switch (static_cast<RecordType>(type)) {
    case RecordType::kSegmentHeader: {
      SegmentHeader h;
      if (!decode_segment_header(payload, &h)) break;
      return raft::format("segment-header seq=%lu version=%u log=[%lu..%lu] prev_term=%lu",
                          h.seq, h.version, h.first_index, h.last_index, h.prev_term);
    }
    case RecordType::kEntries: {
      std::vector<raft::Entry> ents;
      if (!decode_entries(payload, &ents)) break;
      uint64_t bytes = 0;
      for (const auto& e : ents) bytes += e.payload_size();
      return raft::format("entries %lu..%lu terms %lu..%lu (%zu entries, %lu payload bytes)",
                          ents.front().index, ents.back().index, ents.front().term,
                          ents.back().term, ents.size(), bytes);
    }
    case RecordType::kHardState: {
      raft::HardState hs;
      if (!decode_hard_state(payload, &hs)) break;
      return raft::format("hard-state term=%lu vote=%lu commit=%lu", hs.term, hs.vote,
                          hs.commit);
    }
    case RecordType::kSnapshotMarker:
    case RecordType::kSnapshotMeta: {
      raft::SnapshotMetadata m;
      if (!decode_snapshot_metadata(payload, &m)) break;
      return raft::format("%s index=%lu term=%lu %s",
                          type == static_cast<uint8_t>(RecordType::kSnapshotMarker)
                              ? "snapshot-marker"
                              : "snapshot-meta",
                          m.index, m.term, conf_state_to_string(m.conf_state).c_str());
    }
    case RecordType::kLogStart: {
      LogStart s;
      if (!decode_log_start(payload, &s)) break;
      return raft::format("log-start first=%lu prev_term=%lu%s", s.first_index, s.prev_term,
                          s.reset ? " reset" : "");
    }
    case RecordType::kSnapshotData:
      return raft::format("snapshot-data %zu bytes", payload.size());
    case RecordType::kZero:
      break;
  }
  return raft::format("undecodable record of type %u (%zu bytes)", type, payload.size());
}

}  // namespace storage
