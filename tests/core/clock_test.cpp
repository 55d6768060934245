#include "core/clock.h"

#include <gtest/gtest.h>

#include <ctime>
#include <random>

namespace coffer {
namespace {

// The C library as the reference: Coffer formats dates itself, so it must agree with strftime.
std::string strftime_utc(std::int64_t secs, const char* fmt) {
  std::time_t tt = secs;
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  return std::string(buf, std::strftime(buf, sizeof buf, fmt, &tm));
}

void expect_all_formats_agree(std::int64_t secs) {
  SystemTime t = from_unix_seconds(secs);
  EXPECT_EQ(format_rfc3339(t), strftime_utc(secs, "%Y-%m-%dT%H:%M:%SZ")) << secs;
  EXPECT_EQ(format_http_date(t), strftime_utc(secs, "%a, %d %b %Y %H:%M:%S GMT")) << secs;
  EXPECT_EQ(format_amz_date(t), strftime_utc(secs, "%Y%m%dT%H%M%SZ")) << secs;
  EXPECT_EQ(format_amz_day(t), strftime_utc(secs, "%Y%m%d")) << secs;
}

TEST(Clock, FormatsAgreeWithStrftimeOnEdges) {
  for (std::int64_t secs :
       {0LL, -1LL, 86399LL, 86400LL, 951782400LL /* 2000-02-29 */, 951868800LL /* 2000-03-01 */,
        4107542400LL /* 2100-03-01 */, 1795844975LL, -2208988800LL /* 1900-01-01 */,
        9000000000LL /* 2255 */}) {
    expect_all_formats_agree(secs);
  }
}

TEST(Clock, FormatsAgreeWithStrftimeOnRandomTimes) {
  std::mt19937_64 rng(42);
  // SystemTime counts nanoseconds in 64 bits: it ends in 2262.
  std::uniform_int_distribution<std::int64_t> any(-2208988800LL, 9000000000LL);  // 1900–2255
  for (int i = 0; i < 20000; ++i) expect_all_formats_agree(any(rng));
}

TEST(Clock, SubSecondsAreCutNotRounded) {
  SystemTime t = from_unix_seconds(59) + std::chrono::milliseconds(999);
  EXPECT_EQ(format_rfc3339(t), "1970-01-01T00:00:59Z");
  SystemTime before = from_unix_seconds(0) - std::chrono::milliseconds(1);
  EXPECT_EQ(format_rfc3339(before), "1969-12-31T23:59:59Z");
}

TEST(Clock, ParsesWhatItFormats) {
  SystemTime t = from_unix_seconds(1795844975);
  EXPECT_EQ(parse_rfc3339(format_rfc3339(t)), t);
  EXPECT_EQ(parse_http_date(format_http_date(t)), t);
  EXPECT_FALSE(parse_rfc3339("2026-11-28 04:29:35Z"));
}

}  // namespace
}  // namespace coffer
