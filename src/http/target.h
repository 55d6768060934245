#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.h"

namespace coffer::http {

struct Target {
  std::string path;  // percent-encoded, as received
  std::vector<std::pair<std::string, std::string>> query;  // decoded; '+' means space
};

// Splits an origin-form request target ("/a/b?x=1&y=%20"). kBadRequest for anything else, or for
// a malformed percent-escape in the query.
Result<Target> parse_target(std::string_view target);

}  // namespace coffer::http
