#include "http/request_id.h"

#include <atomic>
#include <cstdint>

#include "core/crypto.h"
#include "core/encoding.h"

namespace coffer::http {

std::string new_request_id() {
  // A random per-thread prefix and a counter: cheap, and unique without a lock.
  thread_local const std::string prefix = hex_encode(random_bytes(6));
  thread_local std::uint64_t counter = 0;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id = prefix;
  id += '-';
  std::uint64_t n = ++counter;
  char digits[16];
  for (int i = 15; i >= 0; --i) {
    digits[i] = kHex[n & 15];
    n >>= 4;
  }
  id.append(digits + 9, 7);
  return id;
}

std::string accept_request_id(std::string_view incoming) {
  if (incoming.empty() || incoming.size() > 128) return new_request_id();
  for (char c : incoming) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return new_request_id();
  }
  return std::string(incoming);
}

}  // namespace coffer::http
