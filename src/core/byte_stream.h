// Synchronous byte streams: how bodies move between the HTTP edge, services and object stores
// without any layer knowing the others' types. Calls may block; they never run on I/O threads.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include "core/error.h"

namespace coffer {

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Reads up to out.size() bytes; 0 means the end of the stream. Errors are final.
  virtual Result<std::size_t> read(std::span<char> out) = 0;
};

class ByteSink {
 public:
  virtual ~ByteSink() = default;
  // Writes all of `data` or fails.
  virtual Result<void> write(std::string_view data) = 0;
};

// A source over bytes held by someone else (tests, small bodies).
class StringSource final : public ByteSource {
 public:
  explicit StringSource(std::string_view data) : data_(data) {}
  Result<std::size_t> read(std::span<char> out) override;

 private:
  std::string_view data_;
};

class StringSink final : public ByteSink {
 public:
  Result<void> write(std::string_view data) override {
    out_.append(data);
    return Ok();
  }
  const std::string& str() const { return out_; }

 private:
  std::string out_;
};

// Reads `source` to its end into a string (tests and small bodies only).
Result<std::string> read_all(ByteSource& source);

}  // namespace coffer
