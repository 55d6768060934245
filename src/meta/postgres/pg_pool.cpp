#include "meta/postgres/pg_pool.h"

#include <algorithm>
#include <utility>

namespace coffer::meta::postgres {

PgPool::PgPool(ConnectionSettings settings, int size, std::chrono::milliseconds wait)
    : settings_(std::move(settings)), size_(std::max(size, 1)), wait_(wait) {}

PgPool::~PgPool() = default;

Result<PgPool::Lease> PgPool::acquire() {
  std::unique_lock lock(mutex_);
  while (true) {
    bool ready = cv_.wait_for(lock, wait_, [&] { return !idle_.empty() || open_ < size_; });
    if (!ready) {
      return unavailable("postgresql: no pooled connection became free within " +
                         std::to_string(wait_.count()) + " ms");
    }
    if (idle_.empty()) break;
    // Most recently used first: the connection most likely to be warm.
    std::unique_ptr<PgConnection> conn = std::move(idle_.back());
    idle_.pop_back();
    if (conn->healthy()) return Lease(this, std::move(conn));
    // Stale (the server closed it, e.g. on a restart): close it and look again.
    --open_;
    lock.unlock();
    conn.reset();
    lock.lock();
  }
  ++open_;
  lock.unlock();
  auto conn = PgConnection::open(settings_);
  if (!conn) {
    lock.lock();
    --open_;
    lock.unlock();
    cv_.notify_one();
    return std::move(conn).error();
  }
  return Lease(this, std::move(*conn));
}

void PgPool::release(std::unique_ptr<PgConnection> conn) {
  if (conn->usable() && !conn->idle()) (void)conn->exec("ROLLBACK");
  bool reusable = conn->idle();
  if (!reusable) conn.reset();  // closed outside the lock
  {
    std::lock_guard lock(mutex_);
    if (reusable) {
      idle_.push_back(std::move(conn));
    } else {
      --open_;
    }
  }
  cv_.notify_one();
}

int PgPool::open_connections() const {
  std::lock_guard lock(mutex_);
  return open_;
}

}  // namespace coffer::meta::postgres
