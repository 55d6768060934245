// The name rules of API.md "Conventions".
#pragma once

#include <string_view>

#include "core/error.h"

namespace coffer::service {

// DNS label: ^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$
bool is_valid_slug(std::string_view s);
// 1–64 characters of [A-Za-z0-9._@+-].
bool is_valid_username(std::string_view s);

Result<void> check_slug(std::string_view s);
Result<void> check_username(std::string_view s);

}  // namespace coffer::service
