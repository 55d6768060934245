// ObjectStore on one S3 bucket (AWS S3, Ceph RGW, MinIO, ...), under an optional key prefix:
// COFFER_STORAGE_URL=s3://bucket[/key-prefix] (DESIGN.md "Shape").
//
// The object of Coffer key K is the S3 object <key prefix>K. Nothing is ever written outside the
// prefix, and list() returns keys with the prefix stripped.
//
// put() never leaves a partial or refused object behind: a body with a known size up to the
// client's multipart threshold goes as one streaming PUT whose last bytes are held back until
// every check passed (an S3 PUT that does not complete creates nothing); other bodies go as a
// multipart upload that is completed only after every check passed and is aborted otherwise.
// SHA-256 and size are computed once, on the calling thread, as the bytes pass.
//
// A multipart upload whose abort failed too (the store went away meanwhile) leaves parts that are
// not an object: no get, head or list sees them. abort_stale_uploads() removes them later.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/config.h"
#include "storage/object_store.h"
#include "storage/s3/s3_client.h"

namespace coffer::storage {

// The parts of "s3://bucket[/key-prefix]".
struct S3StorageUrl {
  std::string bucket;
  std::string key_prefix;  // "" or ending in '/' ("s3://b/coffer" and "s3://b/coffer/" alike)
};
// Errors (kInternal, naming the problem) on another scheme, a bad bucket name, or a prefix with an
// empty, "." or ".." segment, a backslash or a control character.
Result<S3StorageUrl> parse_s3_storage_url(std::string_view url);

class S3ObjectStore final : public ObjectStore {
 public:
  // S3 limits keys to 1024 bytes, the prefix included.
  static constexpr std::size_t kMaxKeyBytes = 1024;

  // Throws std::runtime_error on a configuration that cannot work (see S3Client). Does no I/O.
  S3ObjectStore(const S3Config& config, S3StorageUrl location);
  ~S3ObjectStore() override = default;

  // Errors: a body over options.max_bytes -> kPayloadTooLarge (before reading when options.size
  // says so); a body whose length differs from options.size -> kBadRequest; an expected_sha256
  // mismatch -> kBadRequest "checksum mismatch"; a source's error as it is; the store failing ->
  // kStorageUnavailable. In every such case nothing is stored and an object already at `key` is
  // unchanged.
  Result<PutResult> put(const std::string& key, ByteSource& body,
                        const PutOptions& options) override;
  // The reader holds a connection until read to the end or destroyed; it must not outlive the
  // store. A range past the end -> kRangeNotSatisfiable.
  Result<std::unique_ptr<ObjectReader>> get(const std::string& key,
                                            std::optional<ByteRange> range) override;
  Result<ObjectInfo> head(const std::string& key) override;
  Result<void> remove(const std::string& key) override;
  // DeleteObjects in batches of 1000; any key S3 refused makes the call fail (naming it).
  Result<void> remove_many(const std::vector<std::string>& keys) override;
  // Aborts the multipart uploads to exactly this key, then deletes the object.
  Result<void> remove_abandoned(const std::string& key) override;
  // ListObjectsV2 under <key prefix><prefix>. next_token is the last key of the page (S3's
  // StartAfter), so tokens mean the same on every backend. max_keys < 1 -> kInternal; S3 returns
  // at most 1000 per page.
  Result<ObjectList> list(const std::string& prefix, const std::string& token,
                          int max_keys) override;
  // An S3 presigned URL. PUT binds Content-Length, Content-Type and, with a sha256,
  // x-amz-content-sha256 (the store then refuses other bytes); the returned headers must be sent.
  // GET may carry response-content-disposition. kBadRequest when expires_in is outside
  // 1 s - 7 days or sha256 is not 64 hex digits.
  Result<PresignedUrl> presign(const PresignRequest& request) override;
  // Direct uploads are S3 multipart uploads of <key prefix>key, every one of them (even a single
  // small part): the part URLs are presigned UploadPart requests binding Content-Length and, with
  // a sha256, x-amz-content-sha256. After CompleteMultipartUpload or AbortMultipartUpload the
  // upload id is gone, so S3 answers its URLs 404 NoSuchUpload: they cannot change the object.
  // Completing a completed upload again may succeed (S3 remembers it a while) without changing
  // the object.
  Result<std::string> begin_upload(const std::string& key, const std::string& content_type,
                                   std::uint64_t size, std::uint64_t part_size) override;
  Result<PresignedUrl> presign_upload_part(const PresignPartRequest& request) override;
  Result<std::vector<UploadedPart>> list_upload_parts(const std::string& key,
                                                      const std::string& upload_id) override;
  Result<void> complete_upload(const std::string& key, const std::string& upload_id,
                               const std::vector<CompletedPartRef>& parts) override;
  Result<void> abort_upload(const std::string& key, const std::string& upload_id) override;
  // HEAD on the bucket.
  Result<void> check() override;
  std::string_view kind() const override { return "s3"; }

  // Aborts the multipart uploads under the key prefix begun before `older_than` whose keys
  // `referenced` does not name (all of them when it is empty): those of puts whose abort failed,
  // and of direct uploads whose intent was never written. Returns how many. A direct upload in
  // progress is a multipart upload too, and may be completed until its URLs' expiry (up to 7
  // days) plus the upload TTL: its intent references its key, which keeps it, however old.
  Result<int> abort_stale_uploads(SystemTime older_than, const ReferencedKeys& referenced = {});

  const std::string& key_prefix() const { return location_.key_prefix; }
  const std::string& bucket() const { return location_.bucket; }
  s3::S3Client& client() { return client_; }

 private:
  Result<std::string> object_key(const std::string& key) const;

  S3StorageUrl location_;
  s3::S3Client client_;
};

}  // namespace coffer::storage
