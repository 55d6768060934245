// Opaque identifiers: 128 random bits, lower-case base32, never sequential.
#pragma once

#include <string>
#include <string_view>

namespace coffer {

// A fresh id: 26 characters of [a-z2-7] carrying 128 bits from the system CSPRNG.
std::string new_id();

// True when `s` has the shape of an id from new_id(); used to refuse junk before any lookup.
bool looks_like_id(std::string_view s);

}  // namespace coffer
