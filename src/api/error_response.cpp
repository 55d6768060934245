#include "api/error_response.h"

#include <boost/json.hpp>

#include <algorithm>

#include "core/log.h"

namespace coffer::api {

int http_status(ErrorCode code) {
  switch (code) {
    case ErrorCode::kBadRequest:
    case ErrorCode::kInvalidPath: return 400;
    case ErrorCode::kUnauthenticated: return 401;
    case ErrorCode::kForbidden: return 403;
    case ErrorCode::kNotFound: return 404;
    case ErrorCode::kMethodNotAllowed: return 405;
    case ErrorCode::kConflict: return 409;
    case ErrorCode::kPreconditionFailed: return 412;
    case ErrorCode::kPayloadTooLarge: return 413;
    case ErrorCode::kUnsupportedMediaType: return 415;
    case ErrorCode::kRangeNotSatisfiable: return 416;
    case ErrorCode::kRequestTimeout: return 408;
    case ErrorCode::kRateLimited: return 429;
    case ErrorCode::kHeaderTooLarge: return 431;
    case ErrorCode::kInternal: return 500;
    case ErrorCode::kStorageUnavailable: return 503;
    case ErrorCode::kQuotaExceeded: return 507;
  }
  return 500;
}

std::string_view error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::kBadRequest:
    case ErrorCode::kRequestTimeout: return "bad_request";
    case ErrorCode::kInvalidPath: return "invalid_path";
    case ErrorCode::kUnauthenticated: return "unauthenticated";
    case ErrorCode::kForbidden: return "forbidden";
    case ErrorCode::kNotFound: return "not_found";
    case ErrorCode::kMethodNotAllowed: return "method_not_allowed";
    case ErrorCode::kConflict: return "conflict";
    case ErrorCode::kPreconditionFailed: return "precondition_failed";
    case ErrorCode::kPayloadTooLarge:
    case ErrorCode::kHeaderTooLarge: return "payload_too_large";
    case ErrorCode::kUnsupportedMediaType: return "unsupported_media_type";
    case ErrorCode::kRangeNotSatisfiable: return "range_not_satisfiable";
    case ErrorCode::kRateLimited: return "rate_limited";
    case ErrorCode::kStorageUnavailable: return "storage_unavailable";
    case ErrorCode::kQuotaExceeded: return "quota_exceeded";
    case ErrorCode::kInternal: return "internal";
  }
  return "internal";
}

Response error_response(const Error& error, std::string_view request_id) {
  // The client reads only the message; why the store or the server failed goes to the log.
  if (error.code == ErrorCode::kStorageUnavailable) {
    log::app().warn("request {}: storage unavailable: {}", request_id, error.detail);
  } else if (error.code == ErrorCode::kInternal) {
    log::app().error("request {}: internal error: {}", request_id, error.detail);
  }
  boost::json::object inner;
  inner["code"] = error_code_name(error.code);
  inner["message"] = error.message;
  inner["request_id"] = request_id;
  boost::json::object outer;
  outer["error"] = std::move(inner);
  Response r = json_response(http_status(error.code), boost::json::serialize(outer));
  if (error.code == ErrorCode::kUnauthenticated) r.header("WWW-Authenticate", "Bearer");
  if (error.code == ErrorCode::kStorageUnavailable || error.code == ErrorCode::kRateLimited) {
    r.header("Retry-After", std::to_string(std::max(1, error.retry_after_seconds)));
  }
  return r;
}

Response json_response(int status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  r.header("Content-Type", "application/json; charset=utf-8");
  return r;
}

}  // namespace coffer::api
