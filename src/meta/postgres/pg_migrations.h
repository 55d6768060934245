// The PostgreSQL schema as an ordered list of numbered migration steps, and the runner that applies
// the missing ones.
#pragma once

#include <cstdint>
#include <span>

#include "core/error.h"
#include "meta/postgres/pg_connection.h"

namespace coffer::meta::postgres {

struct Migration {
  int version;      // strictly increasing; never renumbered once released
  const char* sql;  // one or more statements; applied in the same transaction as its record
};

// Every migration, oldest first. Released steps are never edited: changes are new steps.
std::span<const Migration> migrations();

// The key of the transaction-scoped advisory lock that serialises schema changes, so that
// several nodes starting at once apply each step exactly once.
inline constexpr std::int64_t kMigrationLockKey = 0x436f66666572'01;  // "Coffer", 1

// Applies the migrations missing from schema_migrations (in the schema first on the search_path),
// one transaction per step, each holding pg_advisory_xact_lock(kMigrationLockKey): concurrent
// runners (other connections, processes or nodes) wait for each other instead of failing.
// `lock_wait` bounds the whole wait for the lock and each step. The caller holds no transaction
// on `conn`.
Result<void> apply_migrations(PgConnection& conn, std::int64_t now_unix,
                              std::chrono::milliseconds lock_wait);

}  // namespace coffer::meta::postgres
