#include "core/clock.h"

#include <cstdio>
#include <ctime>

namespace coffer {
namespace {

std::tm to_tm(SystemTime t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  return tm;
}

std::string format(SystemTime t, const char* fmt) {
  std::tm tm = to_tm(t);
  char buf[64];
  std::size_t n = std::strftime(buf, sizeof buf, fmt, &tm);
  return std::string(buf, n);
}

std::optional<SystemTime> from_tm(std::tm tm) {
  std::time_t tt = timegm(&tm);
  if (tt == static_cast<std::time_t>(-1)) return std::nullopt;
  return std::chrono::system_clock::from_time_t(tt);
}

}  // namespace

std::int64_t to_unix_seconds(SystemTime t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

SystemTime from_unix_seconds(std::int64_t s) { return SystemTime(std::chrono::seconds(s)); }

std::string format_rfc3339(SystemTime t) { return format(t, "%Y-%m-%dT%H:%M:%SZ"); }

std::optional<SystemTime> parse_rfc3339(std::string_view s) {
  if (s.size() != 20) return std::nullopt;
  std::tm tm{};
  std::string copy(s);
  const char* end = strptime(copy.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  if (!end || *end != '\0') return std::nullopt;
  return from_tm(tm);
}

std::string format_http_date(SystemTime t) { return format(t, "%a, %d %b %Y %H:%M:%S GMT"); }

std::optional<SystemTime> parse_http_date(std::string_view s) {
  std::tm tm{};
  std::string copy(s);
  const char* end = strptime(copy.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (!end || *end != '\0') return std::nullopt;
  return from_tm(tm);
}

std::string format_amz_date(SystemTime t) { return format(t, "%Y%m%dT%H%M%SZ"); }
std::string format_amz_day(SystemTime t) { return format(t, "%Y%m%d"); }

}  // namespace coffer
