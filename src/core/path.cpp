#include "core/path.h"

#include "core/utf8.h"

namespace coffer {
namespace {

bool has_forbidden_byte(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7F || c == '\\') return true;
  }
  return false;
}

}  // namespace

Result<FilePath> FilePath::parse(std::string_view text) {
  if (text.empty()) return Error::InvalidPath("path is empty");
  if (text.size() > kMaxPathBytes) return Error::InvalidPath("path is longer than 1024 bytes");
  if (!is_valid_utf8(text)) return Error::InvalidPath("path is not valid UTF-8");
  if (has_forbidden_byte(text)) {
    return Error::InvalidPath("path contains a control character or a backslash");
  }
  if (text.front() == '/' || text.back() == '/') {
    return Error::InvalidPath("path must not start or end with '/'");
  }
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find('/', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view segment = text.substr(start, end - start);
    if (segment.empty()) return Error::InvalidPath("path has an empty segment");
    if (segment == "." || segment == "..") {
      return Error::InvalidPath("path has a '.' or '..' segment");
    }
    start = end + 1;
  }
  return FilePath(std::string(text));
}

std::string_view FilePath::filename() const {
  std::string_view v = value_;
  std::size_t slash = v.rfind('/');
  return slash == std::string_view::npos ? v : v.substr(slash + 1);
}

Result<std::string> validate_prefix(std::string_view text) {
  if (text.size() > kMaxPathBytes) return Error::InvalidPath("prefix is longer than 1024 bytes");
  if (!is_valid_utf8(text)) return Error::InvalidPath("prefix is not valid UTF-8");
  if (has_forbidden_byte(text)) {
    return Error::InvalidPath("prefix contains a control character or a backslash");
  }
  return std::string(text);
}

}  // namespace coffer
