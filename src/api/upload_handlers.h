// /api/v1/uploads: direct (presigned) uploads — issue the URLs, complete, abort.
#pragma once

#include "api/http_types.h"
#include "service/identity.h"
#include "service/uploads.h"

namespace coffer::api {

class UploadHandlers {
 public:
  UploadHandlers(const service::Identity& identity, service::Uploads& uploads)
      : identity_(identity), uploads_(uploads) {}

  Response create(Request& request) const;
  Response complete(Request& request) const;
  Response abort(Request& request) const;

 private:
  const service::Identity& identity_;
  service::Uploads& uploads_;
};

}  // namespace coffer::api
