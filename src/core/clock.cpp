#include "core/clock.h"

#include <cstdint>
#include <cstdio>
#include <ctime>

namespace coffer {
namespace {

// A UTC calendar time, computed without the C library (gmtime_r and strftime cost more than the
// rest of rendering a file): days to civil date after H. Hinnant's algorithm.
struct Civil {
  std::int64_t year;
  int month, day, hour, minute, second, weekday;  // month 1–12, weekday 0 = Sunday
};

Civil to_civil(SystemTime t) {
  std::int64_t secs = std::chrono::floor<std::chrono::seconds>(t.time_since_epoch()).count();
  std::int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
  auto of_day = static_cast<int>(secs - days * 86400);
  Civil c{};
  c.hour = of_day / 3600;
  c.minute = of_day / 60 % 60;
  c.second = of_day % 60;
  c.weekday = static_cast<int>(((days + 4) % 7 + 7) % 7);  // 1970-01-01 was a Thursday
  std::int64_t z = days + 719468;
  std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  auto doe = static_cast<std::int64_t>(z - era * 146097);
  std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  std::int64_t mp = (5 * doy + 2) / 153;
  c.day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  c.month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  c.year = yoe + era * 400 + (c.month <= 2 ? 1 : 0);
  return c;
}

void put_digits(std::string& out, std::int64_t value, int width) {
  char buf[24];
  int n = 0;
  std::uint64_t v = value < 0 ? 0 : static_cast<std::uint64_t>(value);
  do {
    buf[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0 || n < width);
  while (n > 0) out += buf[--n];
}

void put_date(std::string& out, const Civil& c, bool dashes) {
  put_digits(out, c.year, 4);
  if (dashes) out += '-';
  put_digits(out, c.month, 2);
  if (dashes) out += '-';
  put_digits(out, c.day, 2);
}

void put_time(std::string& out, const Civil& c, bool colons) {
  put_digits(out, c.hour, 2);
  if (colons) out += ':';
  put_digits(out, c.minute, 2);
  if (colons) out += ':';
  put_digits(out, c.second, 2);
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

std::string format_rfc3339(SystemTime t) {
  Civil c = to_civil(t);
  std::string out;
  out.reserve(20);
  put_date(out, c, true);
  out += 'T';
  put_time(out, c, true);
  out += 'Z';
  return out;
}

std::optional<SystemTime> parse_rfc3339(std::string_view s) {
  if (s.size() != 20) return std::nullopt;
  std::tm tm{};
  std::string copy(s);
  const char* end = strptime(copy.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  if (!end || *end != '\0') return std::nullopt;
  return from_tm(tm);
}

std::string format_http_date(SystemTime t) {
  static constexpr std::string_view kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  Civil c = to_civil(t);
  std::string out;
  out.reserve(29);
  out += kDays[c.weekday];
  out += ", ";
  put_digits(out, c.day, 2);
  out += ' ';
  out += kMonths[c.month - 1];
  out += ' ';
  put_digits(out, c.year, 4);
  out += ' ';
  put_time(out, c, true);
  out += " GMT";
  return out;
}

std::optional<SystemTime> parse_http_date(std::string_view s) {
  std::tm tm{};
  std::string copy(s);
  const char* end = strptime(copy.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (!end || *end != '\0') return std::nullopt;
  return from_tm(tm);
}

std::string format_amz_date(SystemTime t) {
  Civil c = to_civil(t);
  std::string out;
  out.reserve(16);
  put_date(out, c, false);
  out += 'T';
  put_time(out, c, false);
  out += 'Z';
  return out;
}

std::string format_amz_day(SystemTime t) {
  std::string out;
  out.reserve(8);
  put_date(out, to_civil(t), false);
  return out;
}

}  // namespace coffer
