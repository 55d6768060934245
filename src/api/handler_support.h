// What every handler does around its use case: authenticate, turn errors into the error JSON,
// render JSON answers.
#pragma once

#include <boost/json/value.hpp>

#include "api/error_response.h"
#include "api/http_types.h"
#include "core/json_writer.h"
#include "service/identity.h"

namespace coffer::api {

Response json_answer(int status, const boost::json::value& body);
Response json_answer(int status, JsonText body);
Response no_content();
inline Response fail(const Request& request, const Error& error) {
  return error_response(error, request.request_id);
}

// Authenticates the request, then runs `f(caller)`, which returns a Result<Response>.
template <class F>
Response with_caller(const service::Identity& identity, Request& request, F&& f) {
  auto caller = identity.authenticate(request.headers.get("Authorization"));
  if (!caller) return fail(request, caller.error());
  Result<Response> response = f(*caller);
  if (!response) return fail(request, response.error());
  return std::move(*response);
}

}  // namespace coffer::api
