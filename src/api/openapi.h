#pragma once

#include <string_view>

namespace coffer::api {

// The OpenAPI 3 document of API.md (openapi.cpp), as served at /api/v1/openapi.json.
std::string_view openapi_document();

}  // namespace coffer::api
