// Small pure pieces of the S3 protocol the client needs around each exchange: what an error
// answer means to Coffer, Content-MD5, Range and Content-Range.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.h"
#include "storage/object_store.h"
#include "storage/s3/s3_xml.h"

namespace coffer::s3 {

// The Error for an S3 answer that is not a success, after any retries. `operation` names the call
// for the log ("GET <key>"). The mapping:
//   404 NoSuchKey / NoSuchUpload / a 404 without a code (HEAD)      -> kNotFound
//   404 NoSuchBucket                                                 -> kStorageUnavailable
//   416 InvalidRange                                                 -> kRangeNotSatisfiable
//   412 PreconditionFailed                                           -> kPreconditionFailed
//   400 InvalidPart / InvalidPartOrder / EntityTooSmall / BadDigest /
//       XAmzContentSHA256Mismatch                                    -> kBadRequest
//   retryable answers (is_retryable_status)                          -> kStorageUnavailable
//   anything else (AccessDenied, SignatureDoesNotMatch, ...)         -> kInternal
// The detail holds status, code, message and request id, never credentials.
Error error_for_response(int status, const S3ErrorInfo& info, std::string_view operation);

// Base64 of the MD5 of `body`, for Content-MD5 (DeleteObjects requires it).
std::string content_md5(std::string_view body);

// "bytes=<first>-<last>"
std::string range_header(const storage::ByteRange& range);

// "bytes 0-99/1000" -> {0, 99, 1000}; the total may be "*" (unknown: nullopt).
struct ContentRange {
  std::uint64_t first = 0;
  std::uint64_t last = 0;
  std::optional<std::uint64_t> total;
};
std::optional<ContentRange> parse_content_range(std::string_view value);

// ETags as S3 sends them are quoted ("\"abc\""); some servers omit the quotes (Ceph's
// CopyObjectResult). Returns the value with exactly one pair of quotes.
std::string quoted_etag(std::string_view etag);

}  // namespace coffer::s3
