#include "raft/types.h"

namespace raft {

std::string_view to_string(MessageType t) {
  switch (t) {
    case MessageType::MsgHup: return "MsgHup";
    case MessageType::MsgBeat: return "MsgBeat";
    case MessageType::MsgPropose: return "MsgPropose";
    case MessageType::MsgAppend: return "MsgAppend";
    case MessageType::MsgAppendResponse: return "MsgAppendResponse";
    case MessageType::MsgRequestVote: return "MsgRequestVote";
    case MessageType::MsgRequestVoteResponse: return "MsgRequestVoteResponse";
    case MessageType::MsgSnapshot: return "MsgSnapshot";
    case MessageType::MsgHeartbeat: return "MsgHeartbeat";
    case MessageType::MsgHeartbeatResponse: return "MsgHeartbeatResponse";
    case MessageType::MsgUnreachable: return "MsgUnreachable";
    case MessageType::MsgSnapStatus: return "MsgSnapStatus";
    case MessageType::MsgCheckQuorum: return "MsgCheckQuorum";
    case MessageType::MsgTransferLeader: return "MsgTransferLeader";
    case MessageType::MsgTimeoutNow: return "MsgTimeoutNow";
    case MessageType::MsgReadIndex: return "MsgReadIndex";
    case MessageType::MsgReadIndexResp: return "MsgReadIndexResp";
    case MessageType::MsgRequestPreVote: return "MsgRequestPreVote";
    case MessageType::MsgRequestPreVoteResponse: return "MsgRequestPreVoteResponse";
  }
  return "MsgUnknown";
}

bool is_local_msg(MessageType t) {
  return t == MessageType::MsgHup || t == MessageType::MsgBeat ||
         t == MessageType::MsgUnreachable || t == MessageType::MsgSnapStatus ||
         t == MessageType::MsgCheckQuorum;
}

bool is_response_msg(MessageType t) {
  return t == MessageType::MsgAppendResponse || t == MessageType::MsgRequestVoteResponse ||
         t == MessageType::MsgHeartbeatResponse || t == MessageType::MsgUnreachable ||
         t == MessageType::MsgRequestPreVoteResponse;
}

bool ConfChangeV2::enter_joint(bool* auto_leave) const {
  // A change of more than one voter must go through the joint configuration: with two
  // separate single changes, two disjoint majorities could exist (Raft thesis §4.3).
  if (transition != ConfChangeTransition::Auto || changes.size() > 1) {
    *auto_leave = transition != ConfChangeTransition::Explicit;
    return true;
  }
  return false;
}

ConfChangeV2 as_v2(const ConfChange& cc) {
  ConfChangeV2 v2;
  v2.changes.push_back(ConfChangeSingle{cc.change_type, cc.node_id});
  v2.context = cc.context;
  return v2;
}

std::string_view to_string(StateRole r) {
  switch (r) {
    case StateRole::Follower: return "follower";
    case StateRole::Candidate: return "candidate";
    case StateRole::Leader: return "leader";
    case StateRole::PreCandidate: return "precandidate";
  }
  return "unknown";
}

}  // namespace raft
