// The SQLite schema as an ordered list of numbered migration steps, and the runner that applies
// the missing ones.
#pragma once

#include <span>

#include "core/error.h"
#include "meta/sqlite/sqlite_db.h"

namespace coffer::meta::sqlite {

struct Migration {
  int version;      // strictly increasing; never renumbered once released
  const char* sql;  // one or more statements; applied in the same transaction as its record
};

// Every migration, oldest first. Released steps are never edited: changes are new steps.
std::span<const Migration> migrations();

// Applies the migrations missing from schema_migrations, one BEGIN IMMEDIATE transaction each, so
// that concurrent runs (other connections or processes) serialise and each step runs once.
// The caller must hold no transaction on `conn`.
Result<void> apply_migrations(Connection& conn, std::int64_t now_unix);

}  // namespace coffer::meta::sqlite
