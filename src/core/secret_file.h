#pragma once

#include <functional>
#include <string>

#include "core/error.h"

namespace coffer {

// The content of `path`, created there (mode 0600) from `make()` the first time. Creation is
// atomic, so concurrent first starts agree on one content.
Result<std::string> load_or_create_file(const std::string& path,
                                        const std::function<std::string()>& make);

// A secret of exactly `bytes` random bytes kept in `path` (see load_or_create_file).
Result<std::string> load_or_create_secret(const std::string& path, std::size_t bytes);

}  // namespace coffer
