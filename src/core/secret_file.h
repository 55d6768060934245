#pragma once

#include <string>

#include "core/error.h"

namespace coffer {

// The secret kept in `path`, created there (mode 0600, `bytes` random bytes) the first time.
// Creation is atomic, so concurrent first starts agree on one key.
Result<std::string> load_or_create_secret(const std::string& path, std::size_t bytes);

}  // namespace coffer
