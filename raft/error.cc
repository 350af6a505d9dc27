#include "raft/error.h"

namespace raft {

std::string_view to_string(ErrorCode c) {
  switch (c) {
    case ErrorCode::ProposalDropped: return "proposal dropped";
    case ErrorCode::StepLocalMsg: return "cannot step a local message";
    case ErrorCode::StepPeerNotFound: return "peer not found";
    case ErrorCode::ConfigInvalid: return "invalid configuration";
    case ErrorCode::Compacted: return "log compacted";
    case ErrorCode::Unavailable: return "log entries unavailable";
    case ErrorCode::SnapshotOutOfDate: return "snapshot out of date";
    case ErrorCode::SnapshotTemporarilyUnavailable: return "snapshot temporarily unavailable";
    case ErrorCode::Io: return "storage I/O error";
  }
  return "unknown error";
}

std::string Error::to_string() const {
  std::string s(raft::to_string(code));
  if (!message.empty()) {
    s += ": ";
    s += message;
  }
  return s;
}

}  // namespace raft
