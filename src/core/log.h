// Logging: one application logger and one access logger, as text or JSON lines on stderr.
// Secrets never go to the log: callers log Error::detail and ids, never tokens or keys.
#pragma once

#include <spdlog/spdlog.h>

#include <string>
#include <string_view>

namespace coffer::log {

// Configures both loggers; `level` is trace|debug|info|warn|error|off, `format` text|json.
void setup(const std::string& level, const std::string& format);
bool json_format();

spdlog::logger& app();
// Writes out what is buffered and stops the access log's periodic flush; at the end of serve.
void flush();
// One line per request, written in batches (within 100 ms). In JSON mode `fields` must be a JSON
// object's members without braces
// (`"method":"GET","status":200`); in text mode it is written as it is.
void access(std::string_view fields);

// JSON string escaping, for building log fields.
std::string json_escape(std::string_view s);

}  // namespace coffer::log
