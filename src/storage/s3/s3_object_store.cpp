#include "storage/s3/s3_object_store.h"

#include <algorithm>
#include <set>

#include "core/crypto.h"
#include "core/encoding.h"

namespace coffer::storage {
namespace {

constexpr std::chrono::seconds kMaxPresignExpiry = std::chrono::hours(24 * 7);
// Keys asked of ReferencedKeys at a time (its contract).
constexpr std::size_t kReferencedBatch = 1000;

Error bad_url(std::string why) { return Error::Internal("storage URL: " + std::move(why)); }

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// Counts, limits and hashes a body as it passes on the caller's thread, and turns every check of
// PutOptions into an error of read(): the S3 client then never completes the object.
class VerifyingSource final : public ByteSource {
 public:
  VerifyingSource(ByteSource& inner, const PutOptions& options)
      : inner_(inner), options_(options) {}

  Result<std::size_t> read(std::span<char> out) override {
    if (ended_) return std::size_t{0};
    COFFER_TRY(std::size_t n, inner_.read(out));
    if (n == 0) {
      if (options_.size && total_ != *options_.size) {
        return Error::BadRequest("body is shorter than its declared length");
      }
      sha256_ = hex_encode(hash_.finish());
      if (options_.expected_sha256 && lower(*options_.expected_sha256) != sha256_) {
        return Error::BadRequest("checksum mismatch");
      }
      ended_ = true;
      return std::size_t{0};
    }
    if (options_.max_bytes - total_ < n)
      return Error::PayloadTooLarge("body exceeds the size limit");
    total_ += n;
    if (options_.size && total_ > *options_.size) {
      return Error::BadRequest("body is longer than its declared length");
    }
    hash_.update(std::string_view(out.data(), n));
    return n;
  }

  bool ended() const { return ended_; }
  std::uint64_t total() const { return total_; }
  const std::string& sha256() const { return sha256_; }

