// Coffer's own presigned URLs (/blob/...), for the local-directory backend: the URL's signature
// is the authority, not a token.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "core/clock.h"
#include "storage/fs/blob_signer.h"
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

class Blobs {
 public:
  // `signer` is null when the store is not the local directory: /blob then answers 404.
  Blobs(const storage::BlobSigner* signer, storage::ObjectStore& store, const Clock& clock)
      : signer_(signer), store_(store), clock_(clock) {}

  // A signed GET: 403 for a bad, expired or re-targeted signature; 404 when the object is gone.
  Result<BlobDownload> get(const std::string& key, const std::map<std::string, std::string>& query,
                           const std::optional<std::string>& range);

 private:
  const storage::BlobSigner* signer_;
  storage::ObjectStore& store_;
  const Clock& clock_;
};

}  // namespace coffer::service
