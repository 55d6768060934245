// Time as a dependency: pure code takes a Clock (or a time_point) instead of asking the OS.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace coffer {

using SystemTime = std::chrono::system_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual SystemTime now() const = 0;
};

class SystemClock final : public Clock {
 public:
  SystemTime now() const override { return std::chrono::system_clock::now(); }
};

// A clock that stands still until moved; for tests.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(SystemTime t) : now_(t) {}
  SystemTime now() const override { return now_; }
  void set(SystemTime t) { now_ = t; }
  void advance(std::chrono::seconds d) { now_ += d; }

 private:
  SystemTime now_;
};

std::int64_t to_unix_seconds(SystemTime t);
SystemTime from_unix_seconds(std::int64_t s);

// "2026-11-28T04:29:35Z" (whole seconds, UTC).
std::string format_rfc3339(SystemTime t);
std::optional<SystemTime> parse_rfc3339(std::string_view s);
// "Sat, 28 Nov 2026 04:29:35 GMT" (RFC 9110 IMF-fixdate).
std::string format_http_date(SystemTime t);
std::optional<SystemTime> parse_http_date(std::string_view s);
// "20261128T042935Z" and "20261128", as SigV4 writes them.
std::string format_amz_date(SystemTime t);
std::string format_amz_day(SystemTime t);

}  // namespace coffer
