#include "service/names.h"

namespace coffer::service {

bool is_valid_slug(std::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(s.front()) || !alnum(s.back())) return false;
  for (char c : s) {
    if (!alnum(c) && c != '-') return false;
  }
  return true;
}

bool is_valid_username(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '@' || c == '+' || c == '-';
    if (!ok) return false;
  }
  return true;
}

Result<void> check_slug(std::string_view s) {
  if (!is_valid_slug(s)) {
    return Error::BadRequest("slug must be a DNS label: lower-case letters, digits and '-', 1-63 long");
  }
  return Ok();
}

Result<void> check_username(std::string_view s) {
  if (!is_valid_username(s)) {
    return Error::BadRequest("username must be 1-64 characters of A-Z a-z 0-9 . _ @ + -");
  }
  return Ok();
}

Result<void> check_tenant_name(std::string_view s) {
  if (s.empty() || s.size() > 256) return Error::BadRequest("name must be 1-256 bytes");
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return Error::BadRequest("name must not contain control characters");
  }
  return Ok();
}

}  // namespace coffer::service
