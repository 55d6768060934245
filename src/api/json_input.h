// Strict JSON request bodies (API.md "Conventions"): an object, no unknown field, no field of the
// wrong type, nothing coerced. Every failure is 400 bad_request naming the field.
#pragma once

#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "api/http_types.h"
#include "core/error.h"

namespace coffer::api {

class JsonObjectReader {
 public:
  // The request's body as a JSON object. 415 when it says it is not JSON; 400 when empty, not
  // strict JSON, or not an object.
  static Result<JsonObjectReader> from_request(const Request& request);
  // Like from_request, but an empty body reads as {} (for routes whose body is optional).
  static Result<JsonObjectReader> from_optional_body(const Request& request);
  explicit JsonObjectReader(boost::json::object object) : object_(std::move(object)) {}

  Result<std::optional<std::string>> optional_string(std::string_view name);
  Result<std::string> required_string(std::string_view name);
  Result<std::optional<bool>> optional_bool(std::string_view name);
  Result<std::optional<std::int64_t>> optional_int(std::string_view name, std::int64_t min,
                                                   std::int64_t max);
  Result<std::int64_t> required_int(std::string_view name, std::int64_t min, std::int64_t max);
  // Present-and-null is distinct from absent: the outer optional is presence.
  Result<std::optional<std::optional<std::int64_t>>> optional_nullable_int(std::string_view name,
                                                                           std::int64_t min,
                                                                           std::int64_t max);
  // A nested object, read with the same rules.
  Result<std::optional<JsonObjectReader>> optional_object(std::string_view name);
  Result<JsonObjectReader> required_object(std::string_view name);
  // The raw value, for arrays; marks the field as read.
  const boost::json::value* raw(std::string_view name);
  bool has(std::string_view name) const { return object_.contains(name); }

  // 400 naming the first field that was never read.
  Result<void> finish() const;

 private:
  const boost::json::value* take(std::string_view name);

  boost::json::object object_;
  std::set<std::string, std::less<>> read_;
};

}  // namespace coffer::api
