// Slows password guessing: after `max_failures` failed logins for one tenant+username, further
// attempts are refused with 429 until `lockout` has passed since the last failure. Per node, in
// memory, bounded in size.
#pragma once

#include <chrono>
#include <mutex>
#include <string>
#include <unordered_map>

#include "core/clock.h"
#include "core/error.h"

namespace coffer::service {

class LoginThrottle {
 public:
  LoginThrottle(int max_failures, std::chrono::seconds lockout, std::size_t max_entries = 100000);

  // kRateLimited (with Retry-After) while the key is locked out.
  Result<void> check(const std::string& key, SystemTime now);
  void record_failure(const std::string& key, SystemTime now);
  void record_success(const std::string& key);

 private:
  struct Entry {
    int failures = 0;
    SystemTime last_failure;
  };
  void prune(SystemTime now);

  const int max_failures_;
  const std::chrono::seconds lockout_;
  const std::size_t max_entries_;
  std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace coffer::service
