// Helpers of the security integration tests: turning CURVE on in a harness cluster file,
// key folders for intruders, a process guard, and reading files.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "tests/integration/cluster_harness.h"

namespace security_test {

std::string read_file(const std::string& path);
void write_file(const std::string& path, const std::string& text);

// Appends a security block (curve on, keys_dir `keys_dir`, relative to the file) to the
// cluster file at `path`.
void append_security(const std::string& path, bool curve, const std::string& keys_dir);
// Copies the cluster file at `from` to `to` with another keys_dir and curve setting and the
// data_dir made absolute (so that the copy may live in another folder).
void copy_config(const std::string& from, const std::string& to, const std::string& keys_dir, bool curve,
                 const std::string& data_dir);

// Runs `raftctl --config FILE keygen ARGS...`; REQUIREs exit 0.
void keygen(const std::string& config, const std::vector<std::string>& args = {});

// Every secret key (the Z85 line of each *.key) in `dir`.
std::vector<std::string> secrets_in(const std::string& dir);

// Makes every client::Connection of this test process use the client key `name` of
// `keys_dir` while it lives (the harness's status queries go through it); plain again after.
class ProcessCurve {
 public:
  ProcessCurve(const std::string& keys_dir, const std::string& name = "client");
  ~ProcessCurve();
};

// A raft-node started outside the harness (another cluster file); SIGKILLed and reaped by
// the destructor whatever happens.
class NodeProcess {
 public:
  NodeProcess(const std::string& config, uint64_t id, bool bootstrap, const std::string& log_path);
  ~NodeProcess();
  NodeProcess(const NodeProcess&) = delete;
  NodeProcess& operator=(const NodeProcess&) = delete;
  // SIGTERM and wait (bounded); returns the exit code or -1.
  int stop();
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
};

}  // namespace security_test
