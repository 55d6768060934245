// Who is calling, once the token is verified and the user is loaded from the database.
#pragma once

#include <string>
#include <string_view>

#include "access/decide.h"
#include "core/error.h"
#include "core/ids.h"
#include "meta/records.h"

namespace coffer::service {

struct Caller {
  bool is_operator = false;
  access::Principal principal;  // tenant, user and tenant role (from the database), for users
  meta::UserRecord user;        // for users

  static Caller operator_caller() {
    Caller c;
    c.is_operator = true;
    return c;
  }
  const std::string& tenant_id() const { return principal.tenant_id; }
  const std::string& user_id() const { return principal.user_id; }
};

// Operators may only manage tenants (403 elsewhere); users may not manage tenants.
inline Result<void> require_user(const Caller& c) {
  if (c.is_operator) return Error::Forbidden("operator tokens may only manage tenants");
  return Ok();
}
inline Result<void> require_operator(const Caller& c) {
  if (!c.is_operator) return Error::Forbidden("this needs an operator token");
  return Ok();
}

// An access::Decision as a result: kNotFound carries `what` ("file not found").
inline Result<void> allow(access::Decision d, const char* what) {
  switch (d) {
    case access::Decision::kAllow: return Ok();
    case access::Decision::kForbidden: return Error::Forbidden("your role does not allow this");
    case access::Decision::kNotFound: return Error::NotFound(std::string(what) + " not found");
  }
  return Error::NotFound(std::string(what) + " not found");
}

// Ids are made by new_id(). A value of any other shape (from a URL, say) names nothing: it is
// not found before any lookup, so bytes that are not text never reach the database.
inline Result<void> require_id_shape(std::string_view id, const char* what) {
  if (!looks_like_id(id)) return Error::NotFound(std::string(what) + " not found");
  return Ok();
}

}  // namespace coffer::service
