#pragma once

#include <string_view>

namespace coffer {

// Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF.
bool is_valid_utf8(std::string_view s);

}  // namespace coffer
