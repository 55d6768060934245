#include "api/permission_handlers.h"

#include <boost/json.hpp>

#include "api/handler_support.h"
#include "api/json_input.h"
#include "api/render.h"

namespace coffer::api {

namespace json = boost::json;

namespace {

json::array render_grants(const std::vector<meta::GrantRecord>& grants) {
  json::array out;
  for (const auto& g : grants) out.push_back(render_grant(g));
  return out;
}

// user_id=X or principal=tenant (exactly one).
Result<std::pair<meta::Principal, std::string>> grantee(std::optional<std::string> user_id,
                                                       std::optional<std::string> principal) {
  if (principal) {
    if (*principal == "tenant" && !user_id) return std::make_pair(meta::Principal::kTenant, std::string());
    if (*principal == "user" && user_id) return std::make_pair(meta::Principal::kUser, *user_id);
    return Error::BadRequest("principal must be \"tenant\" (without user_id), or give user_id");
  }
  if (!user_id || user_id->empty()) return Error::BadRequest("give user_id or principal=tenant");
  return std::make_pair(meta::Principal::kUser, *user_id);
}

std::optional<std::string> param(const Request& r, std::string_view name) {
  auto v = r.query_param(name);
  return v ? std::optional<std::string>(std::string(*v)) : std::nullopt;
}

}  // namespace

Response PermissionHandlers::get(Request& request) const {
  return with_caller(identity_, request, [&](const service::Caller& caller) -> Result<Response> {
    auto file_id = param(request, "file_id");
    auto user_id = param(request, "user_id");
    if (file_id.has_value() == user_id.has_value()) {
      return Error::BadRequest("give exactly one of file_id and user_id");
    }
    if (file_id) {
      COFFER_TRY(service::FileAcl acl, permissions_.for_file(caller, *file_id));
      return json_answer(200, json::object{{"file_id", acl.file_id},
                                           {"owner_id", acl.owner_id},
                                           {"grants", render_grants(acl.grants)}});
    }
    COFFER_TRY(auto grants, permissions_.for_user(caller, *user_id));
    return json_answer(200, json::object{{"user_id", *user_id}, {"grants", render_grants(grants)}});
  });
}

Response PermissionHandlers::set(Request& request) const {
  return with_caller(identity_, request, [&](const service::Caller& caller) -> Result<Response> {
    COFFER_TRY_VOID(service::require_user(caller));
    COFFER_TRY(JsonObjectReader body, JsonObjectReader::from_request(request));
    service::GrantChange change;
    COFFER_TRY(change.file_id, body.required_string("file_id"));
    COFFER_TRY(auto user_id, body.optional_string("user_id"));
    COFFER_TRY(auto principal, body.optional_string("principal"));
    COFFER_TRY(std::string role, body.required_string("role"));
    COFFER_TRY_VOID(body.finish());
    COFFER_TRY(auto who, grantee(user_id, principal));
    change.principal = who.first;
    change.user_id = who.second;
    if (role == "none") {
      change.role = access::FileRole::kNone;
    } else if (auto r = access::parse_file_role(role)) {
      change.role = *r;
    } else {
      return Error::BadRequest("role must be viewer, editor, admin or none");
    }
    COFFER_TRY(auto grant, permissions_.set(caller, change));
    if (!grant) return no_content();
    return json_answer(200, render_grant(*grant));
  });
}

Response PermissionHandlers::remove(Request& request) const {
  return with_caller(identity_, request, [&](const service::Caller& caller) -> Result<Response> {
    auto file_id = param(request, "file_id");
    if (!file_id || file_id->empty()) return Error::BadRequest("file_id is required");
    COFFER_TRY(auto who, grantee(param(request, "user_id"), param(request, "principal")));
    COFFER_TRY_VOID(permissions_.revoke(caller, *file_id, who.first, who.second));
    return no_content();
  });
}

}  // namespace coffer::api
