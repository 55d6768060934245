#include "storage/s3/s3_retry.h"

#include <algorithm>
#include <array>

namespace coffer::s3 {

RetryPolicy RetryPolicy::from_config(const S3Config& config) {
  RetryPolicy p;
  p.max_attempts = std::max(1, config.max_attempts);
  p.budget = config.request_timeout;
  return p;
}

Duration backoff_delay(const RetryPolicy& policy, int retry, double unit_random) {
  if (retry < 1) return Duration{0};
  const auto base = std::max<Duration::rep>(policy.base_delay.count(), 0);
  const auto cap = std::max<Duration::rep>(policy.max_delay.count(), 0);
  Duration::rep step = base;
  for (int i = 1; i < retry && step < cap; ++i) step *= 2;
  step = std::min(step, cap);
  const double r = std::clamp(unit_random, 0.0, 1.0);
  const auto half = step / 2;
  return Duration{half + static_cast<Duration::rep>(static_cast<double>(step - half) * r)};
}

bool may_retry(const RetryPolicy& policy, int attempts_made, Duration elapsed, Duration delay) {
  return attempts_made < policy.max_attempts && elapsed + delay < policy.budget;
}

bool is_retryable_status(int status, std::string_view s3_code) {
  static constexpr std::array<std::string_view, 8> kTransientCodes = {
      "SlowDown",   "RequestTimeout",      "InternalError",        "ServiceUnavailable",
      "Throttling", "ThrottlingException", "RequestLimitExceeded", "OperationAborted"};
  if (std::find(kTransientCodes.begin(), kTransientCodes.end(), s3_code) != kTransientCodes.end()) {
    return true;
  }
  if (status >= 500) return status != 501;
  return status == 429 || status == 408;
}

}  // namespace coffer::s3
