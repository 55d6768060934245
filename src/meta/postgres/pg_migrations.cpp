#include "meta/postgres/pg_migrations.h"

#include <array>
#include <string>

namespace coffer::meta::postgres {
namespace {

// Times are bigint unix seconds, as in the SQLite schema. Keys, paths, slugs and usernames are
// COLLATE "C" whatever the database's locale, so they compare and sort by their UTF-8 bytes as
// in SQLite, and the (tenant_id, path) index serves the range scans of scan_files.
constexpr const char* kInitialSchema = R"sql(
CREATE TABLE tenants (
  id          text   COLLATE "C" NOT NULL PRIMARY KEY,
  slug        text   COLLATE "C" NOT NULL UNIQUE,
  name        text   NOT NULL,
  quota_bytes bigint,
  quota_files bigint,
  used_bytes  bigint NOT NULL DEFAULT 0,
  used_files  bigint NOT NULL DEFAULT 0,
  created_at  bigint NOT NULL
);

CREATE TABLE users (
  id            text    COLLATE "C" NOT NULL PRIMARY KEY,
  tenant_id     text    COLLATE "C" NOT NULL REFERENCES tenants (id),
  username      text    COLLATE "C" NOT NULL,
  role          text    NOT NULL CHECK (role IN ('viewer', 'editor', 'admin')),
  password_hash text    NOT NULL DEFAULT '',
  disabled      boolean NOT NULL DEFAULT false,
  created_at    bigint  NOT NULL,
  UNIQUE (tenant_id, username)
);

CREATE TABLE files (
  id           text   COLLATE "C" NOT NULL PRIMARY KEY,
  tenant_id    text   COLLATE "C" NOT NULL REFERENCES tenants (id),
  path         text   COLLATE "C" NOT NULL,
  size         bigint NOT NULL,
  content_type text   NOT NULL,
  sha256       text   NOT NULL,
  object_key   text   COLLATE "C" NOT NULL UNIQUE,
  version      bigint NOT NULL,
  owner_id     text   COLLATE "C" NOT NULL,
  created_at   bigint NOT NULL,
  updated_at   bigint NOT NULL
);
-- Unique paths per tenant, and the listing index: scan_files walks it in path order.
CREATE UNIQUE INDEX files_by_path ON files (tenant_id, path);
-- delete_user passes a user's files on without scanning the tenant.
CREATE INDEX files_by_owner ON files (tenant_id, owner_id);

CREATE TABLE grants (
  file_id    text   COLLATE "C" NOT NULL REFERENCES files (id) ON DELETE CASCADE,
  tenant_id  text   COLLATE "C" NOT NULL,
  principal  text   COLLATE "C" NOT NULL CHECK (principal IN ('user', 'tenant')),
  user_id    text   COLLATE "C" NOT NULL,  -- '' for the tenant principal
  role       text   NOT NULL CHECK (role IN ('viewer', 'editor', 'admin')),
  granted_by text   COLLATE "C" NOT NULL,
  granted_at bigint NOT NULL,
  PRIMARY KEY (file_id, principal, user_id),
  CHECK ((principal = 'tenant') = (user_id = ''))
);
CREATE INDEX grants_by_user ON grants (tenant_id, user_id);

CREATE TABLE upload_intents (
  id           text    COLLATE "C" NOT NULL PRIMARY KEY,
  tenant_id    text    COLLATE "C" NOT NULL,
  object_key   text    COLLATE "C" NOT NULL UNIQUE,
  kind         text    NOT NULL CHECK (kind IN ('stream', 'presigned')),
  created_at   bigint  NOT NULL,
  expires_at   bigint  NOT NULL,
  user_id      text    COLLATE "C" NOT NULL DEFAULT '',
  path         text    COLLATE "C" NOT NULL DEFAULT '',
  size         bigint  NOT NULL DEFAULT 0,
  content_type text    NOT NULL DEFAULT '',
  sha256       text    NOT NULL DEFAULT '',
  overwrite    boolean NOT NULL DEFAULT false,
  multipart_id text    NOT NULL DEFAULT '',
  part_size    bigint  NOT NULL DEFAULT 0,
  lease_until  bigint  NOT NULL DEFAULT 0  -- 0: never claimed by a collector
);
CREATE INDEX upload_intents_by_expiry ON upload_intents (expires_at);
CREATE INDEX upload_intents_by_tenant ON upload_intents (tenant_id);

CREATE TABLE deletions (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  object_key  text   COLLATE "C" NOT NULL,
  not_before  bigint NOT NULL,
  lease_until bigint NOT NULL DEFAULT 0
);
CREATE INDEX deletions_by_not_before ON deletions (not_before);
CREATE INDEX deletions_by_key ON deletions (object_key);
)sql";

constexpr std::array kMigrations = {
    Migration{1, kInitialSchema},
};

constexpr const char* kTakeMigrationLock = "SELECT pg_advisory_xact_lock($1)";
constexpr const char* kCreateMigrationsTable =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    "version integer PRIMARY KEY, applied_at bigint NOT NULL)";
constexpr const char* kIsApplied = "SELECT 1 FROM schema_migrations WHERE version = $1";
constexpr const char* kRecordMigration =
    "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)";

Result<void> apply_one(PgConnection& conn, const Migration& m, std::int64_t now_unix,
                       std::chrono::milliseconds lock_wait) {
  // Waiting for another node's migration may take longer than an ordinary statement may.
  COFFER_TRY_VOID(conn.exec("SET LOCAL statement_timeout = " + std::to_string(lock_wait.count())));
  COFFER_TRY_VOID(conn.query(kTakeMigrationLock, Params().add(kMigrationLockKey)));
  // Under the lock: CREATE TABLE IF NOT EXISTS is not safe against a concurrent twin.
  COFFER_TRY_VOID(conn.exec(kCreateMigrationsTable));
  COFFER_TRY(PgResult applied, conn.query(kIsApplied, Params().add(m.version)));
  if (applied.rows() > 0) return Ok();
  COFFER_TRY_VOID(conn.exec(m.sql));
  COFFER_TRY_VOID(conn.query(kRecordMigration, Params().add(m.version).add(now_unix)));
  return Ok();
}

}  // namespace

std::span<const Migration> migrations() { return kMigrations; }

Result<void> apply_migrations(PgConnection& conn, std::int64_t now_unix,
                              std::chrono::milliseconds lock_wait) {
  const auto saved = conn.response_timeout();
  conn.set_response_timeout(lock_wait + std::chrono::seconds(5));
  Result<void> result = Ok();
  for (const Migration& m : kMigrations) {
    result = conn.exec("BEGIN");
    if (!result) break;
    result = apply_one(conn, m, now_unix, lock_wait);
    if (result) result = conn.exec("COMMIT");
    if (!result) {
      if (conn.usable() && !conn.idle()) (void)conn.exec("ROLLBACK");
      break;
    }
  }
  conn.set_response_timeout(saved);
  return result;
}

}  // namespace coffer::meta::postgres
