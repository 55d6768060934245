// Object keys as the local-directory store accepts them. Coffer builds its keys itself
// ("<tenant_id>/<id>"), but a key still must never name anything outside the store's root, so
// every key is checked here before it touches the filesystem.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace coffer::storage {

inline constexpr std::size_t kMaxFsKeyBytes = 1024;        // as S3
inline constexpr std::size_t kMaxFsKeySegmentBytes = 255;  // NAME_MAX

// Splits `key` at '/' into the directory names and the file name (the last segment). Refuses,
// with kInternal (a bad key is a bug in the caller, never the client's doing): an empty key, more
// than kMaxFsKeyBytes, invalid UTF-8, a leading or trailing '/', an empty, "." or ".." segment, a
// segment over kMaxFsKeySegmentBytes, a backslash, or any control character (U+0000–U+001F,
// U+007F). The views point into `key`.
Result<std::vector<std::string_view>> split_fs_key(std::string_view key);

}  // namespace coffer::storage
