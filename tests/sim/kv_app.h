// KvApp: the replicated state machine the simulation runs on every node — an ordered map of
// strings plus, per client, the highest request sequence number applied.
//
// Commands are client writes (put, cas, del) encoded into normal log entries. A command whose
// (client, seq) is not newer than the client's last applied one is a duplicate (the network
// may duplicate a forwarded proposal, or a client may have given up on it and moved on) and
// is skipped, so every node reaches the same state from the same log.
//
// Invariant: the state is a pure function of the sequence of commands applied (so a snapshot
// plus the entries after it rebuild it exactly).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "tests/support/linearizability.h"

namespace sim {

struct Command {
  uint64_t client = 0;
  uint64_t seq = 0;
  lincheck::OpKind kind = lincheck::OpKind::Put;  // Put, Cas or Del (reads use ReadIndex)
  std::string key;
  std::string value;
  std::optional<std::string> expected;  // cas only; nullopt: the key must be absent

  bool operator==(const Command&) const = default;
};

std::string encode(const Command& c);
// nullopt if `data` is not an encoded command.
std::optional<Command> decode_command(const std::string& data);

struct ApplyResult {
  bool duplicate = false;  // skipped: (client, seq) was not newer than the last applied
  bool ok = true;          // false for a cas whose comparison failed
};

class KvApp {
 public:
  ApplyResult apply(const Command& c);
  std::optional<std::string> get(const std::string& key) const;

  std::string snapshot() const;
  // nullopt if `data` is not a snapshot produced by snapshot().
  static std::optional<KvApp> restore(const std::string& data);

  const std::map<std::string, std::string>& data() const { return kv_; }
  bool operator==(const KvApp&) const = default;

 private:
  std::map<std::string, std::string> kv_;
  std::map<uint64_t, uint64_t> last_seq_;
};

}  // namespace sim
