// The JSON objects of API.md, rendered from records.
#pragma once

#include <boost/json/object.hpp>

#include "access/decide.h"
#include "meta/records.h"

namespace coffer::api {

boost::json::object render_tenant(const meta::TenantRecord& t);
// Never a password or its hash.
boost::json::object render_user(const meta::UserRecord& u);
boost::json::object render_grant(const meta::GrantRecord& g);
// `role` is the caller's effective file role.
boost::json::object render_file(const meta::FileRecord& f, access::FileRole role);

}  // namespace coffer::api
