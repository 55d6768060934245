// ObjectStore: where the bytes live, behind one interface with two backends (fs/, s3/).
// Methods are synchronous and thread-safe; they may block, so they never run on I/O threads.
// Errors: kNotFound for a missing object, kStorageUnavailable when the store cannot be reached,
// kPayloadTooLarge / kBadRequest from put() as documented, kInternal for anything else.
#pragma once

#include <cstdint>
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
  // A cheap round trip, for /readyz.
  virtual Result<void> check() = 0;
  // A short name for logs and /readyz ("fs", "s3").
  virtual std::string_view kind() const = 0;
};

}  // namespace coffer::storage
