// Users who authenticated a moment ago, so that a request need not read its caller from the
// database when the same user asked within the last second. Every change to users or tenants made
// through this process empties it at once (forget_all); API.md allows a per-node cache bounded to
// one second of staleness, which is what a change made by another node may see.
//
// Lock-free on the hot path: each thread keeps its own entries, tagged with the generation they
// were filled in; forget_all moves the shared generation on, and a thread that sees a newer
// generation drops its entries before looking.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "meta/records.h"

namespace coffer::service {

class UserCache {
 public:
  using Clock = std::chrono::steady_clock;

  explicit UserCache(Clock::duration ttl = std::chrono::seconds(1), std::size_t capacity = 4096);

  // Take this before reading a user from the database, and give it to remember().
  std::uint64_t generation() const { return generation_.load(std::memory_order_acquire); }
  // The user read less than `ttl` before `now`, unless users changed since.
  std::optional<meta::UserRecord> find(std::string_view tenant_id, std::string_view user_id,
                                       Clock::time_point now) const;
  // Keeps `user`, read from the database after generation() returned `seen`; nothing is kept when
  // users changed in between.
  void remember(std::uint64_t seen, const meta::UserRecord& user, Clock::time_point now) const;
  // Users or tenants changed: nothing cached before this call is answered again.
  void forget_all() { generation_.fetch_add(1, std::memory_order_acq_rel); }

 private:
  const std::uint64_t instance_;  // tells this cache's thread-local entries from another's
  const Clock::duration ttl_;
  const std::size_t capacity_;
  std::atomic<std::uint64_t> generation_{0};
};

}  // namespace coffer::service
