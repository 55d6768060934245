#include "api/handler_support.h"

#include <boost/json/serialize.hpp>

namespace coffer::api {

Response json_answer(int status, const boost::json::value& body) {
  return json_response(status, boost::json::serialize(body));
}

Response json_answer(int status, JsonText body) {
  return json_response(status, std::move(body.text));
}

Response no_content() {
  Response r;
  r.status = 204;
  return r;
}

}  // namespace coffer::api
