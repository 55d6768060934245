#include "storage/s3/sigv4.h"

#include <algorithm>
#include <array>

#include "core/encoding.h"

namespace coffer::s3 {
namespace {

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";
constexpr std::string_view kEmptySha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

// Failures here are bugs in the caller (our own S3 client), not something a user can fix: they
// surface as internal errors whose detail says what was wrong.
Error bad_input(std::string what) { return Error::Internal("sigv4: " + std::move(what)); }

// ASCII only, never the locale: a UTF-8 byte must always be encoded.
bool is_unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Result<std::string> percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size()) return bad_input("malformed percent-escape in path");
    const int hi = hex_value(text[i + 1]);
    const int lo = hex_value(text[i + 2]);
    if (hi < 0 || lo < 0) return bad_input("malformed percent-escape in path");
    out += static_cast<char>((hi << 4) | lo);
    i += 2;
  }
  return out;
}

// RFC 3986 dot-segment removal plus dropping empty segments, as the generic AWS services do:
// "//a/./b/../c/" -> "/a/c/". A trailing slash survives unless nothing is left but the root.
std::string remove_dot_segments(std::string_view path) {
  std::vector<std::string_view> segments;
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view segment = path.substr(start, end - start);
    if (segment == "..") {
      if (!segments.empty()) segments.pop_back();
    } else if (!segment.empty() && segment != ".") {
      segments.push_back(segment);
    }
    start = end + 1;
  }
  std::string out = "/";
  for (std::size_t i = 0; i < segments.size(); ++i) {
    out += segments[i];
    if (i + 1 < segments.size() || path.ends_with('/')) out += '/';
  }
  return out;
}

bool is_space_or_tab(char c) { return c == ' ' || c == '\t'; }

// Trims and turns every run of spaces and tabs into one space, as "Trimall" in the spec (and as
// the SDKs do it: botocore's ' '.join(value.split())).
std::string trim_all(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  bool pending_space = false;
  for (char c : value) {
    if (is_space_or_tab(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out += ' ';
    pending_space = false;
    out += c;
  }
  return out;
}

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ascii_lower(c);
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return ascii_lower(x) == ascii_lower(y);
         });
}

bool has_header(const Headers& headers, std::string_view name) {
  return std::any_of(headers.begin(), headers.end(),
                     [&](const Header& h) { return iequals(h.first, name); });
}

bool has_newline(std::string_view s) { return s.find_first_of("\r\n") != std::string_view::npos; }

Result<void> check_common(const RequestToSign& request, const SigningParams& params) {
  if (params.creds.access_key_id.empty() || params.creds.secret_access_key.empty()) {
    return bad_input("missing credentials");
  }
  if (params.region.empty() || params.service.empty()) return bad_input("missing region/service");
  if (request.method.empty() || has_newline(request.method)) return bad_input("bad method");
  if (request.payload_hash.empty() || has_newline(request.payload_hash)) {
    return bad_input("missing payload hash");
  }
  if (!has_header(request.headers, "host")) return bad_input("the Host header must be signed");
  return Ok();
}

SigningKey signing_key(const SigningParams& params, SigningKeyCache* cache) {
  if (cache != nullptr) {
    return cache->get(params.creds.secret_access_key, params.time, params.region, params.service);
  }
  return derive_signing_key(params.creds.secret_access_key, params.time, params.region,
                            params.service);
}

std::string_view as_string_view(const Sha256Digest& digest) {
  return {reinterpret_cast<const char*>(digest.data()), digest.size()};
}

}  // namespace

// ---- Step 1 -------------------------------------------------------------------------------------

