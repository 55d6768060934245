#include <gtest/gtest.h>

#include "service/files.h"
#include "service/login_throttle.h"
#include "service/names.h"
#include "service/rate_limiter.h"

namespace coffer::service {
namespace {

TEST(Names, SlugsAreDnsLabels) {
  for (const char* ok : {"a", "acme", "a-b", "0", "a1-2b", "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij123"}) {
    EXPECT_TRUE(is_valid_slug(ok)) << ok;
  }
  for (const char* bad : {"", "-a", "a-", "A", "a_b", "a.b", "é",
                          "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij1234"}) {
    EXPECT_FALSE(is_valid_slug(bad)) << bad;
  }
}

TEST(Names, UsernamesAreOneToSixtyFourAllowedCharacters) {
  EXPECT_TRUE(is_valid_username("alice.b_c@d+e-f"));
  EXPECT_TRUE(is_valid_username(std::string(64, 'x')));
  EXPECT_FALSE(is_valid_username(std::string(65, 'x')));
  EXPECT_FALSE(is_valid_username(""));
  EXPECT_FALSE(is_valid_username("a b"));
  EXPECT_FALSE(is_valid_username("a/b"));
  EXPECT_FALSE(is_valid_username("\xC3\xA9"));
}

TEST(LoginThrottle, LocksAfterMaxFailuresUntilTheLockoutEnds) {
  LoginThrottle throttle(3, std::chrono::seconds(60));
  const SystemTime t0 = from_unix_seconds(1'000'000);
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(throttle.check("t\nu", t0));
    throttle.record_failure("t\nu", t0);
  }
  auto locked = throttle.check("t\nu", t0 + std::chrono::seconds(10));
  ASSERT_FALSE(locked);
  EXPECT_EQ(locked.error().code, ErrorCode::kRateLimited);
  EXPECT_EQ(locked.error().retry_after_seconds, 50);
  EXPECT_TRUE(throttle.check("t\nother", t0));  // per tenant+username
  EXPECT_TRUE(throttle.check("t\nu", t0 + std::chrono::seconds(61)));
}

TEST(LoginThrottle, SuccessForgetsFailures) {
  LoginThrottle throttle(2, std::chrono::seconds(60));
  const SystemTime t0 = from_unix_seconds(1'000'000);
  throttle.record_failure("k", t0);
  throttle.record_success("k");
  throttle.record_failure("k", t0);
  EXPECT_TRUE(throttle.check("k", t0));
}

TEST(TenantRateLimiter, AllowsTheRateThenRefuses) {
  TenantRateLimiter limiter(5);
  auto t0 = std::chrono::steady_clock::time_point(std::chrono::seconds(100));
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(limiter.acquire("a", t0));
  auto refused = limiter.acquire("a", t0);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kRateLimited);
  EXPECT_TRUE(limiter.acquire("b", t0));                                  // per tenant
  EXPECT_TRUE(limiter.acquire("a", t0 + std::chrono::milliseconds(250)));  // refilled
  EXPECT_TRUE(TenantRateLimiter(0).acquire("a", t0));                       // off
}

TEST(PrefixUpperBound, IsTheSmallestStringAboveThePrefix) {
  EXPECT_EQ(prefix_upper_bound(""), "");
  EXPECT_EQ(prefix_upper_bound("a/"), "a0");
  EXPECT_EQ(prefix_upper_bound("ab"), "ac");
  EXPECT_EQ(prefix_upper_bound(std::string("a\xFF", 2)), "b");
}

}  // namespace
}  // namespace coffer::service
