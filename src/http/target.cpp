#include "http/target.h"

#include "http/router.h"

namespace coffer::http {
namespace {

std::optional<std::string> decode_query_part(std::string_view s) {
  std::string plus_as_space(s);
  for (char& c : plus_as_space) {
    if (c == '+') c = ' ';
  }
  return percent_decode(plus_as_space);
}

}  // namespace

Result<Target> parse_target(std::string_view target) {
  if (target.empty() || target.front() != '/') {
    return Error::BadRequest("the request target must be a path");
  }
  Target out;
  auto q = target.find('?');
  out.path = std::string(target.substr(0, q));
  if (q == std::string_view::npos) return out;
  std::string_view query = target.substr(q + 1);
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    auto eq = pair.find('=');
    auto name = decode_query_part(pair.substr(0, eq));
    auto value = decode_query_part(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
    if (!name || !value) return Error::BadRequest("malformed percent-encoding in the query");
    out.query.emplace_back(std::move(*name), std::move(*value));
  }
  return out;
}

}  // namespace coffer::http
