// AWS Signature Version 4 (AWS4-HMAC-SHA256) for the S3 backend: pure functions of their inputs.
//
// The steps are the ones the AWS specification names, each callable and testable on its own:
//   1. canonical request   (canonical_uri, canonical_query_string, canonical_headers,
//                           canonical_request)
//   2. string to sign      (credential_scope, string_to_sign)
//   3. signing key         (derive_signing_key, SigningKeyCache)
//   4. signature           (compute_signature)
// sign_with_headers() and presign() compose them. Streaming uploads (aws-chunked) chain one more
// signature per chunk: chunk_string_to_sign() and trailer_string_to_sign().
//
// Nothing here does I/O or reads the clock: the signing time is a value in SigningParams.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/crypto.h"
#include "core/error.h"

namespace coffer::s3 {

// Special values of the payload hash (x-amz-content-sha256 and the canonical request's last line).
inline constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";
inline constexpr std::string_view kStreamingPayload = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
inline constexpr std::string_view kStreamingPayloadTrailer =
    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER";

// S3 refuses presigned URLs that live longer than 7 days.
inline constexpr std::chrono::seconds kMaxPresignExpiry{7 * 24 * 3600};

using Header = std::pair<std::string, std::string>;
using Headers = std::vector<Header>;
using QueryParams = std::vector<std::pair<std::string, std::string>>;

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // empty for long-term credentials
};

struct SigningParams {
  Credentials creds;
  std::string region;
  std::string service = "s3";
  SystemTime time;  // the request time; only whole seconds are used
  // Generic AWS services canonicalize the path differently from S3; S3 must leave both false.
  // normalize_path removes "." and ".." segments and empty segments ("//").
  // double_encode_path URI-encodes the wire path once more instead of re-encoding its decoded form.
  bool normalize_path = false;
  bool double_encode_path = false;
  // Header signing only: add and sign `x-amz-content-sha256: <payload_hash>`. S3 needs it (Ceph
  // answers 403 without it); other services may not.
  bool add_content_sha256 = true;
  // Some non-S3 services want the session token added after signing, outside the signature.
  // S3 signs it: leave false.
  bool omit_session_token = false;
};

struct RequestToSign {
  std::string method;  // "GET", "PUT", ...
  // The path as sent on the wire, starting with '/'. Build S3 paths with uri_encode(key, false).
  // Percent-escapes must be well formed; bytes outside the unreserved set are allowed and are
  // encoded for the canonical request (e.g. '$' becomes %24). Without double_encode_path (S3) an
  // escaped "%2F" is signed as '/', as the server decodes it: keep the '/' of keys literal.
  std::string path;
  // Decoded names and values, in any order; the signer encodes and sorts them. A parameter that
  // has no value on the wire ("?uploads") is {"uploads", ""}.
  QueryParams query;
  // The headers to sign, exactly as they will be sent (any case, any order, repeats allowed).
  // Must contain Host. Must not contain the headers the signer adds (see sign_with_headers).
  // Every header given here is signed, so leave out hop-by-hop headers a proxy may rewrite.
  Headers headers;
  // Lowercase hex SHA-256 of the body, or kUnsignedPayload, or a kStreaming* value.
  std::string payload_hash;
};

// ---- Step 1: canonical request ----------------------------------------------------------------

// SigV4 URI encoding of UTF-8 bytes: A-Z a-z 0-9 - . _ ~ are kept, '/' is kept unless
// encode_slash, every other byte becomes %XX with upper-case hex. Object keys in paths use
// encode_slash = false; query names and values use true.
std::string uri_encode(std::string_view text, bool encode_slash);

// The canonical form of a wire path under the rules of `params` (normalize_path,
// double_encode_path). Errors on a malformed percent-escape or a path not starting with '/'.
Result<std::string> canonical_uri(std::string_view path, const SigningParams& params);

// "a=1&b=&c=x%2Fy": names and values encoded, sorted by name then value.
std::string canonical_query_string(const QueryParams& query);

struct CanonicalHeaders {
  std::string text;            // "host:example.com\nx-amz-date:...\n" (ends with a newline)
  std::string signed_headers;  // "host;x-amz-date"
};
// Lower-cases names, trims values and collapses runs of spaces, joins repeated headers with ','
// in the order given, sorts by name. Errors on an empty name or on CR/LF anywhere (the caller must
// unfold obsolete line folding first).
Result<CanonicalHeaders> canonical_headers(const Headers& headers);

// The six lines joined by '\n': method, canonical URI, canonical query, canonical headers,
// signed headers, payload hash.
std::string canonical_request(std::string_view method, std::string_view canonical_uri,
                              std::string_view canonical_query, const CanonicalHeaders& headers,
                              std::string_view payload_hash);

// ---- Step 2: string to sign -------------------------------------------------------------------

// "20130524/us-east-1/s3/aws4_request"
std::string credential_scope(SystemTime time, std::string_view region, std::string_view service);

