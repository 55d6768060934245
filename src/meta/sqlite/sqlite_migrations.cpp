#include "meta/sqlite/sqlite_migrations.h"

#include <array>

namespace coffer::meta::sqlite {
namespace {

// Times are INTEGER unix seconds. Text compares with SQLite's BINARY collation, so paths, slugs
// and usernames order by their UTF-8 bytes.
constexpr const char* kInitialSchema = R"sql(
CREATE TABLE tenants (
  id          TEXT    NOT NULL PRIMARY KEY,
  slug        TEXT    NOT NULL UNIQUE,
  name        TEXT    NOT NULL,
  quota_bytes INTEGER,
  quota_files INTEGER,
  used_bytes  INTEGER NOT NULL DEFAULT 0,
  used_files  INTEGER NOT NULL DEFAULT 0,
  created_at  INTEGER NOT NULL
);

CREATE TABLE users (
  id            TEXT    NOT NULL PRIMARY KEY,
  tenant_id     TEXT    NOT NULL REFERENCES tenants (id),
  username      TEXT    NOT NULL,
  role          TEXT    NOT NULL CHECK (role IN ('viewer', 'editor', 'admin')),
  password_hash TEXT    NOT NULL DEFAULT '',
  disabled      INTEGER NOT NULL DEFAULT 0,
  created_at    INTEGER NOT NULL,
  UNIQUE (tenant_id, username)
);

CREATE TABLE files (
  id           TEXT    NOT NULL PRIMARY KEY,
  tenant_id    TEXT    NOT NULL REFERENCES tenants (id),
  path         TEXT    NOT NULL,
  size         INTEGER NOT NULL,
  content_type TEXT    NOT NULL,
  sha256       TEXT    NOT NULL,
  object_key   TEXT    NOT NULL UNIQUE,
  version      INTEGER NOT NULL,
  owner_id     TEXT    NOT NULL,
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL
);
-- Unique paths per tenant, and the listing index: scan_files walks it in path order.
CREATE UNIQUE INDEX files_by_path ON files (tenant_id, path);

CREATE TABLE grants (
  file_id    TEXT    NOT NULL REFERENCES files (id) ON DELETE CASCADE,
  tenant_id  TEXT    NOT NULL,
  principal  TEXT    NOT NULL CHECK (principal IN ('user', 'tenant')),
  user_id    TEXT    NOT NULL,  -- '' for the tenant principal
  role       TEXT    NOT NULL CHECK (role IN ('viewer', 'editor', 'admin')),
  granted_by TEXT    NOT NULL,
  granted_at INTEGER NOT NULL,
  PRIMARY KEY (file_id, principal, user_id),
  CHECK ((principal = 'tenant') = (user_id = ''))
) WITHOUT ROWID;
CREATE INDEX grants_by_user ON grants (tenant_id, user_id);

CREATE TABLE upload_intents (
  id           TEXT    NOT NULL PRIMARY KEY,
  tenant_id    TEXT    NOT NULL,
  object_key   TEXT    NOT NULL UNIQUE,
  kind         TEXT    NOT NULL CHECK (kind IN ('stream', 'presigned')),
  created_at   INTEGER NOT NULL,
  expires_at   INTEGER NOT NULL,
  user_id      TEXT    NOT NULL DEFAULT '',
  path         TEXT    NOT NULL DEFAULT '',
  size         INTEGER NOT NULL DEFAULT 0,
  content_type TEXT    NOT NULL DEFAULT '',
  sha256       TEXT    NOT NULL DEFAULT '',
  overwrite    INTEGER NOT NULL DEFAULT 0,
  multipart_id TEXT    NOT NULL DEFAULT '',
  part_size    INTEGER NOT NULL DEFAULT 0,
  lease_until  INTEGER NOT NULL DEFAULT 0  -- 0: never claimed by a collector
);
CREATE INDEX upload_intents_by_expiry ON upload_intents (expires_at);
CREATE INDEX upload_intents_by_tenant ON upload_intents (tenant_id);

CREATE TABLE deletions (
  id          INTEGER PRIMARY KEY,
  object_key  TEXT    NOT NULL,
  not_before  INTEGER NOT NULL,
  lease_until INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX deletions_by_not_before ON deletions (not_before);
CREATE INDEX deletions_by_key ON deletions (object_key);
)sql";

constexpr std::array kMigrations = {
    Migration{1, kInitialSchema},
};

Result<bool> is_applied(Connection& conn, int version) {
  COFFER_TRY(Statement stmt, conn.prepare("SELECT 1 FROM schema_migrations WHERE version = ?1"));
  stmt.bind(1, version);
  return stmt.step();
}

Result<void> apply_one(Connection& conn, const Migration& m, std::int64_t now_unix) {
  COFFER_TRY(bool applied, is_applied(conn, m.version));
  if (applied) return Ok();
  COFFER_TRY_VOID(conn.exec(m.sql));
  COFFER_TRY(Statement record,
             conn.prepare("INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)"));
  record.bind(1, m.version).bind(2, now_unix);
  return record.run();
}

// Runs `body` in a BEGIN IMMEDIATE transaction; rolls back when it fails.
template <class Body>
Result<void> in_transaction(Connection& conn, Body body) {
  COFFER_TRY_VOID(conn.exec("BEGIN IMMEDIATE"));
  Result<void> r = body();
  if (r) r = conn.exec("COMMIT");
  if (!r && !conn.autocommit()) (void)conn.exec("ROLLBACK");
  return r;
}

}  // namespace

std::span<const Migration> migrations() { return kMigrations; }

Result<void> apply_migrations(Connection& conn, std::int64_t now_unix) {
  COFFER_TRY_VOID(in_transaction(conn, [&] {
    return conn.exec(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        "  version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)");
  }));
  for (const Migration& m : kMigrations) {
    COFFER_TRY_VOID(in_transaction(conn, [&] { return apply_one(conn, m, now_unix); }));
  }
  return Ok();
}

}  // namespace coffer::meta::sqlite
