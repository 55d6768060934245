// GET /blob/{key}: Coffer's own presigned downloads (local-directory backend).
#pragma once

#include "api/http_types.h"
#include "service/blobs.h"

namespace coffer::api {

class BlobHandlers {
 public:
  explicit BlobHandlers(service::Blobs& blobs) : blobs_(blobs) {}
  Response get(Request& request) const;

 private:
  service::Blobs& blobs_;
};

}  // namespace coffer::api
