#include "storage/testing/fault_env.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace storage {
namespace {

raft::Error io_error(const std::string& what, const std::string& path, int err) {
  return raft::make_error(raft::ErrorCode::Io, what + " " + path + ": " + std::strerror(err));
}

void split(const std::string& path, std::string* dir, std::string* name) {
  auto slash = path.find_last_of('/');
  if (slash == std::string::npos) {
    *dir = "";
    *name = path;
  } else {
    *dir = path.substr(0, slash);
    *name = path.substr(slash + 1);
  }
}

}  // namespace

class FaultEnv::File final : public WritableFile {
 public:
  File(FaultEnv* env, std::string path, std::shared_ptr<Inode> inode)
      : env_(env), path_(std::move(path)), inode_(std::move(inode)) {}
  raft::Result<void> append(std::string_view data) override {
    return env_->write(*inode_, path_, data);
  }
  raft::Result<void> sync() override { return env_->sync_inode(*inode_, path_); }

 private:
  FaultEnv* env_;
  std::string path_;
  std::shared_ptr<Inode> inode_;
};

class FaultEnv::Reader final : public RandomAccessFile {
 public:
  Reader(std::string path, std::shared_ptr<Inode> inode)
      : path_(std::move(path)), inode_(std::move(inode)) {}
  raft::Result<void> read(uint64_t offset, size_t n, std::string* out) const override {
    if (offset > inode_->data.size() || n > inode_->data.size() - offset) {
      return raft::make_error(raft::ErrorCode::Io, "read " + path_ + ": unexpected end of file");
    }
    out->assign(inode_->data, offset, n);
    return {};
  }

 private:
  std::string path_;
  std::shared_ptr<Inode> inode_;
};

void FaultEnv::fail_writes_after(uint64_t bytes, int err) {
  limit_writes_ = true;
  write_budget_ = bytes;
  write_errno_ = err;
}

void FaultEnv::clear_faults() {
  limit_writes_ = false;
  fail_syncs_ = false;
  fail_renames_ = false;
}

void FaultEnv::power_cut(CutMode mode, std::mt19937_64* rng) {
  for (auto& [path, dir] : dirs_) {
    dir.live = dir.durable;
    for (auto& [name, inode] : dir.live) {
      std::string kept = inode->durable;
      const std::string& cur = inode->data;
      const bool appended = cur.size() > kept.size() && cur.compare(0, kept.size(), kept) == 0;
      if (appended && mode != CutMode::kDropUnsynced && rng) {
        const size_t extra = cur.size() - kept.size();
        const size_t keep = std::uniform_int_distribution<size_t>(0, extra)(*rng);
        kept.append(cur, inode->durable.size(), keep);
        if (mode == CutMode::kZeroTail) kept.append(extra - keep, '\0');
      }
      inode->data = kept;
      inode->durable = kept;
    }
  }
}

std::string FaultEnv::contents(const std::string& path) const {
  auto inode = find(path);
  return inode ? inode->data : std::string();
}

void FaultEnv::set_contents(const std::string& path, std::string data) {
  std::string name;
  Dir* dir = dir_of(path, &name);
  if (!dir) {
    std::string d;
    split(path, &d, &name);
    (void)create_dirs(d);
    dir = dir_of(path, &name);
  }
  auto inode = dir->live.count(name) ? dir->live[name] : std::make_shared<Inode>();
  inode->data = data;
  inode->durable = std::move(data);
  dir->live[name] = inode;
  dir->durable[name] = inode;
}

std::shared_ptr<FaultEnv::Inode> FaultEnv::find(const std::string& path) const {
  std::string d, name;
  split(path, &d, &name);
  auto it = dirs_.find(d);
  if (it == dirs_.end()) return nullptr;
  auto f = it->second.live.find(name);
  return f == it->second.live.end() ? nullptr : f->second;
}

FaultEnv::Dir* FaultEnv::dir_of(const std::string& path, std::string* name) {
  std::string d;
  split(path, &d, name);
  auto it = dirs_.find(d);
  return it == dirs_.end() ? nullptr : &it->second;
}

raft::Result<void> FaultEnv::write(Inode& inode, const std::string& path, std::string_view data) {
  if (limit_writes_) {
    if (data.size() > write_budget_) {
      inode.data.append(data.data(), write_budget_);  // a short write, then the error
      write_budget_ = 0;
      return io_error("write", path, write_errno_);
    }
    write_budget_ -= data.size();
  }
  inode.data.append(data.data(), data.size());
  return {};
}

