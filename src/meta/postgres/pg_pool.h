// PgPool: at most `size` connections to one database, opened on demand and handed to one caller
// at a time. Thread-safe.
//
// Health: a connection is checked (without a round trip, PgConnection::healthy) each time it is
// handed out, and one that failed is closed when it comes back, so after the database restarts
// the stale connections are dropped and replaced by new ones: no call needs the store reopened.
// While the database is down, acquire() fails fast with kStorageUnavailable (connecting is
// refused, or times out after connect_timeout).
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

#include "core/error.h"
#include "meta/postgres/pg_connection.h"

namespace coffer::meta::postgres {

class PgPool {
 public:
  // A connection for the caller's exclusive use until the Lease is destroyed. If the caller left
  // a transaction open (a failure, an exception), it is rolled back before the connection is
  // reused; a connection that cannot be is closed.
  class Lease {
   public:
    Lease(PgPool* pool, std::unique_ptr<PgConnection> conn) : pool_(pool), conn_(std::move(conn)) {}
    Lease(Lease&& other) noexcept = default;
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (conn_) pool_->release(std::move(conn_));
    }
    PgConnection& conn() { return *conn_; }

   private:
    PgPool* pool_;
    std::unique_ptr<PgConnection> conn_;
  };

  // `size` >= 1. `wait` bounds how long acquire() waits for a connection another caller holds.
  PgPool(ConnectionSettings settings, int size, std::chrono::milliseconds wait);
  ~PgPool();
  PgPool(const PgPool&) = delete;
  PgPool& operator=(const PgPool&) = delete;

  // kStorageUnavailable when no connection can be had: none became free within `wait`, or a new
  // one could not be opened.
  Result<Lease> acquire();

  // Connections currently open (idle or leased); for tests.
  int open_connections() const;

 private:
  void release(std::unique_ptr<PgConnection> conn);

  const ConnectionSettings settings_;
  const int size_;
  const std::chrono::milliseconds wait_;

  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<PgConnection>> idle_;  // guarded by mutex_
  int open_ = 0;                                     // guarded by mutex_; idle + leased
};

}  // namespace coffer::meta::postgres
