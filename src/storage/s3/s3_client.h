// An S3 client for one bucket: asynchronous underneath (Boost.Beast with C++20 coroutines on an
// I/O thread the client owns), synchronous on top. This header holds no Asio or Beast type.
//
// Threads: every method may be called from any number of threads at once, but never from the
// client's own I/O thread (such a call fails with kInternal instead of deadlocking). Calls block
// until their coroutines finish; a ByteSource is read, and SHA-256 hashing is done, on the
// calling thread, so the I/O thread only moves bytes.
//
// Connections: a pool of keep-alive connections per endpoint, at most config.max_connections
// open (a call waits for a free one up to request_timeout). https endpoints use TLS 1.2+ through
// OpenSSL with the certificate chain (system store plus config.ca_file) and the host name
// verified, and SNI set. connect_timeout bounds connecting (TCP and TLS); request_timeout bounds
// each read or write, i.e. how long a transfer may stall.
//
// Retries: answers that are transient (5xx, SlowDown, ...; see s3_retry.h) and connection
// failures are retried with jittered exponential backoff, up to config.max_attempts attempts and
// the retry budget (config.request_timeout). A request whose body is streamed from a ByteSource
// cannot be replayed once bytes of it were consumed: it is retried only up to that point.
//
// Errors: see error_for_response (s3_protocol.h). When the store cannot be reached or keeps
// failing, kStorageUnavailable. A ByteSource's own error is returned as it is, unchanged.
//
// Signing: SigV4 with the config's credentials (and session token) for the config's region; bodies
// of data are sent as UNSIGNED-PAYLOAD (their integrity is the caller's SHA-256 and TLS), small
// XML bodies with their SHA-256.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/byte_stream.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/error.h"
#include "storage/object_store.h"
#include "storage/s3/s3_endpoint.h"
#include "storage/s3/s3_xml.h"

namespace coffer::s3 {

struct ObjectHead {
  std::uint64_t size = 0;  // of the whole object
  std::string etag;        // quoted
  SystemTime last_modified;
  std::string content_type;
};

struct GetObjectResult {
  // Delivers exactly body->size() bytes: the object, or the requested range of it. The reader
  // holds a connection: read it to the end (the connection is then reused) or drop it (the
  // connection is closed). It must not outlive the client. When the connection breaks mid-body,
  // the reader asks for the rest with a ranged GET conditional on the ETag (If-Match), up to
  // max_attempts - 1 times; if the object changed meanwhile, read() fails instead.
  std::unique_ptr<storage::ObjectReader> body;
  ObjectHead head;
};

struct PutObjectOptions {
  std::string content_type;  // "" for none (S3 then stores binary/octet-stream)
};

struct PutObjectResult {
  std::uint64_t size = 0;
  std::string etag;  // quoted; for multipart uploads fetched with HEAD when the server sent none
};

struct ListObjectsRequest {
  std::string prefix;
  std::string continuation_token;
  std::string start_after;
  std::string delimiter;
  int max_keys = 1000;  // 1..1000
};

struct PresignOptions {
  SystemTime now;
  std::chrono::seconds expires_in{900};
};

struct PresignedRequest {
  std::string method;
  std::string url;
  // Headers bound into the signature: the client must send each with exactly this value.
  std::map<std::string, std::string> headers;
  SystemTime expires_at;
};

// Counters for tests and metrics; monotonic except connections_open.
struct ClientStats {
  std::uint64_t connections_opened = 0;
  std::uint64_t requests_sent = 0;
  std::uint64_t retries = 0;
  int connections_open = 0;
};

class S3Client {
 public:
  // Objects above this size, or of unknown size, are uploaded by multipart (see upload()).
  static constexpr std::uint64_t kDefaultMultipartThreshold = 64ULL << 20;
  // S3's limits on parts.
  static constexpr std::uint64_t kMinPartSize = 5ULL << 20;
  static constexpr std::uint64_t kMaxPartSize = 5ULL << 30;
  static constexpr int kMaxParts = 10000;

  // Throws std::runtime_error on a configuration that cannot work (a start-up failure): a bad
  // endpoint URL or bucket name, an unreadable ca_file. Starts the I/O thread. Connects lazily.
  S3Client(const S3Config& config, std::string bucket);
  // Stops the I/O thread and closes every connection. No call may be in progress and no reader
  // may be alive.
  ~S3Client();
  S3Client(const S3Client&) = delete;
  S3Client& operator=(const S3Client&) = delete;

  const std::string& bucket() const;
  const BucketAddress& address() const;
  ClientStats stats() const;

  // ---- Bucket ------------------------------------------------------------------------------
  // HEAD on the bucket: one cheap round trip (for /readyz).
  Result<void> head_bucket();

  // ---- Objects -----------------------------------------------------------------------------
  Result<ObjectHead> head_object(const std::string& key);
  // GET, or a ranged GET (206). A range past the end -> kRangeNotSatisfiable.
  Result<GetObjectResult> get_object(const std::string& key,
                                     std::optional<storage::ByteRange> range = std::nullopt);

