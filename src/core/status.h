// Status and StatusOr: expected failures as values (LevelDB / Abseil style).
//
// Codes map one-to-one onto HTTP statuses (HttpStatus) and process exit codes
// (ExitCode), so the CLI and the server report every failure the same way.
#ifndef OPSPILOT_CORE_STATUS_H_
#define OPSPILOT_CORE_STATUS_H_

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "core/check.h"

namespace opspilot {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,     // bad user input (file, flag, request body)
  kNotFound,            // a named thing does not exist
  kAlreadyExists,       // creating something that is already there
  kFailedPrecondition,  // the system is not in a state to do this
  kUnauthenticated,     // no or bad credentials
  kPermissionDenied,    // credentials without the needed role
  kResourceExhausted,   // a size or count limit was exceeded
  kUnavailable,         // transient: retry may succeed (busy database, network)
  kInternal,            // a bug or a broken invariant in a dependency
};

// Stable lower-case name ("invalid_argument"), used in JSON errors.
std::string_view StatusCodeName(StatusCode code);
// HTTP status for an error code (400, 404, 409, 412, 401, 403, 413, 503, 500).
int HttpStatus(StatusCode code);
// Process exit code for an error code; 0 for kOk. Documented in docs/cli.md.
int ExitCode(StatusCode code);

// A Status is either OK (no allocation) or a code with a message.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message);

  static Status Ok() { return Status(); }

  bool ok() const { return rep_ == nullptr; }
  StatusCode code() const { return rep_ ? rep_->code : StatusCode::kOk; }
  const std::string& message() const;
  // "invalid_argument: message", or "ok".
  std::string ToString() const;

  // Returns a copy with `context + ": "` prepended to the message.
  Status WithContext(std::string_view context) const;

 private:
  struct Rep {
    StatusCode code;
    std::string message;
  };
  std::shared_ptr<const Rep> rep_;
};

Status InvalidArgument(std::string message);
Status NotFound(std::string message);
Status AlreadyExists(std::string message);
Status FailedPrecondition(std::string message);
Status Unauthenticated(std::string message);
Status PermissionDenied(std::string message);
Status ResourceExhausted(std::string message);
Status Unavailable(std::string message);
Status Internal(std::string message);

// A value or an error. Accessing value() of an error is a programmer bug (CHECK).
template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(Status status) : status_(std::move(status)) {  // NOLINT: implicit by design
    OP_CHECK(!status_.ok()) << "StatusOr constructed from an OK status without a value";
  }
  StatusOr(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }

  T& value() & {
    OP_CHECK(ok()) << status_.ToString();
    return *value_;
  }
  const T& value() const& {
    OP_CHECK(ok()) << status_.ToString();
    return *value_;
  }
  T&& value() && {
    OP_CHECK(ok()) << status_.ToString();
    return std::move(*value_);
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace opspilot

#define OP_STATUS_CONCAT_INNER(a, b) a##b
#define OP_STATUS_CONCAT(a, b) OP_STATUS_CONCAT_INNER(a, b)

// Returns the status from the enclosing function if `expr` is not OK.
#define RETURN_IF_ERROR(expr)                         \
  do {                                                \
    ::opspilot::Status op_status_ = (expr);           \
    if (!op_status_.ok()) return op_status_;          \
  } while (0)

#define OP_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                             \
  if (!tmp.ok()) return tmp.status();            \
  lhs = std::move(tmp).value()

// `ASSIGN_OR_RETURN(auto x, F());` declares x from F()'s value or returns its error.
#define ASSIGN_OR_RETURN(lhs, expr) \
  OP_ASSIGN_OR_RETURN_IMPL(OP_STATUS_CONCAT(op_statusor_, __LINE__), lhs, expr)

#endif  // OPSPILOT_CORE_STATUS_H_
