#include "core/content_disposition.h"

#include <cstdint>

#include "core/utf8.h"

namespace coffer {
namespace {

bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// RFC 8187 attr-char.
bool is_attr_char(char c) {
  return is_alnum(c) || std::string_view("!#$&+-.^_`|~").find(c) != std::string_view::npos;
}

// Kept as-is in the quoted fallback: legal in a quoted-string, needs no escaping, and means
// nothing special to browsers or file systems.
bool is_fallback_char(char c) {
  return is_alnum(c) ||
         std::string_view(" !#$&'()+,-.=@[]^_`{}~").find(c) != std::string_view::npos;
}

// The length of the valid UTF-8 sequence at the start of `s`, or 0 if there is none.
std::size_t code_point_length(std::string_view s) {
  auto lead = static_cast<std::uint8_t>(s.front());
  std::size_t len = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
  if (len > s.size() || !is_valid_utf8(s.substr(0, len))) return 0;
  return len;
}

}  // namespace

std::string attachment_disposition(std::string_view utf8_filename) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string_view name = utf8_filename.empty() ? "download" : utf8_filename;
  std::string fallback;
  std::string encoded;
  while (!name.empty()) {
    std::size_t len = code_point_length(name);
    if (len == 0) {  // Not UTF-8: one '_' per bad byte.
      fallback += '_';
      encoded += '_';
      name.remove_prefix(1);
      continue;
    }
    fallback += (len == 1 && is_fallback_char(name.front())) ? name.front() : '_';
    for (char c : name.substr(0, len)) {
      if (is_attr_char(c)) {
        encoded += c;
      } else {
        auto u = static_cast<std::uint8_t>(c);
        encoded += '%';
        encoded += kHex[u >> 4];
        encoded += kHex[u & 0x0F];
      }
    }
    name.remove_prefix(len);
  }
  return "attachment; filename=\"" + fallback + "\"; filename*=UTF-8''" + encoded;
}

}  // namespace coffer
