// Expected failures of the core, returned as values (never thrown): a proposal that cannot
// be accepted now, a storage read of compacted or not-yet-available entries, an invalid
// configuration. Broken invariants are not errors: they go through RAFT_PANIC (check.h).
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace raft {

enum class ErrorCode {
  ProposalDropped,              // no leader, leadership transfer in progress, not a member...
  StepLocalMsg,                 // a local-only message arrived from the network
  StepPeerNotFound,             // a response from a peer that is not in the configuration
  ConfigInvalid,                // Config::validate or an impossible configuration change
  Compacted,                    // the requested index is older than the first kept entry
  Unavailable,                  // the requested index is newer than the last entry
  SnapshotOutOfDate,            // applying a snapshot older than what storage has
  SnapshotTemporarilyUnavailable,  // storage is still building the requested snapshot
  Io,                           // a durable Storage failed to read (outside raft/ only)
};

std::string_view to_string(ErrorCode c);

struct Error {
  ErrorCode code;
  std::string message;

  bool operator==(ErrorCode c) const { return code == c; }
  std::string to_string() const;
};

// Result<T> is either a value or an Error, in the spirit of absl::StatusOr.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  const T& value() const& { assert(ok()); return std::get<0>(v_); }
  T& value() & { assert(ok()); return std::get<0>(v_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(v_)); }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }

  const Error& error() const { assert(!ok()); return std::get<1>(v_); }
  ErrorCode code() const { return error().code; }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return !error_.has_value(); }
  explicit operator bool() const { return ok(); }
  const Error& error() const { assert(!ok()); return *error_; }
  ErrorCode code() const { return error().code; }

 private:
  std::optional<Error> error_;
};

inline Error make_error(ErrorCode code, std::string message = {}) {
  return Error{code, std::move(message)};
}

}  // namespace raft
