// File paths as API.md "Paths" defines them. Validated once, at the edge; a FilePath is valid.
#pragma once

#include <string>
#include <string_view>

#include "core/error.h"

namespace coffer {

inline constexpr std::size_t kMaxPathBytes = 1024;

// A validated path: UTF-8, 1–1024 bytes, '/'-separated, no leading/trailing '/', no empty, "."
// or ".." segment, no control character (U+0000–U+001F, U+007F), no backslash.
class FilePath {
 public:
  static Result<FilePath> parse(std::string_view text);
  const std::string& str() const { return value_; }
  // The last segment ("q1.pdf" of "reports/2026/q1.pdf").
  std::string_view filename() const;

  friend bool operator==(const FilePath&, const FilePath&) = default;

 private:
  explicit FilePath(std::string v) : value_(std::move(v)) {}
  std::string value_;
};

// A listing prefix: any UTF-8 string without control characters or backslash, up to 1024 bytes
// (it need not end at a segment boundary). Empty is allowed.
Result<std::string> validate_prefix(std::string_view text);

}  // namespace coffer
