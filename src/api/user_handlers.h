// /api/v1/users: any user of the tenant reads; tenant admins write.
#pragma once

#include "api/http_types.h"
#include "service/directory.h"
#include "service/identity.h"

namespace coffer::api {

class UserHandlers {
 public:
  UserHandlers(const service::Identity& identity, service::Directory& directory)
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
