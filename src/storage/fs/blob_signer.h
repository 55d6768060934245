// Presigned URLs for the local-directory store: the fs backend's equivalent of S3 presigned URLs.
// They point at Coffer itself and are signed with Coffer's own key, so that a client may move an
// object's bytes without a token, exactly as far as the URL allows (API.md "Direct transfers").
//
// URL format (every query value percent-encoded, only RFC 3986 unreserved characters left bare):
//
//   <base>/blob/<key, percent-encoded, '/' kept>?method=GET|PUT&expires=<unix seconds>
//       [&length=<decimal>][&sha256=<64 lower-case hex>][&content_type=<...>]
//       [&disposition=<...>][&upload_id=<...>&part=<1-10000>]&signature=<64 lower-case hex>
//
// `signature` is hex(HMAC-SHA256(secret, canonical)), where canonical is "COFFER-BLOB-V2\n"
// followed by method, key (decoded), expires, length, sha256, content_type, disposition,
// upload_id and part, each written as "<byte length>:<value>\n" ("" for an absent one), so that
// no two sets of values share a canonical string. The /blob route decodes the path after "/blob/"
// into the key and the query into a map (refusing repeated parameters), and passes both to
// verify().
//
// A part URL (upload_id and part set; always PUT, always with a length) writes one part of a
// direct upload (FsObjectStore::write_part), never an object: only complete_upload makes an object.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/error.h"
#include "storage/object_store.h"

namespace coffer::storage {

inline constexpr std::string_view kBlobPathPrefix = "/blob/";

// Query parameter names of a blob URL.
inline constexpr std::string_view kBlobMethodParam = "method";
inline constexpr std::string_view kBlobExpiresParam = "expires";
inline constexpr std::string_view kBlobLengthParam = "length";
inline constexpr std::string_view kBlobSha256Param = "sha256";
inline constexpr std::string_view kBlobContentTypeParam = "content_type";
inline constexpr std::string_view kBlobDispositionParam = "disposition";
inline constexpr std::string_view kBlobUploadIdParam = "upload_id";
inline constexpr std::string_view kBlobPartParam = "part";
inline constexpr std::string_view kBlobSignatureParam = "signature";

// The header that carries a bound SHA-256 (hex) on a presigned PUT, as on POST /api/v1/files.
inline constexpr std::string_view kChecksumHeader = "X-Checksum-Sha256";

// What a verified blob URL allows: one method on one key until expires_at. The route enforces the
// bindings: a PUT body of exactly content_length bytes (when bound) whose SHA-256 is sha256 (when
// bound), sent with Content-Type content_type (when bound); a GET answered with
// Content-Disposition response_content_disposition (when not empty).
struct BlobGrant {
  PresignMethod method = PresignMethod::kGet;
  std::string key;
  SystemTime expires_at;
  std::optional<std::uint64_t> content_length;
  std::string sha256;  // lower-case hex, "" when not bound
  std::string content_type;
  std::string response_content_disposition;
  // A part URL: the direct upload and the part (1-10000) it may write; "" and 0 otherwise.
  std::string upload_id;
  int part_number = 0;
};

// Signs and verifies blob URLs. Pure: no I/O, time comes in as a value. Thread-safe (const).
class BlobSigner {
 public:
  static constexpr std::size_t kMinSecretBytes = 32;

  // `secret_key`: raw bytes, at least kMinSecretBytes. `public_base_url`: "http(s)://host[:port]"
  // (a trailing '/' is dropped), the base under which clients reach this Coffer.
  // Throws std::invalid_argument on either being unusable (a start-up failure).
  BlobSigner(std::string secret_key, std::string public_base_url);

  // The URL for `request`, valid from request.now for request.expires_in (whole seconds:
  // expires_at is to_unix_seconds(now) + expires_in). For a PUT, content_length, content_type and
  // sha256 (lower-cased) are bound when given, and `headers` lists what the client must send:
  // Content-Length, Content-Type and X-Checksum-Sha256 for those bound. For a GET,
  // response_content_disposition is bound. The caller has checked the key and the expiry range.
  PresignedUrl sign(const PresignRequest& request) const;
  // The URL of one part of a direct upload: PUT, binding key, upload id, part number, the part's
  // length and, when given, its sha256; `headers` lists Content-Length and X-Checksum-Sha256 (for
  // a bound sha256). The caller has checked the key, the part number and the expiry range.
  PresignedUrl sign_part(const PresignPartRequest& request) const;

  // Checks a blob request: `method` the HTTP method ("GET", "PUT"), `key` the decoded key from the
  // path, `query` the decoded query parameters. Error::Forbidden when a parameter is missing,
  // unknown or malformed, the method differs from the signed one, the signature does not match
  // (compared in constant time), or `now` is at or past the expiry. A part URL is refused unless
  // it is a PUT with a length and a part number in 1-10000.
  Result<BlobGrant> verify(std::string_view method, std::string_view key,
                           const std::map<std::string, std::string>& query, SystemTime now) const;

  const std::string& base_url() const { return base_url_; }

 private:
  std::string signature(std::string_view method, std::string_view key, std::string_view expires,
                        std::string_view length, std::string_view sha256,
                        std::string_view content_type, std::string_view disposition,
                        std::string_view upload_id, std::string_view part) const;
  PresignedUrl make_url(std::string_view method, std::string_view key, std::int64_t expires_s,
                        std::string_view length, std::string_view sha256,
                        std::string_view content_type, std::string_view disposition,
                        std::string_view upload_id, std::string_view part) const;

  std::string secret_;
  std::string base_url_;
};

// Percent-encodes `key` for the path of a blob URL: every byte but RFC 3986 unreserved characters
// and '/' becomes %XX (upper-case hex).
std::string encode_blob_key(std::string_view key);

}  // namespace coffer::storage
