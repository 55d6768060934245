#include "api/json_input.h"

#include <boost/algorithm/string/predicate.hpp>

#include "core/strict_json.h"

namespace coffer::api {
namespace {

Error wrong_type(std::string_view name, const char* expected) {
  return Error::BadRequest("field '" + std::string(name) + "' must be " + expected);
}

Result<void> check_content_type(const Request& request) {
  auto type = request.headers.get("Content-Type");
  if (!type) return Ok();  // a JSON body without a type is taken as JSON
  std::string_view t = *type;
  t = t.substr(0, t.find(';'));
  while (!t.empty() && t.back() == ' ') t.remove_suffix(1);
  if (!boost::algorithm::iequals(t, "application/json")) {
    return Error::UnsupportedMediaType("the body must be application/json");
  }
  return Ok();
}

}  // namespace

Result<JsonObjectReader> JsonObjectReader::from_request(const Request& request) {
  COFFER_TRY_VOID(check_content_type(request));
  if (request.body.empty()) return Error::BadRequest("the body must be a JSON object");
  auto object = parse_strict_json_object(request.body, "request body");
  if (!object) return Error::BadRequest("the body must be one strict JSON object: " + object.error().message);
  return JsonObjectReader(std::move(*object));
}

Result<JsonObjectReader> JsonObjectReader::from_optional_body(const Request& request) {
  if (request.body.empty()) return JsonObjectReader(boost::json::object());
  return from_request(request);
}

const boost::json::value* JsonObjectReader::take(std::string_view name) {
  const boost::json::value* v = object_.if_contains(name);
  if (v) read_.emplace(name);
  return v;
}

const boost::json::value* JsonObjectReader::raw(std::string_view name) { return take(name); }

Result<std::optional<std::string>> JsonObjectReader::optional_string(std::string_view name) {
  const boost::json::value* v = take(name);
  if (!v) return std::optional<std::string>();
  if (!v->is_string()) return wrong_type(name, "a string");
  return std::optional<std::string>(std::string(v->get_string()));
}

Result<std::string> JsonObjectReader::required_string(std::string_view name) {
  COFFER_TRY(auto s, optional_string(name));
  if (!s) return Error::BadRequest("field '" + std::string(name) + "' is required");
  return std::move(*s);
}

Result<std::optional<bool>> JsonObjectReader::optional_bool(std::string_view name) {
  const boost::json::value* v = take(name);
  if (!v) return std::optional<bool>();
  if (!v->is_bool()) return wrong_type(name, "true or false");
  return std::optional<bool>(v->get_bool());
}

Result<std::optional<std::int64_t>> JsonObjectReader::optional_int(std::string_view name,
                                                                   std::int64_t min,
                                                                   std::int64_t max) {
  const boost::json::value* v = take(name);
  if (!v) return std::optional<std::int64_t>();
  std::int64_t n;
  if (v->is_int64()) {
    n = v->get_int64();
  } else if (v->is_uint64() && v->get_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
    n = static_cast<std::int64_t>(v->get_uint64());
  } else {
    return wrong_type(name, "an integer");
  }
  if (n < min || n > max) {
    return Error::BadRequest("field '" + std::string(name) + "' must be from " + std::to_string(min) +
                             " to " + std::to_string(max));
  }
  return std::optional<std::int64_t>(n);
}

Result<std::int64_t> JsonObjectReader::required_int(std::string_view name, std::int64_t min,
                                                    std::int64_t max) {
  COFFER_TRY(auto n, optional_int(name, min, max));
  if (!n) return Error::BadRequest("field '" + std::string(name) + "' is required");
  return *n;
}

Result<std::optional<std::optional<std::int64_t>>> JsonObjectReader::optional_nullable_int(
    std::string_view name, std::int64_t min, std::int64_t max) {
  using R = std::optional<std::optional<std::int64_t>>;
  const boost::json::value* v = object_.if_contains(name);
  if (!v) return R();
  if (v->is_null()) {
    read_.emplace(name);
    return R(std::optional<std::int64_t>());
  }
  COFFER_TRY(auto n, optional_int(name, min, max));
  return R(n);
}

Result<std::optional<JsonObjectReader>> JsonObjectReader::optional_object(std::string_view name) {
  const boost::json::value* v = take(name);
  if (!v) return std::optional<JsonObjectReader>();
  if (!v->is_object()) return wrong_type(name, "an object");
  return std::optional<JsonObjectReader>(JsonObjectReader(v->get_object()));
}

Result<JsonObjectReader> JsonObjectReader::required_object(std::string_view name) {
  COFFER_TRY(auto o, optional_object(name));
  if (!o) return Error::BadRequest("field '" + std::string(name) + "' is required");
  return std::move(*o);
}

Result<void> JsonObjectReader::finish() const {
  for (const auto& [key, value] : object_) {
    if (!read_.count(std::string_view(key))) {
      return Error::BadRequest("unknown field '" + std::string(key) + "'");
    }
  }
  return Ok();
}

}  // namespace coffer::api