 private:
  ByteSource& inner_;
  const PutOptions& options_;
  Sha256 hash_;
  std::uint64_t total_ = 0;
  std::string sha256_;
  bool ended_ = false;
};

bool valid_prefix_segment(std::string_view segment) {
  if (segment.empty() || segment == "." || segment == "..") return false;
  return std::none_of(segment.begin(), segment.end(),
                      [](unsigned char c) { return c < 0x20 || c == 0x7f || c == '\\'; });
}

}  // namespace

Result<S3StorageUrl> parse_s3_storage_url(std::string_view url) {
  if (!url.starts_with("s3://")) return bad_url("an S3 storage URL starts with s3://");
  std::string_view rest = url.substr(5);
  S3StorageUrl out;
  const auto slash = rest.find('/');
  out.bucket = std::string(rest.substr(0, slash));
  if (out.bucket.empty() || out.bucket.size() > 255 ||
      !std::all_of(out.bucket.begin(), out.bucket.end(), [](unsigned char c) {
        return std::isalnum(c) || c == '.' || c == '-' || c == '_';
      })) {
    return bad_url("bad bucket name in '" + std::string(url) + "'");
  }
  if (slash == std::string_view::npos) return out;
  std::string_view prefix = rest.substr(slash + 1);
  if (prefix.ends_with('/')) prefix.remove_suffix(1);
  if (prefix.empty()) return out;
  std::size_t start = 0;
  while (start <= prefix.size()) {
    std::size_t end = prefix.find('/', start);
    if (end == std::string_view::npos) end = prefix.size();
    if (!valid_prefix_segment(prefix.substr(start, end - start))) {
      return bad_url("bad key prefix in '" + std::string(url) + "'");
    }
    start = end + 1;
  }
  out.key_prefix = std::string(prefix) + "/";
  if (out.key_prefix.size() >= S3ObjectStore::kMaxKeyBytes / 2)
    return bad_url("key prefix too long");
  return out;
}

S3ObjectStore::S3ObjectStore(const S3Config& config, S3StorageUrl location)
    : location_(std::move(location)), client_(config, location_.bucket) {}

Result<std::string> S3ObjectStore::object_key(const std::string& key) const {
  if (key.empty()) return Error::Internal("s3: empty object key");
  if (location_.key_prefix.size() + key.size() > kMaxKeyBytes) {
    return Error::Internal("s3: object key too long");
  }
  return location_.key_prefix + key;
}

Result<PutResult> S3ObjectStore::put(const std::string& key, ByteSource& body,
                                     const PutOptions& options) {
  COFFER_TRY(std::string full, object_key(key));
  if (options.size && *options.size > options.max_bytes) {
    return Error::PayloadTooLarge("body exceeds the size limit");
  }
  if (options.expected_sha256 && !is_sha256_hex(*options.expected_sha256)) {
    return Error::BadRequest("checksum mismatch");
  }
  VerifyingSource verified(body, options);
  s3::PutObjectOptions put_options;
  put_options.content_type = options.content_type;
  COFFER_TRY(s3::PutObjectResult stored, client_.upload(full, verified, options.size, put_options));
  if (!verified.ended() || stored.size != verified.total()) {
    // The client completes an object only after the source ended; anything else is a bug.
    (void)client_.delete_object(full);
    return Error::Internal("s3: the client stored an object before its body ended");
  }
  return PutResult{verified.total(), verified.sha256()};
}

Result<std::unique_ptr<ObjectReader>> S3ObjectStore::get(const std::string& key,
                                                         std::optional<ByteRange> range) {
  COFFER_TRY(std::string full, object_key(key));
  COFFER_TRY(s3::GetObjectResult got, client_.get_object(full, range));
  return std::move(got.body);
}

Result<ObjectInfo> S3ObjectStore::head(const std::string& key) {
  COFFER_TRY(std::string full, object_key(key));
  COFFER_TRY(s3::ObjectHead h, client_.head_object(full));
  return ObjectInfo{h.size, h.last_modified};
}

Result<void> S3ObjectStore::remove(const std::string& key) {
  COFFER_TRY(std::string full, object_key(key));
  return client_.delete_object(full);
}

Result<void> S3ObjectStore::remove_many(const std::vector<std::string>& keys) {
  std::vector<std::string> full;
  full.reserve(keys.size());
  for (const auto& key : keys) {
    COFFER_TRY(std::string k, object_key(key));
    full.push_back(std::move(k));
  }
  COFFER_TRY(auto failures, client_.delete_objects(full));
  if (!failures.empty()) {
    const auto& f = failures.front();
    return Error::Internal("s3: DeleteObjects refused " + std::to_string(failures.size()) +
                           " keys, e.g. '" + f.key + "': " + f.code + " " + f.message);
  }
  return Ok();
}

Result<void> S3ObjectStore::remove_abandoned(const std::string& key) {
  COFFER_TRY(std::string full, object_key(key));
  // A writer killed mid-upload never aborted its multipart upload: its parts stay (and cost)
  // until someone does. Keys are never reused, so every upload to this key is the abandoned one.
  COFFER_TRY(auto uploads, client_.list_multipart_uploads(full));
  for (const auto& upload : uploads) {
    if (upload.key != full) continue;  // a longer key that starts with this one
    COFFER_TRY_VOID(client_.abort_multipart_upload(upload.key, upload.upload_id));
  }
  return client_.delete_object(full);
}

Result<ObjectList> S3ObjectStore::list(const std::string& prefix, const std::string& token,
                                       int max_keys) {
  if (max_keys < 1) return Error::Internal("s3: list with max_keys < 1");
  s3::ListObjectsRequest request;
  request.prefix = location_.key_prefix + prefix;
  if (!token.empty()) request.start_after = location_.key_prefix + token;
  request.max_keys = std::min(max_keys, 1000);
  COFFER_TRY(s3::ListObjectsPage page, client_.list_objects_v2(request));
  ObjectList out;
  out.objects.reserve(page.objects.size());
  for (auto& o : page.objects) {
    if (!o.key.starts_with(location_.key_prefix)) {
      return Error::Internal("s3: listing returned a key outside the prefix");
    }
    out.objects.push_back({o.key.substr(location_.key_prefix.size()), o.size, o.last_modified});
  }
  if (page.is_truncated && !out.objects.empty()) out.next_token = out.objects.back().key;
  return out;
}

Result<PresignedUrl> S3ObjectStore::presign(const PresignRequest& request) {
  COFFER_TRY(std::string full, object_key(request.key));
  if (request.expires_in < std::chrono::seconds(1) || request.expires_in > kMaxPresignExpiry) {
    return Error::BadRequest("expires_in must be between 1 second and 7 days");
  }
  s3::PresignOptions options{request.now, request.expires_in};
  Result<s3::PresignedRequest> signed_request = Error::Internal("unreachable");
  if (request.method == PresignMethod::kGet) {
    signed_request = client_.presign_get(full, options, request.response_content_disposition);
  } else {
    if (!request.sha256.empty() && !is_sha256_hex(request.sha256)) {
      return Error::BadRequest("sha256 must be 64 hex digits");
    }
    signed_request = client_.presign_put(full, options, request.content_length,
                                         request.content_type, request.sha256);
  }
  if (!signed_request) return signed_request.error();
  PresignedUrl out;
  out.url = std::move(signed_request->url);
  out.headers = std::move(signed_request->headers);
  out.expires_at = signed_request->expires_at;
  return out;
}

Result<std::string> S3ObjectStore::begin_upload(const std::string& key,
                                                const std::string& content_type,
                                                std::uint64_t /*size*/,
                                                std::uint64_t /*part_size*/) {
  COFFER_TRY(std::string full, object_key(key));
  s3::PutObjectOptions options;
  options.content_type = content_type;
  return client_.create_multipart_upload(full, options);
}

Result<PresignedUrl> S3ObjectStore::presign_upload_part(const PresignPartRequest& request) {
  COFFER_TRY(std::string full, object_key(request.key));
  if (request.expires_in < std::chrono::seconds(1) || request.expires_in > kMaxPresignExpiry) {
    return Error::BadRequest("expires_in must be between 1 second and 7 days");
  }
  if (request.upload_id.empty()) return Error::Internal("s3: presign a part without an upload id");
  s3::PresignOptions options{request.now, request.expires_in};
  COFFER_TRY(s3::PresignedRequest signed_request,
             client_.presign_upload_part(full, request.upload_id, request.part_number, options,
                                         request.size, request.sha256));
  PresignedUrl out;
  out.url = std::move(signed_request.url);
  out.headers = std::move(signed_request.headers);
  out.expires_at = signed_request.expires_at;
  return out;
}

Result<std::vector<UploadedPart>> S3ObjectStore::list_upload_parts(const std::string& key,
                                                                   const std::string& upload_id) {
  COFFER_TRY(std::string full, object_key(key));
  COFFER_TRY(auto listed, client_.list_parts(full, upload_id));
  std::vector<UploadedPart> parts;
  parts.reserve(listed.size());
  for (auto& p : listed) parts.push_back({p.part_number, std::move(p.etag), p.size});
  return parts;
}

Result<void> S3ObjectStore::complete_upload(const std::string& key, const std::string& upload_id,
                                            const std::vector<CompletedPartRef>& parts) {
  COFFER_TRY(std::string full, object_key(key));
  if (parts.empty()) return Error::BadRequest("an upload is completed with at least one part");
  std::vector<s3::CompletedPart> completed;
  completed.reserve(parts.size());
  for (const auto& p : parts) {
    if (!completed.empty() && p.number <= completed.back().part_number) {
      return Error::BadRequest("parts must be listed in ascending order");
    }
    completed.push_back({p.number, p.etag});
  }
  auto done = client_.complete_multipart_upload(full, upload_id, completed);
  if (!done) {
    const ErrorCode code = done.error().code;
    if (code == ErrorCode::kBadRequest || code == ErrorCode::kNotFound) return done.error();
    // RGW answers the completion of an aborted upload with 500 InternalError ("multipart
    // completion is already in progress"), not 404 NoSuchUpload: ask whether it is still there.
    auto parts = client_.list_parts(full, upload_id);
    if (!parts && parts.error().code == ErrorCode::kNotFound) return parts.error();
    return done.error();
  }
  return Ok();
}

Result<void> S3ObjectStore::abort_upload(const std::string& key, const std::string& upload_id) {
  COFFER_TRY(std::string full, object_key(key));
  return client_.abort_multipart_upload(full, upload_id);
}

Result<void> S3ObjectStore::check() { return client_.head_bucket(); }

Result<int> S3ObjectStore::abort_stale_uploads(SystemTime older_than,
                                              const ReferencedKeys& referenced) {
  COFFER_TRY(auto uploads, client_.list_multipart_uploads(location_.key_prefix));
  std::erase_if(uploads, [&](const s3::ListedUpload& u) {
    return u.initiated >= older_than || !u.key.starts_with(location_.key_prefix);
  });
  std::set<std::string> keep;
  for (std::size_t start = 0; referenced && start < uploads.size(); start += kReferencedBatch) {
    std::vector<std::string> keys;
    for (std::size_t i = start; i < std::min(uploads.size(), start + kReferencedBatch); ++i) {
      keys.push_back(uploads[i].key.substr(location_.key_prefix.size()));
    }
    COFFER_TRY(auto live, referenced(keys));
    keep.insert(live.begin(), live.end());
  }
  int aborted = 0;
  for (const auto& u : uploads) {
    if (keep.contains(u.key.substr(location_.key_prefix.size()))) continue;
    COFFER_TRY_VOID(client_.abort_multipart_upload(u.key, u.upload_id));
    ++aborted;
  }
  return aborted;
}

}  // namespace coffer::storage
