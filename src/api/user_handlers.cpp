#include "api/user_handlers.h"

#include <boost/json.hpp>

#include "api/handler_support.h"
#include "api/json_input.h"
#include "api/paging.h"
#include "api/render.h"

namespace coffer::api {

namespace json = boost::json;

namespace {

constexpr std::string_view kCursorKind = "users";

Result<access::TenantRole> parse_role(const std::string& text) {
  auto role = access::parse_tenant_role(text);
  if (!role) return Error::BadRequest("role must be admin, editor or viewer");
  return *role;
}

}  // namespace

Response UserHandlers::list(Request& request) const {
  return with_caller(identity_, request, [&](const service::Caller& caller) -> Result<Response> {
    COFFER_TRY(int limit, page_limit(request));
    COFFER_TRY(std::string after, decode_cursor(request, kCursorKind));
    COFFER_TRY(auto users, directory_.list_users(caller, after, limit + 1));
    json::array items;
    for (std::size_t i = 0; i < users.size() && i < static_cast<std::size_t>(limit); ++i) {
      items.push_back(render_user(users[i]));
    }
    json::value next = nullptr;
    if (users.size() > static_cast<std::size_t>(limit)) {
      next = encode_cursor(kCursorKind, users[static_cast<std::size_t>(limit) - 1].username);
    }
    return json_answer(200, json::object{{"items", std::move(items)}, {"next_cursor", next}});
  });
}

Response UserHandlers::create(Request& request) const {
  return with_caller(identity_, request, [&](const service::Caller& caller) -> Result<Response> {
    COFFER_TRY_VOID(service::require_user(caller));
    COFFER_TRY(JsonObjectReader body, JsonObjectReader::from_request(request));
    service::NewUser u;
    COFFER_TRY(u.username, body.required_string("username"));
    COFFER_TRY(std::string role, body.required_string("role"));
    COFFER_TRY(u.role, parse_role(role));
    COFFER_TRY(u.password, body.optional_string("password"));
    COFFER_TRY_VOID(body.finish());
    COFFER_TRY(meta::UserRecord user, directory_.create_user(caller, u));
    Response r = json_answer(201, render_user(user));
    r.header("Location", "/api/v1/users/" + user.id);
    return r;
  });
}

Response UserHandlers::get(Request& request) const {
  return with_caller(identity_, request, [&](const service::Caller& caller) -> Result<Response> {
    COFFER_TRY(meta::UserRecord user, directory_.get_user(caller, request.param("id")));
    return json_answer(200, render_user(user));
  });
}

Response UserHandlers::update(Request& request) const {
  return with_caller(identity_, request, [&](const service::Caller& caller) -> Result<Response> {
    COFFER_TRY_VOID(service::require_user(caller));
    COFFER_TRY(JsonObjectReader body, JsonObjectReader::from_request(request));
    service::UserChange change;
    COFFER_TRY(auto role, body.optional_string("role"));
    if (role) {
      COFFER_TRY(access::TenantRole r, parse_role(*role));
      change.role = r;
    }
    COFFER_TRY(change.disabled, body.optional_bool("disabled"));
    COFFER_TRY(change.password, body.optional_string("password"));
    COFFER_TRY_VOID(body.finish());
    COFFER_TRY(meta::UserRecord user, directory_.update_user(caller, request.param("id"), change));
    return json_answer(200, render_user(user));
  });
}

Response UserHandlers::remove(Request& request) const {
  return with_caller(identity_, request, [&](const service::Caller& caller) -> Result<Response> {
    COFFER_TRY_VOID(directory_.delete_user(caller, request.param("id")));
    return no_content();
  });
}

}  // namespace coffer::api
