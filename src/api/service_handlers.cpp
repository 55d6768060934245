#include "api/service_handlers.h"

#include <boost/json.hpp>

#include "api/error_response.h"
#include "api/openapi.h"

namespace coffer::api {

Response ServiceHandlers::healthz(Request&) const {
  return json_response(200, R"({"status":"ok"})");
}

Response ServiceHandlers::readyz(Request&) const {
  service::Readiness r = health_.check();
  boost::json::object body;
  body["status"] = r.ready() ? "ready" : "unavailable";
  boost::json::object checks;
  checks["database"] = r.database_ok ? "ok" : r.database_error;
  checks["storage"] = r.storage_ok ? "ok" : r.storage_error;
  body["checks"] = std::move(checks);
  if (!r.ready()) {
    std::string failed = !r.database_ok && !r.storage_ok ? "database and storage"
                         : !r.database_ok               ? "database"
                                                        : "storage";
    body["failed"] = failed;
  }
  Response response = json_response(r.ready() ? 200 : 503, boost::json::serialize(body));
  if (!r.ready()) response.header("Retry-After", "5");
  return response;
}

Response ServiceHandlers::metrics(Request&) const {
  Response r;
  r.body = metrics_.render();
  r.header("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
  return r;
}

Response ServiceHandlers::openapi(Request&) const {
  return json_response(200, std::string(openapi_document()));
}

}  // namespace coffer::api
