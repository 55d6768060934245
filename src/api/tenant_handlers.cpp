#include "api/tenant_handlers.h"

#include <boost/json.hpp>

#include "api/handler_support.h"
#include "api/json_input.h"
#include "api/paging.h"
#include "api/render.h"

namespace coffer::api {

namespace json = boost::json;

namespace {
constexpr std::int64_t kMaxQuota = INT64_MAX;
constexpr std::string_view kCursorKind = "tenants";
}  // namespace

Response TenantHandlers::list(Request& request) const {
  return with_caller(identity_, request, [&](const service::Caller& caller) -> Result<Response> {
    COFFER_TRY_VOID(service::require_operator(caller));
    COFFER_TRY(int limit, page_limit(request));
    COFFER_TRY(std::string after, decode_cursor(request, kCursorKind));
    COFFER_TRY(auto tenants, directory_.list_tenants(caller, after, limit + 1));
    json::array items;
    for (std::size_t i = 0; i < tenants.size() && i < static_cast<std::size_t>(limit); ++i) {
      items.push_back(render_tenant(tenants[i]));
    }
    json::value next = nullptr;
    if (tenants.size() > static_cast<std::size_t>(limit)) {
      next = encode_cursor(kCursorKind, tenants[static_cast<std::size_t>(limit) - 1].slug);
    }
    return json_answer(200, json::object{{"items", std::move(items)}, {"next_cursor", next}});
  });
}

Response TenantHandlers::create(Request& request) const {
  return with_caller(identity_, request, [&](const service::Caller& caller) -> Result<Response> {
    COFFER_TRY_VOID(service::require_operator(caller));
    COFFER_TRY(JsonObjectReader body, JsonObjectReader::from_request(request));
    service::NewTenant t;
    COFFER_TRY(t.slug, body.required_string("slug"));
    COFFER_TRY(auto name, body.optional_string("name"));
    t.name = name.value_or("");
    COFFER_TRY(auto quota_bytes, body.optional_nullable_int("quota_bytes", 0, kMaxQuota));
    COFFER_TRY(auto quota_files, body.optional_nullable_int("quota_files", 0, kMaxQuota));
    if (quota_bytes) t.quota_bytes = *quota_bytes;
    if (quota_files) t.quota_files = *quota_files;
    COFFER_TRY(JsonObjectReader admin, body.required_object("admin"));
    COFFER_TRY(t.admin_username, admin.required_string("username"));
    COFFER_TRY(t.admin_password, admin.optional_string("password"));
    COFFER_TRY_VOID(admin.finish());
    COFFER_TRY_VOID(body.finish());
    COFFER_TRY(auto created, directory_.create_tenant(caller, t));
    Response r = json_answer(201, json::object{{"tenant", render_tenant(created.first)},
                                               {"admin", render_user(created.second)}});
    r.header("Location", "/api/v1/tenants/" + created.first.id);
    return r;
  });
}

Response TenantHandlers::get(Request& request) const {
  return with_caller(identity_, request, [&](const service::Caller& caller) -> Result<Response> {
    auto tenant = directory_.get_tenant(caller, request.param("id"));
    if (!tenant && tenant.error().code == ErrorCode::kNotFound) {
      return Error::NotFound("tenant not found");
    }
    if (!tenant) return tenant.error();
    return json_answer(200, render_tenant(*tenant));
  });
}

Response TenantHandlers::update(Request& request) const {
  return with_caller(identity_, request, [&](const service::Caller& caller) -> Result<Response> {
    COFFER_TRY_VOID(service::require_operator(caller));
    COFFER_TRY(JsonObjectReader body, JsonObjectReader::from_request(request));
    meta::TenantPatch patch;
    COFFER_TRY(patch.name, body.optional_string("name"));
    COFFER_TRY(patch.quota_bytes, body.optional_nullable_int("quota_bytes", 0, kMaxQuota));
    COFFER_TRY(patch.quota_files, body.optional_nullable_int("quota_files", 0, kMaxQuota));
    COFFER_TRY_VOID(body.finish());
    auto tenant = directory_.update_tenant(caller, request.param("id"), patch);
    if (!tenant && tenant.error().code == ErrorCode::kNotFound) {
      return Error::NotFound("tenant not found");
    }
    if (!tenant) return tenant.error();
    return json_answer(200, render_tenant(*tenant));
  });
}

Response TenantHandlers::remove(Request& request) const {
  return with_caller(identity_, request, [&](const service::Caller& caller) -> Result<Response> {
    auto removed = directory_.delete_tenant(caller, request.param("id"));
    if (!removed && removed.error().code == ErrorCode::kNotFound) {
      return Error::NotFound("tenant not found");
    }
    if (!removed) return removed.error();
    return no_content();
  });
}

}  // namespace coffer::api
