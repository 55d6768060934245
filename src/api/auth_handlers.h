// POST /api/v1/auth/token and GET /api/v1/me.
#pragma once

#include "api/http_types.h"
#include "service/directory.h"
#include "service/identity.h"
#include "service/login.h"

namespace coffer::api {

class AuthHandlers {
 public:
  AuthHandlers(service::Login& login, const service::Identity& identity, service::Directory& directory)
      : login_(login), identity_(identity), directory_(directory) {}

  Response token(Request& request) const;
  Response me(Request& request) const;

 private:
  service::Login& login_;
  const service::Identity& identity_;
  service::Directory& directory_;
};

}  // namespace coffer::api
