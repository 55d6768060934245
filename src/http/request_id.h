#pragma once

#include <string>
#include <string_view>

namespace coffer::http {

// A new request id: 20 characters, unique per process run with overwhelming probability.
std::string new_request_id();

// The client's X-Request-Id when it is 1–128 characters of [A-Za-z0-9._-], else a new one.
std::string accept_request_id(std::string_view incoming);

}  // namespace coffer::http
