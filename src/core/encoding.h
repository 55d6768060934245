// Hex, base64 and base64url codecs. Decoders are strict: they refuse anything non-canonical.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace coffer {

std::string hex_encode(std::span<const std::uint8_t> data);
std::string hex_encode(std::string_view data);
// Lower- or upper-case hex of even length; nullopt otherwise.
std::optional<std::string> hex_decode(std::string_view hex);
// True for exactly 64 hex digits (a SHA-256 in hex).
bool is_sha256_hex(std::string_view s);

std::string base64_encode(std::string_view data);
// Unpadded base64url (RFC 4648 §5), as JOSE uses it.
std::string base64url_encode(std::string_view data);
std::string base64url_encode(std::span<const std::uint8_t> data);
// Strict unpadded base64url: no '=', no whitespace, no standard-alphabet characters, and the
// unused trailing bits must be zero.
std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace coffer
