#include "raft/check.h"

#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>

namespace raft {
namespace {

void aborting_panic_handler(const char* file, int line, const std::string& message) {
  std::fprintf(stderr, "raft panic at %s:%d: %s\n", file, line, message.c_str());
  std::fflush(stderr);
  std::abort();
}

std::atomic<PanicHandler> g_handler{&aborting_panic_handler};

}  // namespace

PanicHandler set_panic_handler(PanicHandler handler) {
  return g_handler.exchange(handler ? handler : &aborting_panic_handler);
}

void panic(const char* file, int line, const std::string& message) {
  g_handler.load()(file, line, message);
  std::abort();  // a handler that returns is itself a bug
}

void throwing_panic_handler(const char* file, int line, const std::string& message) {
  throw PanicError{std::string(file) + ":" + std::to_string(line) + ": " + message};
}

std::string format(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  va_list copy;
  va_copy(copy, ap);
  int n = std::vsnprintf(nullptr, 0, fmt, copy);
  va_end(copy);
  std::string out(n > 0 ? static_cast<size_t>(n) : 0, '\0');
  if (n > 0) std::vsnprintf(out.data(), out.size() + 1, fmt, ap);
  va_end(ap);
  return out;
}

}  // namespace raft
