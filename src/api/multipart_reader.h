// Streaming multipart/form-data (RFC 7578 over RFC 2046) reader for request bodies. Memory is one
// fixed buffer (buffer_bytes()) whatever the size of the body or of any part.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/byte_stream.h"
#include "core/error.h"

namespace coffer::api {

inline constexpr std::size_t kMultipartChunkBytes = 64 * 1024;
inline constexpr std::size_t kDefaultMaxPartHeaderBytes = 16 * 1024;

// The boundary of a `multipart/form-data; boundary=...` Content-Type (media type and parameter
// name case-insensitive, value a token or quoted-string). BadRequest if the media type differs,
// the boundary is absent or repeated, or it is not 1-70 RFC 2046 bchars (no trailing space).
Result<std::string> multipart_boundary(std::string_view content_type);

// One part's headers.
struct PartInfo {
  // Content-Disposition `name`; required (may be empty).
  std::string name;
  // `filename*` (RFC 8187, UTF-8 or ISO-8859-1, decoded to UTF-8) when present, else `filename`
  // as sent: in a quoted-string only \" and \\ are escapes (other backslashes are kept, as
  // browsers do not escape them) and nothing is percent-decoded (browsers send '"' as %22). No
  // directory is stripped and `filename` is not checked to be UTF-8: validate it as a path.
  // Present but empty when the client sent filename="" (an empty file input).
  std::optional<std::string> filename;
  // The Content-Type header value, OWS-trimmed; empty when the part has none (RFC 7578 would
  // mean text/plain, but callers usually want their own default for files).
  std::string content_type;
};

// Reads parts in order: call next_part() until it yields nullopt, reading part_body() (or not)
// after each part. The preamble and epilogue are ignored; the epilogue is never read from
// `body`, so the caller drains it or closes the connection. PartInfo strings hold no control
// character other than HT. A malformed body is a BadRequest; an error of `body` itself passes
// through unchanged. Errors are final: every later call returns the same error.
class MultipartReader {
 public:
  // `boundary` as multipart_boundary returned it (1-70 characters). `body` must outlive this.
  // A part's header section (the lines after the boundary line, up to and including the blank
  // line) and the transport padding of a boundary line are each limited to
  // `max_part_header_bytes`.
  MultipartReader(ByteSource& body, std::string boundary,
                  std::size_t max_part_header_bytes = kDefaultMaxPartHeaderBytes);
  MultipartReader(const MultipartReader&) = delete;
  MultipartReader& operator=(const MultipartReader&) = delete;

  // Skips whatever is left of the current part (and the preamble) and parses the next part's
  // headers; nullopt after the close delimiter. A body that ends before the close delimiter is
  // an error, not a short part.
  Result<std::optional<PartInfo>> next_part();

  // The current part's content, byte-exact, up to (not including) the CRLF before the next
  // delimiter. Reads 0 at the end of the part, and before the first / after the last part. Valid
  // as long as the reader.
  ByteSource& part_body() { return part_body_; }

  // The fixed size of the internal buffer: max(64 KiB, max_part_header_bytes) + a few bytes more
  // than the delimiter.
  std::size_t buffer_bytes() const { return buf_.size(); }

 private:
  class PartBody final : public ByteSource {
   public:
    explicit PartBody(MultipartReader& reader) : reader_(reader) {}
    Result<std::size_t> read(std::span<char> out) override;

   private:
    MultipartReader& reader_;
  };

  enum class State { kPreamble, kInPart, kDone };

  Result<std::optional<PartInfo>> advance();
  // Up to `max` (> 0) bytes of the current part's content, as a view into buf_ valid until the
  // next call; empty at the end of the part, with begin_ left at the delimiter.
  Result<std::string_view> take_part_bytes(std::size_t max);
  Result<void> skip_part();
  // Ensures at least `want` (<= buf_.size()) unconsumed bytes; false if the body ends first.
  Result<bool> fill(std::size_t want);
  Result<std::string_view> take_header_section();
  std::string_view buffered() const {
    return std::string_view(buf_.data() + begin_, end_ - begin_);
  }

  ByteSource& body_;
  const std::string delimiter_;  // CRLF "--" boundary
  const std::size_t max_header_bytes_;
  std::vector<char> buf_;
  std::size_t begin_ = 0;  // Unconsumed bytes are buf_[begin_, end_).
  std::size_t end_ = 0;
  bool eof_ = false;
  State state_ = State::kPreamble;
  bool part_ended_ = false;        // The current part's content has all been taken.
  std::size_t content_ahead_ = 0;  // buffered()[0, content_ahead_) is known to be content.
  std::optional<Error> error_;
  PartBody part_body_{*this};
};

}  // namespace coffer::api
