// Error values and Result<T>: expected failures are values, exceptions are for start-up and bugs.
#pragma once

#include <boost/system/result.hpp>

#include <string>
#include <string_view>

namespace coffer {

// The closed set of failures a client can see. api/ maps each to an HTTP status and the
// error code of API.md (see error_status / error_code_name).
enum class ErrorCode {
  kBadRequest,
  kInvalidPath,
  kUnauthenticated,
  kForbidden,
  kNotFound,
  kMethodNotAllowed,
  kConflict,
  kPreconditionFailed,
  kPayloadTooLarge,
  kHeaderTooLarge,
  kRequestTimeout,
  kUnsupportedMediaType,
  kRangeNotSatisfiable,
  kRateLimited,
  kStorageUnavailable,
  kQuotaExceeded,
  kInternal,
};

// An error: `message` is what the client may read; `detail` is for the log only.
struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
  std::string detail;
  int retry_after_seconds = 0;  // for kRateLimited and kStorageUnavailable: the Retry-After

  static Error BadRequest(std::string message) { return {ErrorCode::kBadRequest, std::move(message), {}}; }
  static Error InvalidPath(std::string message) { return {ErrorCode::kInvalidPath, std::move(message), {}}; }
  static Error Unauthenticated(std::string detail = {}) {
    return {ErrorCode::kUnauthenticated, "invalid or missing credentials", std::move(detail)};
  }
  static Error Forbidden(std::string message = "not allowed") {
    return {ErrorCode::kForbidden, std::move(message), {}};
  }
  static Error NotFound(std::string message) { return {ErrorCode::kNotFound, std::move(message), {}}; }
  static Error Conflict(std::string message) { return {ErrorCode::kConflict, std::move(message), {}}; }
  static Error PreconditionFailed(std::string message = "If-Match did not match") {
    return {ErrorCode::kPreconditionFailed, std::move(message), {}};
  }
  static Error PayloadTooLarge(std::string message) {
    return {ErrorCode::kPayloadTooLarge, std::move(message), {}};
  }
  static Error UnsupportedMediaType(std::string message) {
    return {ErrorCode::kUnsupportedMediaType, std::move(message), {}};
  }
  static Error RangeNotSatisfiable() {
    return {ErrorCode::kRangeNotSatisfiable, "range not satisfiable", {}};
  }
  static Error RateLimited(std::string message, int retry_after_seconds) {
    return {ErrorCode::kRateLimited, std::move(message), {}, retry_after_seconds};
  }
  static Error StorageUnavailable(std::string detail) {
    return {ErrorCode::kStorageUnavailable, "storage is unavailable, retry later", std::move(detail), 5};
  }
  static Error QuotaExceeded(std::string message) {
    return {ErrorCode::kQuotaExceeded, std::move(message), {}};
  }
  static Error Internal(std::string detail) {
    return {ErrorCode::kInternal, "internal error", std::move(detail)};
  }
};

// Throws std::runtime_error; lets result<T, Error>::value() report a failure.
[[noreturn]] void throw_exception_from_error(const Error& e, const boost::source_location& loc);

template <class T>
using Result = boost::system::result<T, Error>;

// For `return Ok();` in Result<void> functions.
inline Result<void> Ok() { return {}; }

// Propagates an error: `COFFER_TRY(auto x, f());` or `COFFER_TRY_VOID(g());`.
#define COFFER_CONCAT_INNER(a, b) a##b
#define COFFER_CONCAT(a, b) COFFER_CONCAT_INNER(a, b)
#define COFFER_TRY_IMPL(tmp, decl, expr) \
  auto tmp = (expr);                     \
  if (!tmp) return std::move(tmp).error(); \
  decl = std::move(*tmp)
#define COFFER_TRY(decl, expr) COFFER_TRY_IMPL(COFFER_CONCAT(coffer_try_, __LINE__), decl, expr)
#define COFFER_TRY_VOID(expr)                                  \
  do {                                                         \
    auto coffer_try_v = (expr);                                \
    if (!coffer_try_v) return std::move(coffer_try_v).error(); \
  } while (0)

}  // namespace coffer
