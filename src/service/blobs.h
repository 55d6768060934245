// Coffer's own presigned URLs (/blob/...), for the local-directory backend: the URL's signature
// is the authority, not a token. GET reads an object; PUT writes a part of a direct upload.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "core/clock.h"
#include "storage/fs/blob_signer.h"
#include "storage/fs/fs_object_store.h"
#include "storage/object_store.h"

namespace coffer::service {

struct BlobDownload {
  storage::BlobGrant grant;
  std::uint64_t size = 0;
  bool partial = false;
  bool unsatisfiable = false;
  std::uint64_t first = 0, last = 0;
  std::unique_ptr<storage::ObjectReader> reader;
};

// What a part PUT sent besides its body.
struct BlobPutHeaders {
  std::optional<std::uint64_t> content_length;  // absent for a chunked body
  std::optional<std::string> checksum;          // X-Checksum-Sha256
};

class Blobs {
 public:
  // `signer` and `uploads` are null when the store is not the local directory: /blob then
  // answers 404. `uploads` is the local store that takes direct uploads' parts.
  Blobs(const storage::BlobSigner* signer, storage::FsObjectStore* uploads,
        storage::ObjectStore& store, const Clock& clock)
      : signer_(signer), uploads_(uploads), store_(store), clock_(clock) {}

  // A signed GET: 403 for a bad, expired or re-targeted signature; 404 when the object is gone.
  Result<BlobDownload> get(const std::string& key, const std::map<std::string, std::string>& query,
                           const std::optional<std::string>& range);

  // A signed part PUT of a direct upload; returns the part's ETag. As S3 treats the headers it
  // signed: 403 for a bad, expired or re-targeted signature, a URL that is not a part URL, a
  // Content-Length other than the signed length, or a missing or other X-Checksum-Sha256 when
  // one is signed. Then FsObjectStore::write_part: 400 for a body of another length or checksum,
  // 404 once the upload is completed or aborted, 409 while the same part is being written.
  Result<std::string> put_part(const std::string& key,
                               const std::map<std::string, std::string>& query,
                               const BlobPutHeaders& headers, ByteSource& body);

 private:
  const storage::BlobSigner* signer_;
  storage::FsObjectStore* uploads_;
  storage::ObjectStore& store_;
  const Clock& clock_;
};

}  // namespace coffer::service