// "AWS4-HMAC-SHA256\n<amz date>\n<scope>\n<hex sha256 of the canonical request>"
std::string string_to_sign(SystemTime time, std::string_view scope,
                           std::string_view canonical_request);

// ---- Step 3: signing key ----------------------------------------------------------------------

using SigningKey = Sha256Digest;

// HMAC chain "AWS4"+secret -> day -> region -> service -> "aws4_request". Valid for one UTC day.
SigningKey derive_signing_key(std::string_view secret_access_key, SystemTime time,
                              std::string_view region, std::string_view service);

// Remembers derived keys per (secret, day, region, service), since deriving one costs four HMACs
// (~10 µs) and a backend signs every request with the same few. Thread-safe: one instance may be
// shared by all I/O threads. Holds at most `capacity` keys and forgets all of them when full,
// which with rotating STS credentials and day changes keeps it small without bookkeeping.
// Entries are keyed by the secret itself, which the process holds anyway.
class SigningKeyCache {
 public:
  explicit SigningKeyCache(std::size_t capacity = 16) : capacity_(capacity) {}
  SigningKeyCache(const SigningKeyCache&) = delete;
  SigningKeyCache& operator=(const SigningKeyCache&) = delete;

  SigningKey get(std::string_view secret_access_key, SystemTime time, std::string_view region,
                 std::string_view service);
  std::size_t size() const;

 private:
  using Key = std::tuple<std::string, std::string, std::string, std::string>;
  const std::size_t capacity_;
  mutable std::mutex mu_;
  std::map<Key, SigningKey> keys_;  // guarded by mu_
};

// ---- Step 4: signature ------------------------------------------------------------------------

// Lowercase hex HMAC-SHA256(key, string_to_sign).
std::string compute_signature(const SigningKey& key, std::string_view string_to_sign);

// ---- Whole requests ---------------------------------------------------------------------------

// The intermediate results, kept for diagnosing SignatureDoesNotMatch: S3 returns its own
// CanonicalRequest and StringToSign in that error, to compare with these. Log them, never the key.
struct SigningSteps {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signature;  // lowercase hex
};

struct HeaderSignature {
  // To add to the request as they are: X-Amz-Date, X-Amz-Security-Token (when there is a token),
  // X-Amz-Content-Sha256 (when add_content_sha256), Authorization.
  Headers headers;
  SigningSteps steps;
};

// Signs with the Authorization header. Errors if the request lacks Host, already holds a header
// the signer adds (Authorization, X-Amz-Date, X-Amz-Security-Token when there is a token,
// X-Amz-Content-Sha256 when add_content_sha256), or is malformed (see the step functions).
// `cache` may be null; then the key is derived afresh.
Result<HeaderSignature> sign_with_headers(const RequestToSign& request, const SigningParams& params,
                                          SigningKeyCache* cache = nullptr);

struct PresignedQuery {
  // The whole query string to send after '?': the request's own parameters and X-Amz-Algorithm,
  // -Credential, -Date, -Expires, -SignedHeaders, -Security-Token (when there is a token), all
  // encoded and in canonical order, then X-Amz-Signature last.
  std::string query;
  SigningSteps steps;
};

// Signs with query parameters (a presigned URL valid for `expires` from params.time). Every
// header in request.headers is bound: the eventual client must send each with the same value.
// For S3 use payload_hash = kUnsignedPayload. add_content_sha256 does not apply. Errors if expires
// is outside [1 s, kMaxPresignExpiry], if the request lacks Host or already has an X-Amz-*
// authentication parameter, or is malformed.
Result<PresignedQuery> presign(const RequestToSign& request, const SigningParams& params,
                               std::chrono::seconds expires, SigningKeyCache* cache = nullptr);

// ---- Streaming (aws-chunked) uploads ----------------------------------------------------------

// STREAMING-AWS4-HMAC-SHA256-PAYLOAD: sign the request headers with payload_hash =
// kStreamingPayload (the "seed" signature), then sign each chunk, the last one empty, chaining on
// the previous signature. The frame is "<hex size>;chunk-signature=<signature>\r\n<data>\r\n".
//   "AWS4-HMAC-SHA256-PAYLOAD\n<amz date>\n<scope>\n<previous signature>\n<sha256 of "">\n
//    <hex sha256 of chunk>"
std::string chunk_string_to_sign(SystemTime time, std::string_view scope,
                                 std::string_view previous_signature,
                                 std::string_view chunk_sha256_hex);

// With kStreamingPayloadTrailer, after the empty chunk: the trailer signature chains on the
// signature of the empty chunk. canonical_trailer is "name:value\n" per trailing header.
// Ceph RGW 16 rejects trailers and s3rver stores aws-chunked framing in the object
// (shared/notes/s3-servers.md): prefer a hex SHA-256 or kUnsignedPayload with those servers.
std::string trailer_string_to_sign(SystemTime time, std::string_view scope,
                                   std::string_view previous_signature,
                                   std::string_view canonical_trailer);

}  // namespace coffer::s3
