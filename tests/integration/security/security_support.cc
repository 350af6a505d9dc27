#include "tests/integration/security/security_support.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <thread>

#include "client/connection.h"

namespace security_test {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

void append_security(const std::string& path, bool curve, const std::string& keys_dir) {
  std::ofstream f(path, std::ios::app);
  f << "security:\n  curve: " << (curve ? "true" : "false") << "\n  keys_dir: " << keys_dir << "\n";
}

void copy_config(const std::string& from, const std::string& to, const std::string& keys_dir, bool curve,
                 const std::string& data_dir) {
  std::istringstream in(read_file(from));
  std::ostringstream out;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("security:", 0) == 0) break;  // the block is last: replaced below
    if (line.rfind("data_dir:", 0) == 0) line = "data_dir: " + data_dir;
    out << line << "\n";
  }
  out << "security:\n  curve: " << (curve ? "true" : "false") << "\n  keys_dir: " << keys_dir << "\n";
  write_file(to, out.str());
}

void keygen(const std::string& config, const std::vector<std::string>& args) {
  std::vector<std::string> argv{RAFTCTL_BIN, "--config", config, "keygen"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = harness::run(argv);
  INFO(r.out);
  REQUIRE(r.exit_code == 0);
}

std::vector<std::string> secrets_in(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() != ".key") continue;
    std::istringstream in(read_file(e.path().string()));
    for (std::string line; std::getline(in, line);)
      if (!line.empty() && line[0] != '#') out.push_back(line);
  }
  return out;
}

ProcessCurve::ProcessCurve(const std::string& keys_dir, const std::string& name) {
  auto loaded = client::load_client_curve(keys_dir, name);
  if (auto* e = std::get_if<transport::KeyError>(&loaded)) FAIL(e->message);
  client::set_client_curve(std::make_shared<const client::ClientCurve>(std::get<client::ClientCurve>(loaded)));
}

ProcessCurve::~ProcessCurve() { client::set_client_curve(nullptr); }

NodeProcess::NodeProcess(const std::string& config, uint64_t id, bool bootstrap, const std::string& log_path) {
  std::vector<std::string> argv{RAFT_NODE_BIN, "--config", config, "--id", std::to_string(id)};
  if (bootstrap) argv.push_back("--bootstrap");
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  pid_ = fork();
  REQUIRE(pid_ >= 0);
  if (pid_ == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    const int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    for (int f = 3; f < 1024; ++f) close(f);
    execv(args[0], args.data());
    _exit(127);
  }
}

NodeProcess::~NodeProcess() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
}

int NodeProcess::stop() {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  int status = 0;
  while (waitpid(pid_, &status, WNOHANG) != pid_) {
    if (std::chrono::steady_clock::now() >= deadline) return -1;  // the destructor kills it
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace security_test
