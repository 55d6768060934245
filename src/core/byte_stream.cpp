#include "core/byte_stream.h"

#include <algorithm>
#include <cstring>

namespace coffer {

Result<std::size_t> StringSource::read(std::span<char> out) {
  std::size_t n = std::min(out.size(), data_.size());
  std::memcpy(out.data(), data_.data(), n);
  data_.remove_prefix(n);
  return n;
}

Result<std::string> read_all(ByteSource& source) {
  std::string out;
  char buf[16384];
  for (;;) {
    COFFER_TRY(std::size_t n, source.read(buf));
    if (n == 0) return out;
    out.append(buf, n);
  }
}

}  // namespace coffer
