// The retry policy: which answers are retried, how long the client waits, when it gives up.
#include "storage/s3/s3_retry.h"

#include <gtest/gtest.h>

namespace coffer::s3 {
namespace {

using namespace std::chrono_literals;

RetryPolicy policy() {
  RetryPolicy p;
  p.max_attempts = 5;
  p.base_delay = 100ms;
  p.max_delay = 2s;
  p.budget = 10s;
  return p;
}

TEST(S3Retry, BackoffGrowsExponentiallyWithinEqualJitter) {
  const RetryPolicy p = policy();
  const Duration expected_step[] = {100ms, 200ms, 400ms, 800ms, 1600ms, 2s, 2s};
  for (int retry = 1; retry <= 7; ++retry) {
    const Duration step = expected_step[retry - 1];
    EXPECT_EQ(backoff_delay(p, retry, 0.0), step / 2) << retry;
    EXPECT_EQ(backoff_delay(p, retry, 0.5), step / 2 + step / 4) << retry;
    EXPECT_LE(backoff_delay(p, retry, 0.999999), step) << retry;
    EXPECT_GE(backoff_delay(p, retry, 0.999999), step - 1ms) << retry;
  }
}

TEST(S3Retry, BackoffIsCappedAndNeverNegative) {
  const RetryPolicy p = policy();
  EXPECT_LE(backoff_delay(p, 1000, 1.0), 2s);
  EXPECT_EQ(backoff_delay(p, 0, 0.7), 0ms);
  EXPECT_EQ(backoff_delay(p, 1, -5.0), 50ms);
  EXPECT_EQ(backoff_delay(p, 1, 7.0), 100ms);
}

TEST(S3Retry, StopsAtMaxAttempts) {
  const RetryPolicy p = policy();
  EXPECT_TRUE(may_retry(p, 1, 0ms, 100ms));
  EXPECT_TRUE(may_retry(p, 4, 0ms, 100ms));
  EXPECT_FALSE(may_retry(p, 5, 0ms, 100ms));
  RetryPolicy once = p;
  once.max_attempts = 1;
  EXPECT_FALSE(may_retry(once, 1, 0ms, 0ms));
}

TEST(S3Retry, StopsWhenTheBudgetIsSpent) {
  const RetryPolicy p = policy();
  EXPECT_TRUE(may_retry(p, 1, 9s, 900ms));
  EXPECT_FALSE(may_retry(p, 1, 9s, 1s));
  EXPECT_FALSE(may_retry(p, 1, 11s, 0ms));
}

TEST(S3Retry, FromConfig) {
  S3Config c;
  c.max_attempts = 4;
  c.request_timeout = 7s;
  const RetryPolicy p = RetryPolicy::from_config(c);
  EXPECT_EQ(p.max_attempts, 4);
  EXPECT_EQ(p.budget, 7s);
  c.max_attempts = 0;
  EXPECT_EQ(RetryPolicy::from_config(c).max_attempts, 1);
}

TEST(S3Retry, TransientAnswersAreRetried) {
  EXPECT_TRUE(is_retryable_status(500, "InternalError"));
  EXPECT_TRUE(is_retryable_status(500, ""));
  EXPECT_TRUE(is_retryable_status(502, ""));
  EXPECT_TRUE(is_retryable_status(503, "SlowDown"));
  EXPECT_TRUE(is_retryable_status(503, "ServiceUnavailable"));
  EXPECT_TRUE(is_retryable_status(504, ""));
  EXPECT_TRUE(is_retryable_status(429, ""));
  EXPECT_TRUE(is_retryable_status(408, ""));
  EXPECT_TRUE(is_retryable_status(400, "RequestTimeout"));
  EXPECT_TRUE(is_retryable_status(200, "InternalError"));  // CompleteMultipartUpload's 200 + Error
}

TEST(S3Retry, PermanentAnswersAreNot) {
  EXPECT_FALSE(is_retryable_status(501, "NotImplemented"));
  EXPECT_FALSE(is_retryable_status(400, "InvalidArgument"));
  EXPECT_FALSE(is_retryable_status(403, "AccessDenied"));
  EXPECT_FALSE(is_retryable_status(403, "SignatureDoesNotMatch"));
  EXPECT_FALSE(is_retryable_status(404, "NoSuchKey"));
  EXPECT_FALSE(is_retryable_status(416, "InvalidRange"));
  EXPECT_FALSE(is_retryable_status(400, "EntityTooSmall"));
}

}  // namespace
}  // namespace coffer::s3
