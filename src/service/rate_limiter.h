// Per-tenant request rate (DESIGN.md "Limits and defences"): a token bucket per tenant, per
// node; `rate` requests per second with a burst of `rate`. A rate of 0 disables it.
#pragma once

#include <chrono>
#include <mutex>
#include <string>
#include <unordered_map>

#include "core/error.h"

namespace coffer::service {

class TenantRateLimiter {
 public:
  explicit TenantRateLimiter(int rate_per_second) : rate_(rate_per_second) {}

  // kRateLimited with Retry-After when the tenant's bucket is empty.
  Result<void> acquire(const std::string& tenant_id,
                       std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now());

 private:
  struct Bucket {
    double tokens = 0;
    std::chrono::steady_clock::time_point updated;
  };
  const int rate_;
  std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace coffer::service
