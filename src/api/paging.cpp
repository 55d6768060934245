#include "api/paging.h"

#include <charconv>

#include "core/encoding.h"
#include "core/utf8.h"

namespace coffer::api {

Result<int> page_limit(const Request& request) {
  auto text = request.query_param("limit");
  if (!text) return kDefaultPageSize;
  int n = 0;
  auto [p, ec] = std::from_chars(text->data(), text->data() + text->size(), n);
  if (ec != std::errc() || p != text->data() + text->size() || n < 1 || n > kMaxPageSize) {
    return Error::BadRequest("limit must be an integer from 1 to 1000");
  }
  return n;
}

std::string encode_cursor(std::string_view kind, std::string_view last_key) {
  std::string raw(kind);
  raw += ':';
  raw += last_key;
  return base64url_encode(raw);
}

Result<std::string> decode_cursor(const Request& request, std::string_view kind) {
  auto text = request.query_param("cursor");
  if (!text || text->empty()) return std::string();
  auto raw = base64url_decode(*text);
  if (!raw || raw->size() <= kind.size() || raw->compare(0, kind.size(), kind) != 0 ||
      (*raw)[kind.size()] != ':') {
    return Error::BadRequest("cursor is not valid for this list");
  }
  std::string key = raw->substr(kind.size() + 1);
  // Every key a cursor is made of is text: a forged one that is not never reaches the database.
  if (!is_valid_utf8(key) || key.find('\0') != std::string::npos) {
    return Error::BadRequest("cursor is not valid for this list");
  }
  return key;
}

}  // namespace coffer::api
