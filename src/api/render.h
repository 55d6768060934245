// The JSON objects of API.md, rendered from records.
#pragma once

#include <boost/json/object.hpp>

#include "access/decide.h"
#include "core/json_writer.h"
#include "meta/records.h"

namespace coffer::api {

boost::json::object render_tenant(const meta::TenantRecord& t);
// Never a password or its hash.
boost::json::object render_user(const meta::UserRecord& u);
boost::json::object render_grant(const meta::GrantRecord& g);
// `role` is the caller's effective file role. Files are rendered on every file request and by the
// page, so they are written as text directly.
void write_file(JsonWriter& out, const meta::FileRecord& f, access::FileRole role);
JsonText render_file(const meta::FileRecord& f, access::FileRole role);

}  // namespace coffer::api
