// Builders and observers shared by the storage tests.
//
// observe() asks a raft::Storage every question the core can ask (bounds, every term, every
// entry, the initial state, the snapshot, and the errors at the edges) and returns the
// answers as one comparable value, so a test can say "DiskStorage answers exactly like
// MemStorage" in one REQUIRE.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "raft/storage.h"
#include "raft/types.h"

namespace storage_test {

inline raft::Entry entry(raft::Index index, raft::Term term, std::string data = {}) {
  raft::Entry e;
  e.index = index;
  e.term = term;
  if (data.empty()) {
    // Built by appending: g++ 12 at -O2 warns falsely (-Wrestrict) on "literal" + string.
    data.append("e").append(std::to_string(index)).append("t").append(std::to_string(term));
  }
  e.data = std::move(data);
  return e;
}

// Entries from `first` on, one per term given.
inline std::vector<raft::Entry> entries(raft::Index first, std::vector<raft::Term> terms) {
  std::vector<raft::Entry> out;
  for (size_t i = 0; i < terms.size(); ++i) out.push_back(entry(first + i, terms[i]));
  return out;
}

inline raft::HardState hard_state(raft::Term term, raft::NodeId vote, raft::Index commit) {
  raft::HardState hs;
  hs.term = term;
  hs.vote = vote;
  hs.commit = commit;
  return hs;
}

inline raft::Snapshot snapshot(raft::Index index, raft::Term term,
                               std::vector<raft::NodeId> voters, std::string data = "state") {
  raft::Snapshot s;
  s.metadata.index = index;
  s.metadata.term = term;
  s.metadata.conf_state.voters = std::move(voters);
  s.data = std::move(data);
  return s;
}

struct Observed {
  raft::Index first = 0;
  raft::Index last = 0;
  std::vector<raft::Term> terms;         // term(first - 1) .. term(last)
  std::vector<raft::Entry> entries;      // entries(first, last + 1)
  std::vector<raft::Entry> limited;      // entries(first, last + 1, 1 byte): one entry or none
  raft::HardState hard_state;
  raft::ConfState conf_state;
  raft::Snapshot snapshot;
  bool below_first_compacted = false;    // term(first - 2) and entries(first - 1, ..) say Compacted
  bool above_last_unavailable = false;   // term(last + 1) and entries(.., last + 2) say Unavailable

  bool operator==(const Observed&) const = default;
};

inline std::ostream& operator<<(std::ostream& os, const Observed& o) {
  os << "{first " << o.first << " last " << o.last << " terms [";
  for (auto t : o.terms) os << t << " ";
  os << "] hs " << o.hard_state.term << "/" << o.hard_state.vote << "/" << o.hard_state.commit
     << " snap " << o.snapshot.metadata.index << "/" << o.snapshot.metadata.term << " voters "
     << o.conf_state.voters.size() << " entries " << o.entries.size() << "}";
  return os;
}

inline Observed observe(const raft::Storage& s) {
  Observed o;
  o.first = s.first_index().value();
  o.last = s.last_index().value();
  for (raft::Index i = o.first - 1; i <= o.last; ++i) o.terms.push_back(s.term(i).value());
  o.entries = s.entries(o.first, o.last + 1, raft::kNoLimit).value();
  o.limited = s.entries(o.first, o.last + 1, 1).value();
  auto st = s.initial_state().value();
  o.hard_state = st.hard_state;
  o.conf_state = st.conf_state;
  o.snapshot = s.snapshot(0).value();
  if (o.first >= 2) {
    auto t = s.term(o.first - 2);
    auto e = s.entries(o.first - 1, o.last + 1, raft::kNoLimit);
    o.below_first_compacted = !t.ok() && t.code() == raft::ErrorCode::Compacted && !e.ok() &&
                              e.code() == raft::ErrorCode::Compacted;
  }
  {
    auto t = s.term(o.last + 1);
    auto e = s.entries(o.first, o.last + 2, raft::kNoLimit);
    o.above_last_unavailable = !t.ok() && t.code() == raft::ErrorCode::Unavailable && !e.ok() &&
                               e.code() == raft::ErrorCode::Unavailable;
  }
  return o;
}

// A fresh directory under /tmp, removed with everything in it at the end of the scope.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "storage_test.XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data()) ? tmpl : std::string();
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace storage_test
