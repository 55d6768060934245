// /api/v1/tenants: the operator's routes (a tenant admin may read its own tenant).
#pragma once

#include "api/http_types.h"
#include "service/directory.h"
#include "service/identity.h"

namespace coffer::api {

class TenantHandlers {
 public:
  TenantHandlers(const service::Identity& identity, service::Directory& directory)
      : identity_(identity), directory_(directory) {}

  Response list(Request& request) const;
  Response create(Request& request) const;
  Response get(Request& request) const;
  Response update(Request& request) const;
  Response remove(Request& request) const;

 private:
  const service::Identity& identity_;
  service::Directory& directory_;
};

}  // namespace coffer::api
