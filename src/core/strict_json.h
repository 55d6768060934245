// Strict JSON for untrusted input (request bodies, token headers and payloads, JWKs): RFC 8259
// text only, valid UTF-8, bounded nesting, and no duplicate member names anywhere.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstddef>
#include <string_view>

#include "core/error.h"

namespace coffer {

// Deep enough for any real claim set or JWK; deeper input is refused before it can cost stack.
inline constexpr std::size_t kMaxJsonDepth = 32;

// Parses exactly one JSON text (surrounding whitespace allowed). Refuses comments, trailing
// commas, invalid UTF-8, a byte-order mark, trailing bytes, nesting deeper than kMaxJsonDepth and
// any object that repeats a member name (Boost.JSON alone would silently keep the last one).
// Errors are kBadRequest; the message names `what` (e.g. "request body") and the problem.
Result<boost::json::value> parse_strict_json(std::string_view text, std::string_view what);

// As parse_strict_json, and the top-level value must be an object.
Result<boost::json::object> parse_strict_json_object(std::string_view text, std::string_view what);

}  // namespace coffer
