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
// A tenant's display name: 1–256 bytes (of UTF-8, as JSON gives it) without control characters,
// which PostgreSQL's text could not hold (NUL) or a log line would show raw.
Result<void> check_tenant_name(std::string_view s);

}  // namespace coffer::service
