#include "api/auth_handlers.h"

#include <boost/json.hpp>

#include "api/handler_support.h"
#include "api/json_input.h"
#include "api/render.h"

namespace coffer::api {

namespace json = boost::json;

Response AuthHandlers::token(Request& request) const {
  auto run = [&]() -> Result<Response> {
    COFFER_TRY(JsonObjectReader body, JsonObjectReader::from_request(request));
    COFFER_TRY(std::string tenant, body.required_string("tenant"));
    COFFER_TRY(std::string username, body.required_string("username"));
    COFFER_TRY(std::string password, body.required_string("password"));
    COFFER_TRY_VOID(body.finish());
    COFFER_TRY(service::IssuedToken issued, login_.login(tenant, username, password));
    Response r = json_answer(200, json::object{{"access_token", issued.access_token},
                                                {"token_type", "Bearer"},
                                                {"expires_in", issued.expires_in.count()}});
    r.header("Cache-Control", "no-store");
    return r;
  };
  auto response = run();
  return response ? std::move(*response) : fail(request, response.error());
}

Response AuthHandlers::me(Request& request) const {
  return with_caller(identity_, request, [&](const service::Caller& caller) -> Result<Response> {
    COFFER_TRY(meta::TenantRecord tenant, directory_.own_tenant(caller));
    return json_answer(200, json::object{{"user", render_user(caller.user)},
                                         {"tenant", render_tenant(tenant)}});
  });
}

}  // namespace coffer::api
