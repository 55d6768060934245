#include "api/render.h"

#include "core/clock.h"

namespace coffer::api {

namespace json = boost::json;

json::object render_tenant(const meta::TenantRecord& t) {
  json::object o;
  o["id"] = t.id;
  o["slug"] = t.slug;
  o["name"] = t.name;
  o["quota_bytes"] = t.quota_bytes ? json::value(*t.quota_bytes) : json::value(nullptr);
  o["quota_files"] = t.quota_files ? json::value(*t.quota_files) : json::value(nullptr);
  o["used_bytes"] = t.used_bytes;
  o["used_files"] = t.used_files;
  o["created_at"] = format_rfc3339(t.created_at);
  return o;
}

json::object render_user(const meta::UserRecord& u) {
  json::object o;
  o["id"] = u.id;
  o["tenant_id"] = u.tenant_id;
  o["username"] = u.username;
  o["role"] = access::to_string(u.role);
  o["disabled"] = u.disabled;
  o["created_at"] = format_rfc3339(u.created_at);
  return o;
}

json::object render_grant(const meta::GrantRecord& g) {
  json::object o;
  o["file_id"] = g.file_id;
  o["principal"] = g.principal == meta::Principal::kUser ? "user" : "tenant";
  o["user_id"] = g.principal == meta::Principal::kUser ? json::value(g.user_id) : json::value(nullptr);
  o["role"] = access::to_string(g.role);
  o["granted_by"] = g.granted_by;
  o["granted_at"] = format_rfc3339(g.granted_at);
  return o;
}

json::object render_file(const meta::FileRecord& f, access::FileRole role) {
  json::object o;
  o.reserve(12);
  o["id"] = f.id;
  o["path"] = f.path;
  o["size"] = f.size;
  o["content_type"] = f.content_type;
  o["sha256"] = f.sha256;
  o["etag"] = meta::file_etag(f);
  o["version"] = f.version;
  o["owner_id"] = f.owner_id;
  o["created_at"] = format_rfc3339(f.created_at);
  o["updated_at"] = format_rfc3339(f.updated_at);
  o["role"] = access::to_string(role);
  return o;
}

}  // namespace coffer::api
