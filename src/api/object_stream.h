#pragma once

#include <memory>

#include "api/http_types.h"
#include "storage/object_store.h"

namespace coffer::api {

// Sets `response` to stream all of `reader` (its size is the Content-Length).
void stream_object(Response& response, std::unique_ptr<storage::ObjectReader> reader);

}  // namespace coffer::api
