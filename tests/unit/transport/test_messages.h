// Builders shared by the transport tests.
#pragma once

#include <string>

#include "raft/types.h"

namespace transport_test {

inline raft::Entry entry(raft::Term term, raft::Index index, std::string data, std::string context = "",
                         raft::EntryType type = raft::EntryType::Normal) {
  raft::Entry e;
  e.type = type;
  e.term = term;
  e.index = index;
  e.data = std::move(data);
  e.context = std::move(context);
  return e;
}

// A message with every field set to something distinctive, so that a round trip that loses
// or swaps any field fails.
inline raft::Message rich_message(raft::MessageType type) {
  raft::Message m;
  m.msg_type = type;
  m.from = 3;
  m.to = 5;
  m.term = 0x0102030405060708ull;
  m.log_term = 41;
  m.index = 0xfffffffffffffff0ull;
  m.entries = {entry(7, 100, std::string("a\0b", 3)), entry(7, 101, "", "ctx"),
               entry(8, 102, std::string(300, 'x'), "", raft::EntryType::ConfChange)};
  m.commit = 99;
  m.snapshot.data = std::string("snap\0data", 9);
  m.snapshot.metadata.index = 90;
  m.snapshot.metadata.term = 6;
  m.snapshot.metadata.conf_state.voters = {1, 2, 3};
  m.snapshot.metadata.conf_state.learners = {4};
  m.snapshot.metadata.conf_state.voters_outgoing = {1, 2, 5};
  m.snapshot.metadata.conf_state.learners_next = {5};
  m.snapshot.metadata.conf_state.auto_leave = true;
  m.reject = true;
  m.reject_hint = 77;
  m.context = "read-ctx";
  return m;
}

inline raft::Message small_message(raft::NodeId from, raft::NodeId to, raft::Index index) {
  raft::Message m;
  m.msg_type = raft::MessageType::MsgHeartbeat;
  m.from = from;
  m.to = to;
  m.term = 1;
  m.commit = index;
  return m;
}

}  // namespace transport_test
