// The logging seam. The core never writes to stdout/stderr itself: the application injects
// a Logger (the node forwards to spdlog; tests keep the default, which discards).
#pragma once

#include <string>

namespace raft {

enum class LogLevel { Debug, Info, Warn, Error };

class Logger {
 public:
  virtual ~Logger() = default;
  virtual void log(LogLevel level, const std::string& message) = 0;
};

// Discards everything. The default when Config::logger is null.
class NullLogger final : public Logger {
 public:
  void log(LogLevel, const std::string&) override {}
};

NullLogger& null_logger();

}  // namespace raft
