// Turns an Error into the error JSON of API.md, with the right status and headers.
#pragma once

#include <string_view>

#include "api/http_types.h"
#include "core/error.h"

namespace coffer::api {

int http_status(ErrorCode code);
// The API.md error code ("not_found", "bad_request", ...).
std::string_view error_code_name(ErrorCode code);

// {"error": {"code", "message", "request_id"}} plus WWW-Authenticate (401), Retry-After (429,
// 503). Only the public message reaches the client; `detail` is for the log.
Response error_response(const Error& error, std::string_view request_id);

// A JSON body with status and content type set.
Response json_response(int status, std::string body);

}  // namespace coffer::api