  // One PUT of a body held in memory: replayable, so retried like any idempotent request.
  Result<PutObjectResult> put_object(const std::string& key, std::string_view body,
                                     const PutObjectOptions& options = {});
  // One streaming PUT of exactly `size` bytes pulled from `body` (Content-Length: size,
  // UNSIGNED-PAYLOAD), through two small buffers: one is sent while the other fills. The last
  // bytes are held back until `body` has reported its end (read() -> 0) without error, so an
  // error from `body` at any point, or a length other than `size`, creates nothing (the request
  // is cut off). A body that fits in one buffer is sent as a replayable PUT.
  Result<PutObjectResult> put_object(const std::string& key, ByteSource& body, std::uint64_t size,
                                     const PutObjectOptions& options = {});
  // Multipart upload of `body` to its end: parts of config.part_size (at least kMinPartSize) are
  // uploaded while the body still streams in, at most config.parts_in_flight at once, so at most
  // parts_in_flight + 1 parts are in memory. Every 1000 parts the part size doubles (S3 allows
  // parts of different sizes), so that 10000 parts reach S3's 5 TiB object limit. Completes only
  // after `body` reported its end without error; on any failure the upload is aborted (best
  // effort: if the abort fails too, abort_incomplete_uploads() cleans up later). A body shorter
  // than one part is sent as a single PUT instead.
  Result<PutObjectResult> multipart_upload(const std::string& key, ByteSource& body,
                                           const PutObjectOptions& options = {});
  // The right one of the two: a streaming PUT when `size` is known and at most the multipart
  // threshold, else multipart_upload.
  Result<PutObjectResult> upload(const std::string& key, ByteSource& body,
                                 std::optional<std::uint64_t> size,
                                 const PutObjectOptions& options = {});
  // Part size of part `part_number` (1-based) for a configured part size.
  static std::uint64_t part_size_for(std::uint64_t configured, int part_number);
  void set_multipart_threshold(std::uint64_t bytes) { multipart_threshold_ = bytes; }

  // Succeeds when the object is absent too.
  Result<void> delete_object(const std::string& key);
  // DeleteObjects in batches of 1000 (Content-MD5 computed). Returns the keys S3 refused.
  Result<std::vector<DeleteFailure>> delete_objects(const std::vector<std::string>& keys);
  // One page of ListObjectsV2.
  Result<ListObjectsPage> list_objects_v2(const ListObjectsRequest& request);

  // ---- Multipart, step by step (also for presigned direct uploads) ---------------------------
  Result<std::string> create_multipart_upload(const std::string& key,
                                              const PutObjectOptions& options = {});
  // Returns the part's ETag (quoted).
  Result<std::string> upload_part(const std::string& key, const std::string& upload_id,
                                  int part_number, std::string_view data);
  // Returns the object's ETag (quoted), asked for with HEAD when the answer has none (Ceph RGW).
  // An answer of 200 whose body is an <Error> is that error.
  Result<std::string> complete_multipart_upload(const std::string& key,
                                                const std::string& upload_id,
                                                const std::vector<CompletedPart>& parts);
  // Succeeds when the upload is already gone too.
  Result<void> abort_multipart_upload(const std::string& key, const std::string& upload_id);
  // Every part uploaded so far (all pages), in part-number order.
  Result<std::vector<ListedPart>> list_parts(const std::string& key, const std::string& upload_id);
  // Uploads in progress under `prefix` (all pages).
  Result<std::vector<ListedUpload>> list_multipart_uploads(const std::string& prefix);
  // Aborts every upload under `prefix` initiated before `older_than`; returns how many.
  Result<int> abort_incomplete_uploads(const std::string& prefix, SystemTime older_than);

  // ---- Presigned URLs (no I/O) -----------------------------------------------------------------
  // GET; `response_content_disposition` ("" for none) is what S3 will answer with.
  Result<PresignedRequest> presign_get(const std::string& key, const PresignOptions& options,
                                       const std::string& response_content_disposition = {});
  // PUT. Binds Content-Length and Content-Type when given, and with a `sha256` (hex) also
  // x-amz-content-sha256, which S3 checks against the body.
  Result<PresignedRequest> presign_put(const std::string& key, const PresignOptions& options,
                                       std::optional<std::uint64_t> content_length,
                                       const std::string& content_type,
                                       const std::string& sha256 = {});
  // UploadPart of an upload created with create_multipart_upload; binds Content-Length when given
  // and, with a `sha256` (hex), x-amz-content-sha256, which S3 checks against the part's bytes.
  Result<PresignedRequest> presign_upload_part(const std::string& key, const std::string& upload_id,
                                               int part_number, const PresignOptions& options,
                                               std::optional<std::uint64_t> content_length,
                                               const std::string& sha256 = {});

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
  std::uint64_t multipart_threshold_ = kDefaultMultipartThreshold;
};

}  // namespace coffer::s3