std::string uri_encode(std::string_view text, bool encode_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size() * 3);
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (is_unreserved(c) || (c == '/' && !encode_slash)) {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

Result<std::string> canonical_uri(std::string_view path, const SigningParams& params) {
  if (!path.starts_with('/')) return bad_input("path must start with '/'");
  const std::string normalized =
      params.normalize_path ? remove_dot_segments(path) : std::string(path);
  // Services that double-encode sign the encoding of what is on the wire. S3 signs the encoding
  // of the decoded path, so "/a$b" and "/a%24b" sign alike, as the server sees them alike.
  if (params.double_encode_path) return uri_encode(normalized, false);
  COFFER_TRY(std::string decoded, percent_decode(normalized));
  return uri_encode(decoded, false);
}

std::string canonical_query_string(const QueryParams& query) {
  std::vector<std::pair<std::string, std::string>> encoded;
  encoded.reserve(query.size());
  for (const auto& [name, value] : query) {
    encoded.emplace_back(uri_encode(name, true), uri_encode(value, true));
  }
  std::sort(encoded.begin(), encoded.end());
  std::string out;
  for (const auto& [name, value] : encoded) {
    if (!out.empty()) out += '&';
    out += name;
    out += '=';
    out += value;
  }
  return out;
}

Result<CanonicalHeaders> canonical_headers(const Headers& headers) {
  std::vector<Header> lowered;
  lowered.reserve(headers.size());
  for (const auto& [name, value] : headers) {
    if (name.empty() || name.find_first_of(": \t\r\n") != std::string::npos) {
      return bad_input("bad header name '" + name + "'");
    }
    if (has_newline(value)) return bad_input("newline in the value of header " + name);
    lowered.emplace_back(to_lower(name), trim_all(value));
  }
  // Stable: the values of a repeated header keep the order they are sent in.
  std::stable_sort(lowered.begin(), lowered.end(),
                   [](const Header& a, const Header& b) { return a.first < b.first; });
  CanonicalHeaders out;
  for (std::size_t i = 0; i < lowered.size(); ++i) {
    const bool repeat = i > 0 && lowered[i].first == lowered[i - 1].first;
    if (repeat) {
      out.text += ',';
    } else {
      if (i > 0) {
        out.text += '\n';
        out.signed_headers += ';';
      }
      out.text += lowered[i].first;
      out.text += ':';
      out.signed_headers += lowered[i].first;
    }
    out.text += lowered[i].second;
  }
  if (!lowered.empty()) out.text += '\n';
  return out;
}

std::string canonical_request(std::string_view method, std::string_view canonical_uri,
                              std::string_view canonical_query, const CanonicalHeaders& headers,
                              std::string_view payload_hash) {
  std::string out;
  out.reserve(method.size() + canonical_uri.size() + canonical_query.size() + headers.text.size() +
              headers.signed_headers.size() + payload_hash.size() + 5);
  out.append(method).append("\n");
  out.append(canonical_uri).append("\n");
  out.append(canonical_query).append("\n");
  out.append(headers.text).append("\n");
  out.append(headers.signed_headers).append("\n");
  out.append(payload_hash);
  return out;
}

// ---- Step 2 -------------------------------------------------------------------------------------

std::string credential_scope(SystemTime time, std::string_view region, std::string_view service) {
  std::string out = format_amz_day(time);
  out.append("/").append(region).append("/").append(service).append("/aws4_request");
  return out;
}

std::string string_to_sign(SystemTime time, std::string_view scope,
                           std::string_view canonical_request) {
  std::string out(kAlgorithm);
  out.append("\n").append(format_amz_date(time));
  out.append("\n").append(scope);
  out.append("\n").append(sha256_hex(canonical_request));
  return out;
}

// ---- Step 3 -------------------------------------------------------------------------------------

SigningKey derive_signing_key(std::string_view secret_access_key, SystemTime time,
                              std::string_view region, std::string_view service) {
  const std::string seed = "AWS4" + std::string(secret_access_key);
  SigningKey key = hmac_sha256(seed, format_amz_day(time));
  key = hmac_sha256(as_string_view(key), region);
  key = hmac_sha256(as_string_view(key), service);
  return hmac_sha256(as_string_view(key), "aws4_request");
}

SigningKey SigningKeyCache::get(std::string_view secret_access_key, SystemTime time,
                                std::string_view region, std::string_view service) {
  Key key{std::string(secret_access_key), format_amz_day(time), std::string(region),
          std::string(service)};
  {
    std::lock_guard lock(mu_);
    if (auto it = keys_.find(key); it != keys_.end()) return it->second;
  }
  // Derived outside the lock: two threads may both derive the same key once, which is harmless.
  const SigningKey derived = derive_signing_key(secret_access_key, time, region, service);
  if (capacity_ > 0) {
    std::lock_guard lock(mu_);
    if (keys_.size() >= capacity_) keys_.clear();
    keys_.emplace(std::move(key), derived);
  }
  return derived;
}

std::size_t SigningKeyCache::size() const {
  std::lock_guard lock(mu_);
  return keys_.size();
}

// ---- Step 4 -------------------------------------------------------------------------------------

std::string compute_signature(const SigningKey& key, std::string_view string_to_sign) {
  return hex_encode(hmac_sha256(as_string_view(key), string_to_sign));
}

// ---- Whole requests -----------------------------------------------------------------------------

Result<HeaderSignature> sign_with_headers(const RequestToSign& request, const SigningParams& params,
                                          SigningKeyCache* cache) {
  COFFER_TRY_VOID(check_common(request, params));
  const bool has_token = !params.creds.session_token.empty();
  for (std::string_view owned : {"authorization", "x-amz-date"}) {
    if (has_header(request.headers, owned)) {
      return bad_input("the request already has " + std::string(owned));
    }
  }
  if (has_token && has_header(request.headers, "x-amz-security-token")) {
    return bad_input("the request already has x-amz-security-token");
  }
  if (params.add_content_sha256 && has_header(request.headers, "x-amz-content-sha256")) {
    return bad_input("the request already has x-amz-content-sha256");
  }

  HeaderSignature out;
  out.headers.emplace_back("X-Amz-Date", format_amz_date(params.time));
  if (has_token) out.headers.emplace_back("X-Amz-Security-Token", params.creds.session_token);
  if (params.add_content_sha256) {
    out.headers.emplace_back("X-Amz-Content-Sha256", request.payload_hash);
  }

  Headers to_sign = request.headers;
  for (const Header& added : out.headers) {
    if (params.omit_session_token && added.first == "X-Amz-Security-Token") continue;
    to_sign.push_back(added);
  }
  COFFER_TRY(const std::string uri, canonical_uri(request.path, params));
  COFFER_TRY(const CanonicalHeaders headers, canonical_headers(to_sign));
  out.steps.canonical_request = canonical_request(
      request.method, uri, canonical_query_string(request.query), headers, request.payload_hash);

  const std::string scope = credential_scope(params.time, params.region, params.service);
  out.steps.string_to_sign = string_to_sign(params.time, scope, out.steps.canonical_request);
  out.steps.signature = compute_signature(signing_key(params, cache), out.steps.string_to_sign);

  std::string authorization(kAlgorithm);
  authorization.append(" Credential=").append(params.creds.access_key_id).append("/").append(scope);
  authorization.append(", SignedHeaders=").append(headers.signed_headers);
  authorization.append(", Signature=").append(out.steps.signature);
  out.headers.emplace_back("Authorization", std::move(authorization));
  return out;
}

Result<PresignedQuery> presign(const RequestToSign& request, const SigningParams& params,
                               std::chrono::seconds expires, SigningKeyCache* cache) {
  if (expires < std::chrono::seconds(1) || expires > kMaxPresignExpiry) {
    return Error::BadRequest("a presigned URL must expire after 1 second to 7 days");
  }
  COFFER_TRY_VOID(check_common(request, params));
  static constexpr std::array<std::string_view, 7> kAuthParams = {
      "X-Amz-Algorithm",     "X-Amz-Credential",     "X-Amz-Date",     "X-Amz-Expires",
      "X-Amz-SignedHeaders", "X-Amz-Security-Token", "X-Amz-Signature"};
  for (const auto& param : request.query) {
    for (std::string_view auth : kAuthParams) {
      if (iequals(param.first, auth)) return bad_input("the query already has " + param.first);
    }
  }

  COFFER_TRY(const std::string uri, canonical_uri(request.path, params));
  COFFER_TRY(const CanonicalHeaders headers, canonical_headers(request.headers));
  const std::string scope = credential_scope(params.time, params.region, params.service);
  const bool has_token = !params.creds.session_token.empty();

  QueryParams query = request.query;
  query.emplace_back("X-Amz-Algorithm", std::string(kAlgorithm));
  query.emplace_back("X-Amz-Credential", params.creds.access_key_id + "/" + scope);
  query.emplace_back("X-Amz-Date", format_amz_date(params.time));
  query.emplace_back("X-Amz-Expires", std::to_string(expires.count()));
  query.emplace_back("X-Amz-SignedHeaders", headers.signed_headers);
  if (has_token && !params.omit_session_token) {
    query.emplace_back("X-Amz-Security-Token", params.creds.session_token);
  }

  PresignedQuery out;
  out.query = canonical_query_string(query);
  out.steps.canonical_request =
      canonical_request(request.method, uri, out.query, headers, request.payload_hash);
  out.steps.string_to_sign = string_to_sign(params.time, scope, out.steps.canonical_request);
  out.steps.signature = compute_signature(signing_key(params, cache), out.steps.string_to_sign);

  if (has_token && params.omit_session_token) {
    out.query.append("&X-Amz-Security-Token=").append(uri_encode(params.creds.session_token, true));
  }
  out.query.append("&X-Amz-Signature=").append(out.steps.signature);
  return out;
}

// ---- Streaming ----------------------------------------------------------------------------------

std::string chunk_string_to_sign(SystemTime time, std::string_view scope,
                                 std::string_view previous_signature,
                                 std::string_view chunk_sha256_hex) {
  std::string out = "AWS4-HMAC-SHA256-PAYLOAD\n";
  out.append(format_amz_date(time)).append("\n");
  out.append(scope).append("\n");
  out.append(previous_signature).append("\n");
  out.append(kEmptySha256).append("\n");
  out.append(chunk_sha256_hex);
  return out;
}

std::string trailer_string_to_sign(SystemTime time, std::string_view scope,
                                   std::string_view previous_signature,
                                   std::string_view canonical_trailer) {
  std::string out = "AWS4-HMAC-SHA256-TRAILER\n";
  out.append(format_amz_date(time)).append("\n");
  out.append(scope).append("\n");
  out.append(previous_signature).append("\n");
  out.append(sha256_hex(canonical_trailer));
  return out;
}

}  // namespace coffer::s3
