// /blob/{key}: Coffer's own presigned URLs (local-directory backend): GET downloads an object,
// PUT uploads a part of a direct upload (answered 200 with the part's ETag, as S3's UploadPart).
#pragma once

#include "api/http_types.h"
#include "service/blobs.h"

namespace coffer::api {

class BlobHandlers {
 public:
  explicit BlobHandlers(service::Blobs& blobs) : blobs_(blobs) {}
  Response get(Request& request) const;
  Response put(Request& request) const;

 private:
  service::Blobs& blobs_;
};

}  // namespace coffer::api
