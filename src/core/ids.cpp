#include "core/ids.h"

#include <array>
#include <cstdint>

#include "core/crypto.h"

namespace coffer {

namespace {
constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
constexpr std::size_t kIdLength = 26;  // ceil(128 / 5)
}  // namespace

std::string new_id() {
  std::array<std::uint8_t, 16> raw{};
  random_bytes(raw);
  std::string id;
  id.reserve(kIdLength);
  std::uint32_t acc = 0;
  int bits = 0;
  for (std::uint8_t b : raw) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      id += kAlphabet[(acc >> bits) & 31];
    }
  }
  if (bits > 0) id += kAlphabet[(acc << (5 - bits)) & 31];
  return id;
}

bool looks_like_id(std::string_view s) {
  if (s.size() != kIdLength) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '2' && c <= '7'))) return false;
  }
  return true;
}

}  // namespace coffer
