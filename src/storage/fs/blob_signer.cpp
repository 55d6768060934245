#include "storage/fs/blob_signer.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <stdexcept>

#include "core/crypto.h"
#include "core/encoding.h"

namespace coffer::storage {

namespace {

constexpr std::string_view kCanonicalVersion = "COFFER-BLOB-V2\n";
constexpr std::uint64_t kMaxPartNumber = 10000;

bool is_unreserved(unsigned char c) {
  return std::isalnum(c) != 0 || c == '-' || c == '.' || c == '_' || c == '~';
}

std::string percent_encode(std::string_view text, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    if ((c < 0x80 && is_unreserved(c)) || (keep_slash && c == '/')) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  return out;
}

std::string_view method_name(PresignMethod m) { return m == PresignMethod::kPut ? "PUT" : "GET"; }

void append_field(std::string& out, std::string_view value) {
  out.append(std::to_string(value.size()));
  out.push_back(':');
  out.append(value);
  out.push_back('\n');
}

// Strict unsigned decimal: digits only, no sign, no leading zero (but "0"), fits in 64 bits.
std::optional<std::uint64_t> parse_decimal(std::string_view s) {
  if (s.empty() || (s.size() > 1 && s[0] == '0')) return std::nullopt;
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

bool is_lower_hex64(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace

std::string encode_blob_key(std::string_view key) { return percent_encode(key, true); }

BlobSigner::BlobSigner(std::string secret_key, std::string public_base_url)
    : secret_(std::move(secret_key)), base_url_(std::move(public_base_url)) {
  if (secret_.size() < kMinSecretBytes) {
    throw std::invalid_argument("blob signing key must be at least 32 bytes");
  }
  while (!base_url_.empty() && base_url_.back() == '/') base_url_.pop_back();
  std::string_view rest = base_url_;
  if (rest.starts_with("http://")) {
    rest.remove_prefix(7);
  } else if (rest.starts_with("https://")) {
    rest.remove_prefix(8);
  } else {
    throw std::invalid_argument("public base URL must start with http:// or https://");
  }
  if (rest.empty() || rest.find_first_of("?#") != std::string_view::npos ||
      std::any_of(rest.begin(), rest.end(),
                  [](unsigned char c) { return c <= 0x20 || c >= 0x7f; })) {
    throw std::invalid_argument("public base URL is not a plain http(s) URL");
  }
}

std::string BlobSigner::signature(std::string_view method, std::string_view key,
                                  std::string_view expires, std::string_view length,
                                  std::string_view sha256, std::string_view content_type,
                                  std::string_view disposition, std::string_view upload_id,
                                  std::string_view part) const {
  std::string canonical(kCanonicalVersion);
  for (std::string_view field :
       {method, key, expires, length, sha256, content_type, disposition, upload_id, part}) {
    append_field(canonical, field);
  }
  return hex_encode(hmac_sha256(secret_, canonical));
}

PresignedUrl BlobSigner::make_url(std::string_view method, std::string_view key,
                                  std::int64_t expires_s, std::string_view length,
                                  std::string_view sha, std::string_view content_type,
                                  std::string_view disposition, std::string_view upload_id,
                                  std::string_view part) const {
  const std::string expires = std::to_string(expires_s);
  PresignedUrl out;
  out.expires_at = from_unix_seconds(expires_s);
  std::string& url = out.url;
  url = base_url_;
  url.append(kBlobPathPrefix);
  url.append(encode_blob_key(key));
  auto add = [&url, first = true](std::string_view name, std::string_view value) mutable {
    url.push_back(first ? '?' : '&');
    first = false;
    url.append(name);
    url.push_back('=');
    url.append(percent_encode(value, false));
  };
  add(kBlobMethodParam, method);
  add(kBlobExpiresParam, expires);
  if (!length.empty()) add(kBlobLengthParam, length);
  if (!sha.empty()) add(kBlobSha256Param, sha);
  if (!content_type.empty()) add(kBlobContentTypeParam, content_type);
  if (!disposition.empty()) add(kBlobDispositionParam, disposition);
  if (!upload_id.empty()) add(kBlobUploadIdParam, upload_id);
  if (!part.empty()) add(kBlobPartParam, part);
  add(kBlobSignatureParam, signature(method, key, expires, length, sha, content_type, disposition,
                                     upload_id, part));

  if (!length.empty()) out.headers["Content-Length"] = std::string(length);
  if (!content_type.empty()) out.headers["Content-Type"] = std::string(content_type);
  if (!sha.empty()) out.headers[std::string(kChecksumHeader)] = std::string(sha);
  return out;
}

PresignedUrl BlobSigner::sign(const PresignRequest& request) const {
  const bool put = request.method == PresignMethod::kPut;
  const std::int64_t expires_s = to_unix_seconds(request.now) + request.expires_in.count();
  const std::string length =
      put && request.content_length ? std::to_string(*request.content_length) : std::string();
  const std::string sha = put ? lower(request.sha256) : std::string();
  const std::string content_type = put ? request.content_type : std::string();
  const std::string disposition = put ? std::string() : request.response_content_disposition;
  return make_url(method_name(request.method), request.key, expires_s, length, sha, content_type,
                  disposition, "", "");
}

PresignedUrl BlobSigner::sign_part(const PresignPartRequest& request) const {
  const std::int64_t expires_s = to_unix_seconds(request.now) + request.expires_in.count();
  return make_url("PUT", request.key, expires_s, std::to_string(request.size),
                  lower(request.sha256), "", "", request.upload_id,
                  std::to_string(request.part_number));
}

Result<BlobGrant> BlobSigner::verify(std::string_view method, std::string_view key,
                                     const std::map<std::string, std::string>& query,
                                     SystemTime now) const {
  static constexpr std::string_view kKnown[] = {
      kBlobMethodParam,      kBlobExpiresParam,     kBlobLengthParam,    kBlobSha256Param,
      kBlobContentTypeParam, kBlobDispositionParam, kBlobUploadIdParam, kBlobPartParam,
      kBlobSignatureParam,
  };
  for (const auto& [name, value] : query) {
    if (std::find(std::begin(kKnown), std::end(kKnown), name) == std::end(kKnown)) {
      return Error::Forbidden("unknown parameter in blob URL");
    }
  }
  auto param = [&query](std::string_view name) -> std::string_view {
    auto it = query.find(std::string(name));
    return it == query.end() ? std::string_view() : std::string_view(it->second);
  };
  const std::string_view signed_method = param(kBlobMethodParam);
  const std::string_view expires = param(kBlobExpiresParam);
  const std::string_view length = param(kBlobLengthParam);
  const std::string_view sha = param(kBlobSha256Param);
  const std::string_view content_type = param(kBlobContentTypeParam);
  const std::string_view disposition = param(kBlobDispositionParam);
  const std::string_view upload_id = param(kBlobUploadIdParam);
  const std::string_view part = param(kBlobPartParam);
  const std::string_view given_signature = param(kBlobSignatureParam);

  if (signed_method != "GET" && signed_method != "PUT") {
    return Error::Forbidden("invalid blob URL");
  }
  auto expires_s = parse_decimal(expires);
  if (!expires_s || *expires_s > static_cast<std::uint64_t>(INT64_MAX / 2)) {
    return Error::Forbidden("invalid blob URL");
  }
  std::optional<std::uint64_t> content_length;
  if (!length.empty()) {
    content_length = parse_decimal(length);
    if (!content_length) return Error::Forbidden("invalid blob URL");
  }
  if (!sha.empty() && !is_lower_hex64(sha)) return Error::Forbidden("invalid blob URL");
  std::optional<std::uint64_t> part_number;
  if (!upload_id.empty() || !part.empty()) {
    part_number = parse_decimal(part);
    if (upload_id.empty() || !part_number || *part_number < 1 || *part_number > kMaxPartNumber ||
        signed_method != "PUT" || !content_length) {
      return Error::Forbidden("invalid blob URL");
    }
  }
  if (!is_lower_hex64(given_signature)) return Error::Forbidden("invalid blob URL");

  const std::string expected = signature(signed_method, key, expires, length, sha, content_type,
                                         disposition, upload_id, part);
  if (!constant_time_equal(expected, given_signature)) {
    return Error::Forbidden("invalid blob URL signature");
  }
  if (method != signed_method) return Error::Forbidden("blob URL is for another method");
  const SystemTime expires_at = from_unix_seconds(static_cast<std::int64_t>(*expires_s));
  if (now >= expires_at) return Error::Forbidden("blob URL has expired");

  BlobGrant grant;
  grant.method = signed_method == "PUT" ? PresignMethod::kPut : PresignMethod::kGet;
  grant.key = std::string(key);
  grant.expires_at = expires_at;
  grant.content_length = content_length;
  grant.sha256 = std::string(sha);
  grant.content_type = std::string(content_type);
  grant.response_content_disposition = std::string(disposition);
  grant.upload_id = std::string(upload_id);
  grant.part_number = part_number ? static_cast<int>(*part_number) : 0;
  return grant;
}

}  // namespace coffer::storage
