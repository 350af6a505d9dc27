#include "storage/testing/trigger_fault_env.h"

#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <thread>

namespace storage {
namespace {

bool present(const std::string& path) {
  struct stat st {};
  return !path.empty() && ::stat(path.c_str(), &st) == 0;
}

raft::Error io_error(const std::string& what, const std::string& path, int err) {
  // Same shape as the POSIX Env's errors, so that is_out_of_space_error() recognises ENOSPC.
  return raft::make_error(raft::ErrorCode::Io, what + " " + path + ": " + std::strerror(err));
}

class TriggerWritableFile final : public WritableFile {
 public:
  TriggerWritableFile(const TriggerFaultEnv* env, std::string path, std::unique_ptr<WritableFile> base)
      : env_(env), path_(std::move(path)), base_(std::move(base)) {}
  raft::Result<void> append(std::string_view data) override {
    if (auto r = env_->before_append(path_); !r.ok()) return r;
    return base_->append(data);
  }
  raft::Result<void> sync() override {
    if (auto r = env_->before_sync(path_); !r.ok()) return r;
    return base_->sync();
  }

 private:
  const TriggerFaultEnv* env_;
  std::string path_;
  std::unique_ptr<WritableFile> base_;
};

}  // namespace

TriggerFaultEnv::TriggerFaultEnv(Env* base, TriggerFiles triggers) : base_(base), triggers_(std::move(triggers)) {}

raft::Result<void> TriggerFaultEnv::before_sync(const std::string& path) const {
  if (present(triggers_.fsync_delay_file)) {
    std::ifstream in(triggers_.fsync_delay_file);
    long ms = 0;
    if (in >> ms && ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  }
  if (present(triggers_.fsync_fail_file)) return io_error("fdatasync", path, EIO);
  return {};
}

raft::Result<void> TriggerFaultEnv::before_append(const std::string& path) const {
  if (present(triggers_.disk_full_file)) return io_error("write", path, ENOSPC);
  return {};
}

raft::Result<std::unique_ptr<WritableFile>> TriggerFaultEnv::open_appendable(const std::string& path) {
  auto file = base_->open_appendable(path);
  if (!file.ok()) return file.error();
  return std::unique_ptr<WritableFile>(new TriggerWritableFile(this, path, std::move(*file)));
}

raft::Result<void> TriggerFaultEnv::sync_dir(const std::string& dir) {
  if (auto r = before_sync(dir); !r.ok()) return r;
  return base_->sync_dir(dir);
}

}  // namespace storage
