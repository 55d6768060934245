#include "service/login_throttle.h"

#include <algorithm>

namespace coffer::service {

LoginThrottle::LoginThrottle(int max_failures, std::chrono::seconds lockout, std::size_t max_entries)
    : max_failures_(max_failures), lockout_(lockout), max_entries_(max_entries) {}

Result<void> LoginThrottle::check(const std::string& key, SystemTime now) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end() || it->second.failures < max_failures_) return Ok();
  const SystemTime until = it->second.last_failure + lockout_;
  if (now >= until) {
    entries_.erase(it);  // the lockout is over: a fresh start
    return Ok();
  }
  auto wait = std::chrono::duration_cast<std::chrono::seconds>(until - now).count();
  return Error::RateLimited("too many failed logins; retry later",
                            static_cast<int>(std::max<std::int64_t>(1, wait)));
}

void LoginThrottle::record_failure(const std::string& key, SystemTime now) {
  std::lock_guard lock(mu_);
  if (entries_.size() >= max_entries_) prune(now);
  Entry& e = entries_[key];
  if (e.failures > 0 && now - e.last_failure >= lockout_) e.failures = 0;
  ++e.failures;
  e.last_failure = now;
}

void LoginThrottle::record_success(const std::string& key) {
  std::lock_guard lock(mu_);
  entries_.erase(key);
}

void LoginThrottle::prune(SystemTime now) {
  for (auto it = entries_.begin(); it != entries_.end();) {
    it = now - it->second.last_failure >= lockout_ ? entries_.erase(it) : std::next(it);
  }
  // Still full (an attack over many names): forget the oldest half rather than grow.
  if (entries_.size() >= max_entries_) entries_.clear();
}

}  // namespace coffer::service
