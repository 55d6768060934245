#include "storage/fs/fs_key.h"

#include "core/utf8.h"

namespace coffer::storage {

namespace {
Error bad_key(std::string_view why) {
  return Error::Internal("invalid object key: " + std::string(why));
}
}  // namespace

Result<std::vector<std::string_view>> split_fs_key(std::string_view key) {
  if (key.empty()) return bad_key("empty");
  if (key.size() > kMaxFsKeyBytes) return bad_key("too long");
  if (!is_valid_utf8(key)) return bad_key("not UTF-8");
  for (char c : key) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return bad_key("control character");
    if (c == '\\') return bad_key("backslash");
  }
  std::vector<std::string_view> segments;
  std::size_t start = 0;
  for (;;) {
    std::size_t slash = key.find('/', start);
    std::string_view seg =
        key.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (seg.empty()) return bad_key("empty segment");
    if (seg == "." || seg == "..") return bad_key("dot segment");
    if (seg.size() > kMaxFsKeySegmentBytes) return bad_key("segment too long");
    segments.push_back(seg);
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return segments;
}

}  // namespace coffer::storage
