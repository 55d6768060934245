// /api/v1/files: upload (multipart or raw, streaming), list, get, rename, delete, download and
// presigned download URLs.
#pragma once

#include "api/http_types.h"
#include "service/files.h"
#include "service/identity.h"

namespace coffer::api {

class FileHandlers {
 public:
  FileHandlers(const service::Identity& identity, service::Files& files)
      : identity_(identity), files_(files) {}

  Response list(Request& request) const;
  Response upload(Request& request) const;
  Response get(Request& request) const;
  Response rename(Request& request) const;
  Response remove(Request& request) const;
  Response download(Request& request) const;
  Response download_url(Request& request) const;

 private:
  const service::Identity& identity_;
  service::Files& files_;
};

}  // namespace coffer::api
