#include "service/rate_limiter.h"

#include <algorithm>

namespace coffer::service {

Result<void> TenantRateLimiter::acquire(const std::string& tenant_id,
                                        std::chrono::steady_clock::time_point now) {
  if (rate_ <= 0) return Ok();
  std::lock_guard lock(mu_);
  auto [it, fresh] = buckets_.try_emplace(tenant_id);
  Bucket& b = it->second;
  if (fresh) {
    b.tokens = rate_;
  } else {
    const double elapsed = std::chrono::duration<double>(now - b.updated).count();
    b.tokens = std::min<double>(rate_, b.tokens + elapsed * rate_);
  }
  b.updated = now;
  if (b.tokens < 1.0) return Error::RateLimited("too many requests for this tenant", 1);
  b.tokens -= 1.0;
  return Ok();
}

}  // namespace coffer::service
