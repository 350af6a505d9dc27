// CURVE key files: the on-disk layout of the keys that secure peer and client traffic, and
// the socket options that turn a ZeroMQ socket into a CURVE server or client.
//
// Layout of keys_dir (the cluster file's security.keys_dir; docs/security.md):
//   node-<id>.key     secret key of node <id>   (mode 0600: refused if group/others can read)
//   node-<id>.pub     public key of node <id>
//   client-<name>.key secret key of a client    (raftctl --key NAME, default "client")
//   client-<name>.pub public key of that client
// Each file holds one key as 40 characters of Z85 (ZeroMQ's text encoding of 32 bytes) on its
// own line; blank lines and lines starting with '#' are comments. A node needs its own
// node-<id>.key and every node-*.pub (peers) and client-*.pub (clients it admits); a client
// needs its own client-<name>.key and the node-*.pub of the nodes it talks to.
//
// Invariants: nothing here ever puts secret key material into an error message, and a secret
// key is only read from a regular file that neither group nor others may read (as ssh does).
// write_key_pair() never overwrites an existing file (O_EXCL).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include <zmq.hpp>

#include "raft/types.h"

namespace transport {

inline constexpr size_t kZ85KeyChars = 40;

struct CurveKeyPair {
  std::string public_key;  // Z85, 40 characters
  std::string secret_key;  // Z85, 40 characters; never log it
};

struct KeyError {
  std::string message;  // one line, names the file; never contains secret material
};

// Security settings of one node's sockets, straight from the cluster file.
struct CurveSettings {
  bool enabled = false;
  std::string keys_dir;  // absolute
};

// "node-<id>" and "client-<name>": the base names of key files (".key" / ".pub" appended).
std::string node_key_name(raft::NodeId id);
std::string client_key_name(const std::string& name);
// "" if `name` is a usable client name (1..64 of [A-Za-z0-9._-]), else why not.
std::string check_client_name(const std::string& name);

// A short, printable fingerprint of a public key for logs and keygen output: its first 8
// Z85 characters. (Public keys are not secret; this keeps log lines short.)
std::string fingerprint(const std::string& public_key_z85);

// A fresh random key pair (libsodium through zmq_curve_keypair). Fails only if libzmq was
// built without CURVE.
std::variant<CurveKeyPair, KeyError> generate_key_pair();
// The public key of a Z85 secret key; "" if it is not a valid key.
std::string public_of(const std::string& secret_key_z85);
// true if `key` is 40 characters of Z85 that decode to 32 bytes.
bool valid_z85_key(const std::string& key);

// Reads <dir>/<name>.pub.
std::variant<std::string, KeyError> read_public_key(const std::string& dir, const std::string& name);
// Reads only <dir>/<name>.key (refused if group/others may read it).
std::variant<std::string, KeyError> read_secret_key(const std::string& dir, const std::string& name);
// Reads <dir>/<name>.key (refused if group/others may read it) and <dir>/<name>.pub, and
// checks that the public key belongs to the secret key.
std::variant<CurveKeyPair, KeyError> read_key_pair(const std::string& dir, const std::string& name);
// Every <dir>/<prefix>*.pub that holds a valid key: base name -> public key. Unreadable or
// malformed files are skipped and described in `problems` (if given).
std::map<std::string, std::string> scan_public_keys(const std::string& dir, const std::vector<std::string>& prefixes,
                                                    std::vector<std::string>* problems = nullptr);

// Writes <dir>/<name>.key (mode 0600) and <dir>/<name>.pub (mode 0644); `comment` goes on a
// '#' line above each key. Fails, changing nothing, if either file exists.
std::variant<std::monostate, KeyError> write_key_pair(const std::string& dir, const std::string& name,
                                                      const CurveKeyPair& pair, const std::string& comment);
// Writes only <dir>/<name>.pub (keygen uses it when the secret exists but its .pub is lost).
std::variant<std::monostate, KeyError> write_public_key(const std::string& dir, const std::string& name,
                                                        const std::string& public_key, const std::string& comment);

// Socket options. Call before bind/connect. A CURVE server authenticates clients through the
// ZAP handler of its context (zap_authenticator.h) under `zap_domain`.
void make_curve_server(zmq::socket_t& s, const CurveKeyPair& own, const std::string& zap_domain);
void make_curve_client(zmq::socket_t& s, const CurveKeyPair& own, const std::string& server_public_key);

}  // namespace transport
