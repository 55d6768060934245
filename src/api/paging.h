// Pagination of list routes: `limit` (1–1000, default 100) and an opaque `cursor`.
#pragma once

#include <string>
#include <string_view>

#include "api/http_types.h"
#include "core/error.h"

namespace coffer::api {

inline constexpr int kDefaultPageSize = 100;
inline constexpr int kMaxPageSize = 1000;

// The request's `limit`, or the default; 400 for anything but an integer 1–1000.
Result<int> page_limit(const Request& request);

// A cursor naming the last key of a page ("" when absent). `kind` keeps cursors of one list
// from being replayed on another.
std::string encode_cursor(std::string_view kind, std::string_view last_key);
// The key of the request's `cursor`; "" when there is none; 400 when it was not made by us.
Result<std::string> decode_cursor(const Request& request, std::string_view kind);

}  // namespace coffer::api
