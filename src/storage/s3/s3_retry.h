// When the S3 client tries again, and how long it waits first. Pure: the randomness and the
// elapsed time are arguments.
#pragma once

#include <chrono>
#include <string_view>

#include "core/config.h"

namespace coffer::s3 {

struct RetryPolicy {
  int max_attempts = 3;      // in all, the first one included; >= 1
  Duration base_delay{100};  // before the first retry, on average
  Duration max_delay{std::chrono::seconds(2)};
  // No attempt starts once this much time has passed since the first one began, so a call that
  // keeps failing ends within about budget + one attempt's timeouts.
  Duration budget{std::chrono::seconds(10)};

  // max_attempts from the config; the budget is the config's request_timeout.
  static RetryPolicy from_config(const S3Config& config);
};

// The wait before retry number `retry` (1 for the second attempt): "equal jitter" over an
// exponential step, d = min(max_delay, base_delay * 2^(retry-1)), uniform in [d/2, d].
// `unit_random` is uniform in [0, 1).
Duration backoff_delay(const RetryPolicy& policy, int retry, double unit_random);

// Whether another attempt may start after `attempts_made` attempts, `elapsed` since the first
// began, and a wait of `delay` before it.
bool may_retry(const RetryPolicy& policy, int attempts_made, Duration elapsed, Duration delay);

// Whether an S3 answer is worth trying again: 5xx other than 501, 429, 408, and the codes S3 uses
// for throttling or transient trouble (SlowDown, RequestTimeout, InternalError, ...).
bool is_retryable_status(int status, std::string_view s3_code);

}  // namespace coffer::s3
