// DirLock: one process per node folder, refusals that name the holder and change nothing.
#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "storage/dir_lock.h"
#include "storage_test_util.h"

using namespace storage;

namespace {

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST_CASE("a held folder lock refuses a second holder, naming the folder and the holder's pid", "[dir_lock]") {
  storage_test::TempDir dir;
  auto first = DirLock::acquire(dir.path());
  REQUIRE(first.ok());
  const std::string lock_path = dir.path() + "/LOCK";
  const std::string before = read_all(lock_path);
  CHECK(before == std::to_string(getpid()) + "\n");

  // flock locks belong to the open file description, so a second open in this process
  // conflicts exactly as another process would.
  auto second = DirLock::acquire(dir.path());
  REQUIRE_FALSE(second.ok());
  CHECK(second.error().message == dir.path() + " is in use by another raft-node (pid " + std::to_string(getpid()) +
                                      ", see " + lock_path + ")");
  CHECK(read_all(lock_path) == before);  // the refused attempt wrote nothing
  CHECK(lock_holder(dir.path()) == std::optional<pid_t>(getpid()));
}

TEST_CASE("a folder lock is released when its holder goes, even by SIGKILL", "[dir_lock]") {
  storage_test::TempDir dir;
  int ready[2];
  REQUIRE(pipe(ready) == 0);
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    auto held = DirLock::acquire(dir.path());
    const char b = held.ok() ? 1 : 0;
    (void)!write(ready[1], &b, 1);
    pause();  // until killed
    _exit(0);
  }
  char b = 0;
  REQUIRE(read(ready[0], &b, 1) == 1);
  REQUIRE(b == 1);
  CHECK(lock_holder(dir.path()) == std::optional<pid_t>(child));
  auto refused = DirLock::acquire(dir.path());
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().message.find("(pid " + std::to_string(child) + ",") != std::string::npos);

  kill(child, SIGKILL);
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  close(ready[0]);
  close(ready[1]);
  CHECK_FALSE(lock_holder(dir.path()).has_value());  // the stale LOCK file blocks nothing
  auto taken = DirLock::acquire(dir.path());
  REQUIRE(taken.ok());
  CHECK(read_all(dir.path() + "/LOCK") == std::to_string(getpid()) + "\n");
}

TEST_CASE("probing a folder without a LOCK file creates nothing", "[dir_lock]") {
  storage_test::TempDir dir;
  CHECK_FALSE(lock_holder(dir.path()).has_value());
  CHECK_FALSE(std::filesystem::exists(dir.path() + "/LOCK"));
}
