// Always-on invariant checks. A broken invariant means the node can no longer be trusted
// to keep the Raft safety properties, so the default handler prints the message and aborts.
// Tests install a throwing handler (set_panic_handler) so that REQUIRE_THROWS can observe a
// panic. Unlike assert(), these are not compiled out by NDEBUG.
#pragma once

#include <string>

namespace raft {

using PanicHandler = void (*)(const char* file, int line, const std::string& message);

// Installs `handler` and returns the previous one. The handler must not return normally
// (abort or throw).
PanicHandler set_panic_handler(PanicHandler handler);

[[noreturn]] void panic(const char* file, int line, const std::string& message);

// The exception thrown by throwing_panic_handler, for tests.
struct PanicError {
  std::string message;
};
[[noreturn]] void throwing_panic_handler(const char* file, int line, const std::string& message);

// printf-style formatting into a std::string (the core has no fmt dependency).
std::string format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

}  // namespace raft

#define RAFT_PANIC(...) ::raft::panic(__FILE__, __LINE__, ::raft::format(__VA_ARGS__))
#define RAFT_CHECK(cond, ...)                                                          \
  do {                                                                                 \
    if (!(cond)) [[unlikely]] {                                                        \
      ::raft::panic(__FILE__, __LINE__,                                                \
                    std::string("check failed: " #cond ": ") + ::raft::format(__VA_ARGS__)); \
    }                                                                                  \
  } while (0)
