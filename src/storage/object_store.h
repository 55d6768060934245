// ObjectStore: where the bytes live, behind one interface with two backends (fs/, s3/).
// Methods are synchronous and thread-safe; they may block, so they never run on I/O threads.
// Errors: kNotFound for a missing object, kStorageUnavailable when the store cannot be reached,
// kPayloadTooLarge / kBadRequest from put() as documented, kInternal for anything else.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/byte_stream.h"
#include "core/clock.h"
#include "core/error.h"

namespace coffer::storage {

// Inclusive byte range [first, last].
struct ByteRange {
  std::uint64_t first = 0;
  std::uint64_t last = 0;
  std::uint64_t length() const { return last - first + 1; }
};

struct PutOptions {
  std::optional<std::uint64_t> size;          // known length of the body, when the client sent one
  std::string content_type;
  std::uint64_t max_bytes = UINT64_MAX;       // more → kPayloadTooLarge, nothing stored
  std::optional<std::string> expected_sha256; // lower-case hex; mismatch → kBadRequest, nothing stored
};

struct PutResult {
  std::uint64_t size = 0;
  std::string sha256;  // lower-case hex of the bytes stored
};

struct ObjectInfo {
  std::uint64_t size = 0;
  SystemTime last_modified;
};

// Streams an object's bytes (or a range of them).
class ObjectReader : public ByteSource {
 public:
  // The number of bytes this reader delivers in all.
  virtual std::uint64_t size() const = 0;
};

struct ListedObject {
  std::string key;
  std::uint64_t size = 0;
  SystemTime last_modified;
};

struct ObjectList {
  std::vector<ListedObject> objects;  // in key order
  std::string next_token;             // "" when there is nothing more
};

enum class PresignMethod { kGet, kPut };

struct PresignRequest {
  PresignMethod method = PresignMethod::kGet;
  std::string key;
  std::chrono::seconds expires_in{900};
  SystemTime now;
  // PUT only: bound into the signature where the store can enforce them.
  std::optional<std::uint64_t> content_length;
  std::string content_type;
  std::string sha256;  // hex; "" when not declared
  // GET only: the Content-Disposition the store should answer with ("" for none).
  std::string response_content_disposition;
};

struct PresignedUrl {
  std::string url;
  std::map<std::string, std::string> headers;  // the client must send these with the request
  SystemTime expires_at;
};

// ---- Direct uploads ----------------------------------------------------------------------------
// A direct upload moves an object's bytes from the client to the store without passing through
// Coffer: begin_upload opens an upload of `key` (an S3 multipart upload, or the local directory's
// equivalent), presign_upload_part signs one PUT per part, and complete_upload makes the parts the
// object at `key` in one step, or abort_upload drops them. Once an upload is completed or aborted
// its id names nothing: a part URL of it can no longer store anything (the store answers 404 or
// 403), so it can never change an object.

// One PUT of a part. Part n (1-based) holds bytes [(n - 1) * part_size, ...) of the object.
struct PresignPartRequest {
  std::string key;
  std::string upload_id;
  int part_number = 1;
  std::uint64_t size = 0;  // the part's exact length, bound into the signature
  // Lower-case hex SHA-256 of the part, or "": bound where the store can enforce it (the store
  // then refuses other bytes). Coffer binds it only for an upload of a single part.
  std::string sha256;
  std::chrono::seconds expires_in{900};
  SystemTime now;
};

// A part as the store recorded it.
struct UploadedPart {
  int number = 0;
  std::string etag;  // as the store answered the part's PUT (quoted)
  std::uint64_t size = 0;
};

// A part to complete an upload with: the number and the ETag its PUT answered (quoted or not).
struct CompletedPartRef {
  int number = 0;
  std::string etag;
};

// Of `keys`, those that something above the store still references (a file, an upload intent,
// the deletion queue: MetadataStore::referenced_keys). Called with at most 1000 keys at a time.
using ReferencedKeys =
    std::function<Result<std::vector<std::string>>(const std::vector<std::string>& keys)>;

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;

  // Streams `body` to `key` to its end. The object becomes visible under `key` only complete:
  // a failed or refused put leaves nothing at `key`. Reports size and SHA-256 of what was stored.
  virtual Result<PutResult> put(const std::string& key, ByteSource& body, const PutOptions& options) = 0;
  // The object's bytes, or the given range of them (which the caller has checked against size).
  virtual Result<std::unique_ptr<ObjectReader>> get(const std::string& key,
                                                    std::optional<ByteRange> range) = 0;
  virtual Result<ObjectInfo> head(const std::string& key) = 0;
  // Succeeds when the object is absent too.
  virtual Result<void> remove(const std::string& key) = 0;
  virtual Result<void> remove_many(const std::vector<std::string>& keys);
  // Removes what an abandoned upload to `key` left behind: the object, and anything the store
  // keeps of an unfinished write that no get, head or list sees (the parts of an S3 multipart
  // upload whose writer died). Succeeds when there is nothing.
  virtual Result<void> remove_abandoned(const std::string& key) { return remove(key); }
  // Keys under `prefix` in key order, at most `max_keys`, continuing from `token`.
  virtual Result<ObjectList> list(const std::string& prefix, const std::string& token,
                                  int max_keys) = 0;
  virtual Result<PresignedUrl> presign(const PresignRequest& request) = 0;

  // Direct uploads (see above). `size` is the object's declared size and `part_size` the size of
  // every part but the last (the store may check parts against them); both come from the caller,
  // which has checked them against the store's limits. Returns the store's upload id.
  virtual Result<std::string> begin_upload(const std::string& key, const std::string& content_type,
                                           std::uint64_t size, std::uint64_t part_size) = 0;
  // kBadRequest when expires_in is outside 1 s - 7 days, the part number outside 1-10000 or the
  // sha256 not 64 hex digits. No I/O on S3.
  virtual Result<PresignedUrl> presign_upload_part(const PresignPartRequest& request) = 0;
  // The parts stored so far, in part-number order. kNotFound when the upload is not open.
  virtual Result<std::vector<UploadedPart>> list_upload_parts(const std::string& key,
                                                              const std::string& upload_id) = 0;
  // Makes `parts` (strictly ascending numbers) the object at `key`, replacing any object there,
  // and closes the upload. kBadRequest when a listed part was not stored or has another ETag (the
  // upload then stays open); kNotFound when the upload is not open (completed or aborted).
  virtual Result<void> complete_upload(const std::string& key, const std::string& upload_id,
                                       const std::vector<CompletedPartRef>& parts) = 0;
  // Drops the upload and its parts. Succeeds when the upload is already gone too; an object
  // already completed at `key` is not touched (remove() it).
  virtual Result<void> abort_upload(const std::string& key, const std::string& upload_id) = 0;

  // A cheap round trip, for /readyz.
  virtual Result<void> check() = 0;
  // A short name for logs and /readyz ("fs", "s3").
  virtual std::string_view kind() const = 0;
};

}  // namespace coffer::storage
