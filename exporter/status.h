#pragma once

#include <string>
#include <utility>
#include <variant>

namespace joelclaw {

/// The outcome of an operation: ok, or an error with a sentence-style message
/// ("config.yaml:12: check 'redis' has no address."). Value type; cheap to
/// move. Not thread-safe for concurrent mutation, like any value.
class [[nodiscard]] Status {
 public:
  Status() = default;
  static Status Ok() { return Status(); }
  static Status Error(std::string message) {
    Status s;
    s.ok_ = false;
    s.message_ = std::move(message);
    return s;
  }

  bool ok() const { return ok_; }
  const std::string& message() const { return message_; }
  /// "OK" or the message.
  std::string ToString() const { return ok_ ? "OK" : message_; }
  /// Returns a copy whose message is "prefix: message". Ok stays ok.
  Status WithPrefix(const std::string& prefix) const {
    return ok_ ? *this : Error(prefix + ": " + message_);
  }

 private:
  bool ok_ = true;
  std::string message_;
};

/// Either a T or an error Status. REQUIRES: value() only when ok().
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design.
  Result(Status status) : v_(std::move(status)) {}  // NOLINT
  static Result Error(std::string message) {
    return Result(Status::Error(std::move(message)));
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T& value() & { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }

  /// The error, or Ok.
  Status status() const {
    return ok() ? Status::Ok() : std::get<Status>(v_);
  }

 private:
  std::variant<T, Status> v_;
};

}  // namespace joelclaw
