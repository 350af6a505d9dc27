#include "tests/chaos/emergency.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstring>

namespace chaos::emergency {
namespace {

constexpr int kMaxPids = 64;
std::atomic<pid_t> g_pids[kMaxPids];
char g_table[128];
std::atomic<bool> g_table_set{false};
std::atomic<bool> g_installed{false};

void handler(int sig) {
  for (auto& p : g_pids) {
    const pid_t pid = p.load();
    if (pid > 0) ::kill(pid, SIGKILL);
  }
  if (g_table_set.load()) {
    // nft delete table inet raftchaos_<pid>: argv built from preallocated storage only.
    static char a0[] = "/usr/sbin/nft", a1[] = "delete", a2[] = "table", a3[] = "inet";
    char* argv[] = {a0, a1, a2, a3, g_table, nullptr};
    const pid_t child = fork();
    if (child == 0) {
      execv(a0, argv);
      _exit(127);
    }
    if (child > 0) {
      int status;
      waitpid(child, &status, 0);
    }
  }
  signal(sig, SIG_DFL);
  raise(sig);
}

}  // namespace

void install() {
  if (g_installed.exchange(true)) return;
  struct sigaction sa = {};
  sa.sa_handler = handler;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESETHAND;
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL}) sigaction(sig, &sa, nullptr);
}

void add_pid(pid_t pid) {
  for (auto& p : g_pids) {
    pid_t expected = 0;
    if (p.compare_exchange_strong(expected, pid)) return;
  }
}

void remove_pid(pid_t pid) {
  for (auto& p : g_pids) {
    pid_t expected = pid;
    if (p.compare_exchange_strong(expected, 0)) return;
  }
}

void set_table(const char* family_and_name) {
  g_table_set.store(false);
  if (!family_and_name || !*family_and_name) return;
  // Only the table name is kept (the family is always inet).
  const char* name = std::strchr(family_and_name, ' ');
  name = name ? name + 1 : family_and_name;
  std::strncpy(g_table, name, sizeof(g_table) - 1);
  g_table[sizeof(g_table) - 1] = '\0';
  g_table_set.store(true);
}

}  // namespace chaos::emergency