raft::Result<void> FaultEnv::sync_inode(Inode& inode, const std::string& path) {
  if (fail_syncs_) return io_error("fdatasync", path, EIO);
  ++syncs_;
  inode.durable = inode.data;
  return {};
}

raft::Result<std::unique_ptr<WritableFile>> FaultEnv::open_appendable(const std::string& path) {
  std::string name;
  Dir* dir = dir_of(path, &name);
  if (!dir) return io_error("open", path, ENOENT);
  auto& slot = dir->live[name];
  if (!slot) slot = std::make_shared<Inode>();
  return std::unique_ptr<WritableFile>(new File(this, path, slot));
}

raft::Result<std::unique_ptr<RandomAccessFile>> FaultEnv::open_random_access(
    const std::string& path) {
  auto inode = find(path);
  if (!inode) return io_error("open", path, ENOENT);
  return std::unique_ptr<RandomAccessFile>(new Reader(path, inode));
}

raft::Result<std::string> FaultEnv::read_file(const std::string& path) {
  auto inode = find(path);
  if (!inode) return io_error("open", path, ENOENT);
  return inode->data;
}

bool FaultEnv::exists(const std::string& path) {
  return dirs_.count(path) > 0 || find(path) != nullptr;
}

bool FaultEnv::is_directory(const std::string& path) { return dirs_.count(path) > 0; }

raft::Result<void> FaultEnv::create_dirs(const std::string& path) {
  if (find(path)) return io_error("mkdir", path, EEXIST);
  std::string p = path;
  while (!p.empty()) {
    dirs_[p];
    auto slash = p.find_last_of('/');
    if (slash == std::string::npos || slash == 0) break;
    p = p.substr(0, slash);
  }
  return {};
}

raft::Result<std::vector<std::string>> FaultEnv::list_dir(const std::string& dir) {
  auto it = dirs_.find(dir);
  if (it == dirs_.end()) return io_error("opendir", dir, ENOENT);
  std::vector<std::string> names;
  for (const auto& [name, inode] : it->second.live) names.push_back(name);
  // Subdirectories are entries too.
  const std::string prefix = dir + "/";
  for (const auto& [path, d] : dirs_) {
    if (path.size() > prefix.size() && path.compare(0, prefix.size(), prefix) == 0 &&
        path.find('/', prefix.size()) == std::string::npos) {
      names.push_back(path.substr(prefix.size()));
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

raft::Result<uint64_t> FaultEnv::file_size(const std::string& path) {
  auto inode = find(path);
  if (!inode) return io_error("stat", path, ENOENT);
  return static_cast<uint64_t>(inode->data.size());
}

raft::Result<void> FaultEnv::rename(const std::string& from, const std::string& to) {
  if (fail_renames_) return io_error("rename to " + to, from, EIO);
  std::string from_name, to_name;
  Dir* from_dir = dir_of(from, &from_name);
  Dir* to_dir = dir_of(to, &to_name);
  if (!from_dir || !from_dir->live.count(from_name) || !to_dir) {
    return io_error("rename to " + to, from, ENOENT);
  }
  auto inode = from_dir->live[from_name];
  from_dir->live.erase(from_name);
  to_dir->live[to_name] = inode;
  return {};
}

raft::Result<void> FaultEnv::remove_file(const std::string& path) {
  std::string name;
  Dir* dir = dir_of(path, &name);
  if (!dir || dir->live.erase(name) == 0) return io_error("unlink", path, ENOENT);
  return {};
}

raft::Result<void> FaultEnv::truncate(const std::string& path, uint64_t size) {
  auto inode = find(path);
  if (!inode) return io_error("truncate", path, ENOENT);
  if (fail_syncs_) return io_error("truncate", path, EIO);
  if (size < inode->data.size()) inode->data.resize(size);
  inode->durable = inode->data;
  return {};
}

raft::Result<void> FaultEnv::sync_dir(const std::string& dir) {
  auto it = dirs_.find(dir);
  if (it == dirs_.end()) return io_error("open", dir, ENOENT);
  if (fail_syncs_) return io_error("fsync", dir, EIO);
  ++syncs_;
  it->second.durable = it->second.live;
  return {};
}

}  // namespace storage
