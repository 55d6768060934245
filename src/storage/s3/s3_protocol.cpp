#include "storage/s3/s3_protocol.h"

#include <openssl/evp.h>

#include <charconv>

#include "core/encoding.h"
#include "storage/s3/s3_retry.h"

namespace coffer::s3 {
namespace {

std::optional<std::uint64_t> parse_u64(std::string_view s) {
  std::uint64_t value = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (s.empty() || ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return value;
}

}  // namespace

Error error_for_response(int status, const S3ErrorInfo& info, std::string_view operation) {
  std::string detail = "s3: " + std::string(operation) + " -> " + std::to_string(status);
  if (!info.code.empty()) detail += " " + info.code;
  if (!info.message.empty()) detail += ": " + info.message;
  if (!info.request_id.empty()) detail += " (request id " + info.request_id + ")";

  const std::string_view code = info.code;
  if (status == 404) {
    if (code == "NoSuchBucket")
      return Error::StorageUnavailable(detail + "; the bucket is missing");
    Error e = Error::NotFound(code == "NoSuchUpload" ? "upload not found" : "object not found");
    e.detail = std::move(detail);
    return e;
  }
  if (status == 416 || code == "InvalidRange") {
    Error e = Error::RangeNotSatisfiable();
    e.detail = std::move(detail);
    return e;
  }
  if (status == 412) {
    Error e = Error::PreconditionFailed("precondition failed");
    e.detail = std::move(detail);
    return e;
  }
  if (code == "InvalidPart" || code == "InvalidPartOrder" || code == "EntityTooSmall" ||
      code == "BadDigest" || code == "XAmzContentSHA256Mismatch" || code == "InvalidDigest") {
    std::string message = "the object store refused the content: " + info.code;
    Error e = Error::BadRequest(std::move(message));
    e.detail = std::move(detail);
    return e;
  }
  if (is_retryable_status(status, code)) return Error::StorageUnavailable(std::move(detail));
  return Error::Internal(std::move(detail));
}

std::string content_md5(std::string_view body) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(body.data(), body.size(), digest, &length, EVP_md5(), nullptr) != 1) {
    throw std::runtime_error("EVP_Digest(md5) failed");
  }
  return base64_encode(std::string_view(reinterpret_cast<const char*>(digest), length));
}

std::string range_header(const storage::ByteRange& range) {
  return "bytes=" + std::to_string(range.first) + "-" + std::to_string(range.last);
}

std::optional<ContentRange> parse_content_range(std::string_view value) {
  if (!value.starts_with("bytes ")) return std::nullopt;
  value.remove_prefix(6);
  auto dash = value.find('-');
  auto slash = value.find('/');
  if (dash == std::string_view::npos || slash == std::string_view::npos || dash > slash) {
    return std::nullopt;
  }
  auto first = parse_u64(value.substr(0, dash));
  auto last = parse_u64(value.substr(dash + 1, slash - dash - 1));
  if (!first || !last || *first > *last) return std::nullopt;
  ContentRange out{*first, *last, std::nullopt};
  std::string_view total = value.substr(slash + 1);
  if (total != "*") {
    auto t = parse_u64(total);
    if (!t || *t <= *last) return std::nullopt;
    out.total = *t;
  }
  return out;
}

std::string quoted_etag(std::string_view etag) {
  while (!etag.empty() && etag.front() == '"') etag.remove_prefix(1);
  while (!etag.empty() && etag.back() == '"') etag.remove_suffix(1);
  std::string out;
  out.reserve(etag.size() + 2);
  out.append(1, '"').append(etag).append(1, '"');
  return out;
}

}  // namespace coffer::s3
