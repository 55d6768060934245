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
  o["user_id"] =
      g.principal == meta::Principal::kUser ? json::value(g.user_id) : json::value(nullptr);
  o["role"] = access::to_string(g.role);
  o["granted_by"] = g.granted_by;
  o["granted_at"] = format_rfc3339(g.granted_at);
  return o;
}

void write_file(JsonWriter& out, const meta::FileRecord& f, access::FileRole role) {
  // clang-format off
  out.begin_object()
      .key("id").value(f.id)
      .key("path").value(f.path)
      .key("size").value(f.size)
      .key("content_type").value(f.content_type)
      .key("sha256").value(f.sha256)
      .key("etag").value(meta::file_etag(f))
      .key("version").value(f.version)
      .key("owner_id").value(f.owner_id)
      .key("created_at").value(format_rfc3339(f.created_at))
      .key("updated_at").value(format_rfc3339(f.updated_at))
      .key("role").value(access::to_string(role))
      .end_object();
  // clang-format on
}

JsonText render_file(const meta::FileRecord& f, access::FileRole role) {
  JsonText json;
  json.text.reserve(512);
  JsonWriter out(json.text);
  write_file(out, f, role);
  return json;
}

}  // namespace coffer::api
