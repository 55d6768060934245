// /api/v1/permissions: reading, granting and revoking per-file grants.
#pragma once

#include "api/http_types.h"
#include "service/identity.h"
#include "service/permissions.h"

namespace coffer::api {

class PermissionHandlers {
 public:
  PermissionHandlers(const service::Identity& identity, service::Permissions& permissions)
      : identity_(identity), permissions_(permissions) {}

  Response get(Request& request) const;     // ?file_id= or ?user_id=
  Response set(Request& request) const;     // POST
  Response remove(Request& request) const;  // DELETE ?file_id=&user_id= | &principal=tenant

 private:
  const service::Identity& identity_;
  service::Permissions& permissions_;
};

}  // namespace coffer::api
