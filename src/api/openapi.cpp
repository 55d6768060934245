#include "api/openapi.h"

namespace coffer::api {

std::string_view openapi_document() {
  static constexpr std::string_view kDocument = R"json({
  "openapi": "3.0.3",
  "info": {"title": "Coffer", "version": "1"},
  "paths": {}
})json";
  return kDocument;
}

}  // namespace coffer::api
