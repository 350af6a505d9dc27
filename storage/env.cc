#include "storage/env.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace storage {
namespace {

raft::Error io_error(const std::string& what, const std::string& path, int err) {
  return raft::make_error(raft::ErrorCode::Io, what + " " + path + ": " + std::strerror(err));
}

class PosixWritableFile final : public WritableFile {
 public:
  PosixWritableFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~PosixWritableFile() override { ::close(fd_); }

  raft::Result<void> append(std::string_view data) override {
    const char* p = data.data();
    size_t left = data.size();
    while (left > 0) {
      ssize_t n = ::write(fd_, p, left);
      if (n < 0) {
        if (errno == EINTR) continue;
        return io_error("write", path_, errno);
      }
      p += n;
      left -= static_cast<size_t>(n);
    }
    return {};
  }

  raft::Result<void> sync() override {
    // fdatasync also flushes the file size, which is all the metadata an append changes.
    if (::fdatasync(fd_) != 0) return io_error("fdatasync", path_, errno);
    return {};
  }

 private:
  std::string path_;
  int fd_;
};

class PosixRandomAccessFile final : public RandomAccessFile {
 public:
  PosixRandomAccessFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~PosixRandomAccessFile() override { ::close(fd_); }

  raft::Result<void> read(uint64_t offset, size_t n, std::string* out) const override {
    out->resize(n);
    size_t done = 0;
    while (done < n) {
      ssize_t r = ::pread(fd_, out->data() + done, n - done, static_cast<off_t>(offset + done));
      if (r < 0) {
        if (errno == EINTR) continue;
        return io_error("read", path_, errno);
      }
      if (r == 0) {
        return raft::make_error(raft::ErrorCode::Io,
                                "read " + path_ + ": unexpected end of file at offset " +
                                    std::to_string(offset + done));
      }
      done += static_cast<size_t>(r);
    }
    return {};
  }

 private:
  std::string path_;
  int fd_;
};

class PosixEnv final : public Env {
 public:
  raft::Result<std::unique_ptr<WritableFile>> open_appendable(const std::string& path) override {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return io_error("open", path, errno);
    return std::unique_ptr<WritableFile>(new PosixWritableFile(path, fd));
  }

  raft::Result<std::unique_ptr<RandomAccessFile>> open_random_access(
      const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return io_error("open", path, errno);
    return std::unique_ptr<RandomAccessFile>(new PosixRandomAccessFile(path, fd));
  }

  raft::Result<std::string> read_file(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return io_error("open", path, errno);
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      int err = errno;
      ::close(fd);
      return io_error("stat", path, err);
    }
    std::string out(static_cast<size_t>(st.st_size), '\0');
    size_t done = 0;
    while (true) {
      if (done == out.size()) out.resize(out.size() + 4096);  // the file may have grown
      ssize_t r = ::read(fd, out.data() + done, out.size() - done);
      if (r < 0) {
        if (errno == EINTR) continue;
        int err = errno;
        ::close(fd);
        return io_error("read", path, err);
      }
      if (r == 0) break;
      done += static_cast<size_t>(r);
    }
    ::close(fd);
    out.resize(done);
    return out;
  }

  bool exists(const std::string& path) override {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0;
  }

  bool is_directory(const std::string& path) override {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
  }

  raft::Result<void> create_dirs(const std::string& path) override {
    if (path.empty() || is_directory(path)) return {};
    auto slash = path.find_last_of('/');
    if (slash != std::string::npos && slash > 0) {
      auto parent = create_dirs(path.substr(0, slash));
      if (!parent.ok()) return parent;
    }
    if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) return io_error("mkdir", path, errno);
    return {};
  }

  raft::Result<std::vector<std::string>> list_dir(const std::string& dir) override {
    DIR* d = ::opendir(dir.c_str());
    if (!d) return io_error("opendir", dir, errno);
    std::vector<std::string> names;
    while (struct dirent* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name != "." && name != "..") names.push_back(std::move(name));
    }
    ::closedir(d);
    std::sort(names.begin(), names.end());
    return names;
  }

  raft::Result<uint64_t> file_size(const std::string& path) override {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return io_error("stat", path, errno);
    return static_cast<uint64_t>(st.st_size);
  }

  raft::Result<void> rename(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) return io_error("rename to " + to, from, errno);
    return {};
  }

  raft::Result<void> remove_file(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) return io_error("unlink", path, errno);
    return {};
  }

  raft::Result<void> truncate(const std::string& path, uint64_t size) override {
    int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return io_error("open", path, errno);
    if (::ftruncate(fd, static_cast<off_t>(size)) != 0 || ::fsync(fd) != 0) {
      int err = errno;
      ::close(fd);
      return io_error("truncate", path, err);
    }
    ::close(fd);
    return {};
  }

  raft::Result<void> sync_dir(const std::string& dir) override {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return io_error("open", dir, errno);
    if (::fsync(fd) != 0) {
      int err = errno;
      ::close(fd);
      return io_error("fsync", dir, err);
    }
    ::close(fd);
    return {};
  }
};

}  // namespace

Env* default_env() {
  static PosixEnv env;
  return &env;
}

bool is_out_of_space_error(const raft::Error& e) {
  // Every Env reports errors as "<what> <path>: <strerror(errno)>" (io_error above and in
  // fault_env.cc), so the system error is the message's tail.
  auto ends_with = [&](const char* tail) {
    const std::string t = tail;
    return e.message.size() >= t.size() && e.message.compare(e.message.size() - t.size(), t.size(), t) == 0;
  };
  return e.code == raft::ErrorCode::Io && (ends_with(std::strerror(ENOSPC)) || ends_with(std::strerror(EDQUOT)));
}

std::string join_path(const std::string& dir, const std::string& name) {
  if (dir.empty()) return name;
  if (dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

}  // namespace storage
