// Conditional request headers (RFC 9110 §13) evaluated against one representation. Pure.
//
// `header` is the field value of a header that is present (the caller handles absence, and
// joins repeated fields with ", "). `etag` is the representation's entity-tag as sent in ETag,
// e.g. "\"abc\"" (a W/ prefix marks it weak). A malformed header never matches.
#pragma once

#include <string_view>

#include "core/clock.h"

namespace coffer {

// If-None-Match: true when "*" or any listed entity-tag equals `etag` by weak comparison (W/
// ignored on both sides). True means: answer a GET/HEAD with 304 Not Modified.
bool if_none_match_matches(std::string_view header, std::string_view etag);

// If-Match: true when "*" or any listed entity-tag equals `etag` by strong comparison (a weak
// tag on either side never matches). False means: answer 412 Precondition Failed.
bool if_match_matches(std::string_view header, std::string_view etag);

// If-Range: true when the Range header may be honoured: the header is a strong entity-tag equal
// to `etag` (strong comparison), or an HTTP-date equal to `last_modified` at one-second
// resolution. False (weak tags, lists, unparsable values, mismatches) means: ignore Range and
// send the whole representation with 200.
bool if_range_allows_range(std::string_view header, std::string_view etag,
                           SystemTime last_modified);

}  // namespace coffer
