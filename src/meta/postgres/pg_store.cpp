#include "meta/postgres/pg_store.h"

#include <libpq-fe.h>

#include <algorithm>
#include <random>
#include <thread>
#include <tuple>
#include <utility>

#include "meta/postgres/pg_migrations.h"
#include "meta/store_rules.h"

namespace coffer::meta::postgres {
namespace {

std::int64_t secs(SystemTime t) { return to_unix_seconds(t); }
SystemTime at(std::int64_t s) { return from_unix_seconds(s); }

bool is_retryable(const std::string& sqlstate) {
  return sqlstate == kDeadlockDetected || sqlstate == kSerializationFailure;
}

// A PostgreSQL array literal of text values, every element quoted: '{"a","b\"c"}'.
std::string text_array(const std::vector<std::string>& items) {
  std::string out = "{";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ',';
    out += '"';
    for (char ch : items[i]) {
      if (ch == '"' || ch == '\\') out += '\\';
      out += ch;
    }
    out += '"';
  }
  out += '}';
  return out;
}

std::string integer_array(const std::vector<std::int64_t>& items) {
  std::string out = "{";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ',';
    out += std::to_string(items[i]);
  }
  out += '}';
  return out;
}

// --- the statements: each SELECT lists its columns in the order the readers below expect ---

#define COFFER_TENANT_COLUMNS \
  "id, slug, name, quota_bytes, quota_files, used_bytes, used_files, created_at"
#define COFFER_USER_COLUMNS "id, tenant_id, username, role, password_hash, disabled, created_at"
#define COFFER_GRANT_COLUMNS "file_id, tenant_id, principal, user_id, role, granted_by, granted_at"
#define COFFER_INTENT_COLUMNS                                                                    \
  "id, tenant_id, object_key, kind, created_at, expires_at, user_id, path, size, content_type, " \
  "sha256, overwrite, multipart_id, part_size"

// A file with the grants of user $2 and of the tenant, in one query (the hottest read).
#define COFFER_FILE_VIEW_SELECT                                                                \
  "SELECT f.id, f.tenant_id, f.path, f.size, f.content_type, f.sha256, f.object_key, "         \
  "f.version, f.owner_id, f.created_at, f.updated_at, ug.role, tg.role "                       \
  "FROM files AS f "                                                                           \
  "LEFT JOIN grants AS ug ON ug.file_id = f.id AND ug.principal = 'user' AND ug.user_id = $2 " \
  "LEFT JOIN grants AS tg ON tg.file_id = f.id AND tg.principal = 'tenant' AND tg.user_id = '' "

constexpr const char* kPing = "SELECT count(*) FROM schema_migrations";

constexpr const char* kInsertTenant =
    "INSERT INTO tenants (id, slug, name, quota_bytes, quota_files, used_bytes, used_files, "
    "created_at) VALUES ($1, $2, $3, $4, $5, 0, 0, $6)";
constexpr const char* kTenantById = "SELECT " COFFER_TENANT_COLUMNS " FROM tenants WHERE id = $1";
// The lock that orders every write which changes a tenant's usage, paths or admins. NO KEY
// UPDATE leaves the key share locks of foreign keys (inserting a user or a file) unblocked.
constexpr const char* kLockTenant =
    "SELECT " COFFER_TENANT_COLUMNS " FROM tenants WHERE id = $1 FOR NO KEY UPDATE";
// Keeps the tenant from being deleted while a row that references it is inserted.
constexpr const char* kKeepTenant = "SELECT 1 FROM tenants WHERE id = $1 FOR KEY SHARE";
// Excludes every other writer of the tenant, including inserts that reference it.
constexpr const char* kLockTenantForDelete = "SELECT 1 FROM tenants WHERE id = $1 FOR UPDATE";
constexpr const char* kTenantBySlug =
    "SELECT " COFFER_TENANT_COLUMNS " FROM tenants WHERE slug = $1";
constexpr const char* kListTenants =
    "SELECT " COFFER_TENANT_COLUMNS " FROM tenants WHERE slug > $1 ORDER BY slug LIMIT $2";
constexpr const char* kUpdateTenant =
    "UPDATE tenants SET name = $2, quota_bytes = $3, quota_files = $4 WHERE id = $1";
constexpr const char* kAddUsage =
    "UPDATE tenants SET used_bytes = used_bytes + $2, used_files = used_files + $3 WHERE id = $1";
// Deleting a tenant: every object key it referenced is queued by the statement that forgets it,
// so no key can slip between a read and a delete.
constexpr const char* kDeleteTenantGrants = "DELETE FROM grants WHERE tenant_id = $1";
constexpr const char* kDeleteTenantFiles =
    "WITH gone AS (DELETE FROM files WHERE tenant_id = $1 RETURNING object_key) "
    "INSERT INTO deletions (object_key, not_before) SELECT object_key, $2 FROM gone";
constexpr const char* kDeleteTenantIntents =
    "WITH gone AS (DELETE FROM upload_intents WHERE tenant_id = $1 RETURNING object_key) "
    "INSERT INTO deletions (object_key, not_before) SELECT object_key, $2 FROM gone";
constexpr const char* kDeleteTenantUsers = "DELETE FROM users WHERE tenant_id = $1";
constexpr const char* kDeleteTenant = "DELETE FROM tenants WHERE id = $1";

constexpr const char* kInsertUser =
    "INSERT INTO users (id, tenant_id, username, role, password_hash, disabled, created_at) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7)";
constexpr const char* kUserById =
    "SELECT " COFFER_USER_COLUMNS " FROM users WHERE id = $2 AND tenant_id = $1";
constexpr const char* kLockUser = "SELECT " COFFER_USER_COLUMNS
                                  " FROM users WHERE id = $2 AND tenant_id = $1 "
                                  "FOR NO KEY UPDATE";
// A grant's user must not be deleted while the grant is written.
constexpr const char* kKeepUser =
    "SELECT 1 FROM users WHERE id = $2 AND tenant_id = $1 FOR KEY SHARE";
constexpr const char* kUserByName =
    "SELECT " COFFER_USER_COLUMNS " FROM users WHERE tenant_id = $1 AND username = $2";
constexpr const char* kListUsers = "SELECT " COFFER_USER_COLUMNS
                                   " FROM users WHERE tenant_id = $1 AND username > $2 "
                                   "ORDER BY username LIMIT $3";
constexpr const char* kOtherEnabledAdmin =
    "SELECT 1 FROM users WHERE tenant_id = $1 AND id <> $2 AND role = 'admin' "
    "AND NOT disabled LIMIT 1";
constexpr const char* kUpdateUser =
    "UPDATE users SET role = $3, disabled = $4, password_hash = $5 "
    "WHERE id = $2 AND tenant_id = $1";
constexpr const char* kPassFilesOn =
    "UPDATE files SET owner_id = $3 WHERE tenant_id = $1 AND owner_id = $2";
constexpr const char* kDeleteGrantsHeldBy =
    "DELETE FROM grants WHERE tenant_id = $1 AND user_id = $2 AND principal = 'user'";
constexpr const char* kDeleteUser = "DELETE FROM users WHERE id = $2 AND tenant_id = $1";

constexpr const char* kViewById = COFFER_FILE_VIEW_SELECT "WHERE f.id = $3 AND f.tenant_id = $1";
constexpr const char* kViewByPath =
    COFFER_FILE_VIEW_SELECT "WHERE f.tenant_id = $1 AND f.path = $3";
// The file a write is about to change, locked until the transaction ends.
constexpr const char* kLockViewById =
    COFFER_FILE_VIEW_SELECT "WHERE f.id = $3 AND f.tenant_id = $1 FOR UPDATE OF f";
constexpr const char* kLockViewByPath =
    COFFER_FILE_VIEW_SELECT "WHERE f.tenant_id = $1 AND f.path = $3 FOR UPDATE OF f";
// The file a grant is written for: it may not change or go meanwhile, other grants may.
constexpr const char* kShareViewById =
    COFFER_FILE_VIEW_SELECT "WHERE f.id = $3 AND f.tenant_id = $1 FOR SHARE OF f";
constexpr const char* kInsertFile =
    "INSERT INTO files (id, tenant_id, path, size, content_type, sha256, object_key, version, "
    "owner_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";
constexpr const char* kReplaceFile =
    "UPDATE files SET size = $2, content_type = $3, sha256 = $4, object_key = $5, version = $6, "
    "updated_at = $7 WHERE id = $1";
constexpr const char* kRenameFile = "UPDATE files SET path = $2, updated_at = $3 WHERE id = $1";
// The file's grants go with it (ON DELETE CASCADE).
constexpr const char* kDeleteFile = "DELETE FROM files WHERE id = $1";

constexpr const char* kGrantsForFile = "SELECT " COFFER_GRANT_COLUMNS
                                       " FROM grants WHERE file_id = $2 AND tenant_id = $1 "
                                       "ORDER BY principal, user_id";
constexpr const char* kGrantsForUser = "SELECT " COFFER_GRANT_COLUMNS
                                       " FROM grants WHERE tenant_id = $1 AND user_id = $2 "
                                       "AND principal = 'user' ORDER BY file_id";
constexpr const char* kUpsertGrant =
    "INSERT INTO grants (file_id, tenant_id, principal, user_id, role, granted_by, granted_at) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7) "
    "ON CONFLICT (file_id, principal, user_id) DO UPDATE SET "
    "role = EXCLUDED.role, granted_by = EXCLUDED.granted_by, granted_at = EXCLUDED.granted_at";
constexpr const char* kDeleteGrant =
    "DELETE FROM grants WHERE file_id = $1 AND principal = $2 AND user_id = $3";

constexpr const char* kInsertIntent =
    "INSERT INTO upload_intents (id, tenant_id, object_key, kind, created_at, expires_at, "
    "user_id, path, size, content_type, sha256, overwrite, multipart_id, part_size, lease_until) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 0)";
constexpr const char* kIntentById =
    "SELECT " COFFER_INTENT_COLUMNS " FROM upload_intents WHERE id = $2 AND tenant_id = $1";
// The intent a commit consumes, locked: a collector's claim skips it, or the commit waits for
// the claim and then sees its lease.
constexpr const char* kLockIntentLease =
    "SELECT lease_until FROM upload_intents WHERE id = $1 AND tenant_id = $2 FOR UPDATE";
constexpr const char* kDeleteIntent = "DELETE FROM upload_intents WHERE id = $1";
// Picks due rows that no other collector holds (SKIP LOCKED) and leases them in one statement.
constexpr const char* kClaimIntents =
    "WITH picked AS ("
    "SELECT id FROM upload_intents WHERE expires_at <= $1 AND lease_until <= $1 "
    "ORDER BY expires_at, id LIMIT $3 FOR UPDATE SKIP LOCKED) "
    "UPDATE upload_intents AS i SET lease_until = $2 FROM picked WHERE i.id = picked.id "
    "RETURNING i.id, i.tenant_id, i.object_key, i.kind, i.created_at, i.expires_at, i.user_id, "
    "i.path, i.size, i.content_type, i.sha256, i.overwrite, i.multipart_id, i.part_size";

constexpr const char* kInsertDeletion =
    "INSERT INTO deletions (object_key, not_before, lease_until) VALUES ($1, $2, 0)";
constexpr const char* kClaimDeletions =
    "WITH picked AS ("
    "SELECT id FROM deletions WHERE not_before <= $1 AND lease_until <= $1 "
    "ORDER BY not_before, id LIMIT $3 FOR UPDATE SKIP LOCKED) "
    "UPDATE deletions AS d SET lease_until = $2 FROM picked WHERE d.id = picked.id "
    "RETURNING d.id, d.object_key, d.not_before";
constexpr const char* kCompleteDeletions = "DELETE FROM deletions WHERE id = ANY ($1::bigint[])";
// One statement, so one snapshot: a key moving from a file to the queue is seen in one place.
constexpr const char* kReferencedKeys =
    "SELECT k FROM unnest($1::text[]) AS k "
    "WHERE EXISTS (SELECT 1 FROM files WHERE object_key = k) "
    "OR EXISTS (SELECT 1 FROM upload_intents WHERE object_key = k) "
    "OR EXISTS (SELECT 1 FROM deletions WHERE object_key = k)";

// --- row readers ---

TenantRecord read_tenant(const PgResult& r, int row) {
  TenantRecord t;
  t.id = r.text(row, 0);
  t.slug = r.text(row, 1);
  t.name = r.text(row, 2);
  t.quota_bytes = r.optional_integer(row, 3);
  t.quota_files = r.optional_integer(row, 4);
  t.used_bytes = r.integer(row, 5);
  t.used_files = r.integer(row, 6);
  t.created_at = at(r.integer(row, 7));
  return t;
}

UserRecord read_user(const PgResult& r, int row) {
  UserRecord u;
  u.id = r.text(row, 0);
  u.tenant_id = r.text(row, 1);
  u.username = r.text(row, 2);
  u.role = access::parse_tenant_role(r.text(row, 3)).value_or(TenantRole::kViewer);
  u.password_hash = r.text(row, 4);
  u.disabled = r.boolean(row, 5);
  u.created_at = at(r.integer(row, 6));
  return u;
}

FileRole read_role(const PgResult& r, int row, int column) {
  if (r.is_null(row, column)) return FileRole::kNone;
  return access::parse_file_role(r.text(row, column)).value_or(FileRole::kNone);
}

FileView read_file_view(const PgResult& r, int row) {
  FileView v;
  FileRecord& f = v.file;
  f.id = r.text(row, 0);
  f.tenant_id = r.text(row, 1);
  f.path = r.text(row, 2);
  f.size = r.integer(row, 3);
  f.content_type = r.text(row, 4);
  f.sha256 = r.text(row, 5);
  f.object_key = r.text(row, 6);
  f.version = r.integer(row, 7);
  f.owner_id = r.text(row, 8);
  f.created_at = at(r.integer(row, 9));
  f.updated_at = at(r.integer(row, 10));
  v.user_grant = read_role(r, row, 11);
  v.tenant_grant = read_role(r, row, 12);
  return v;
}

GrantRecord read_grant(const PgResult& r, int row) {
  GrantRecord g;
  g.file_id = r.text(row, 0);
  g.tenant_id = r.text(row, 1);
  g.principal = r.text(row, 2) == "tenant" ? Principal::kTenant : Principal::kUser;
  g.user_id = r.text(row, 3);
  g.role = access::parse_file_role(r.text(row, 4)).value_or(FileRole::kViewer);
  g.granted_by = r.text(row, 5);
  g.granted_at = at(r.integer(row, 6));
  return g;
}

UploadIntent read_intent(const PgResult& r, int row) {
  UploadIntent i;
  i.id = r.text(row, 0);
  i.tenant_id = r.text(row, 1);
  i.object_key = r.text(row, 2);
  i.kind = r.text(row, 3) == "presigned" ? IntentKind::kPresigned : IntentKind::kStream;
  i.created_at = at(r.integer(row, 4));
  i.expires_at = at(r.integer(row, 5));
  i.user_id = r.text(row, 6);
  i.path = r.text(row, 7);
  i.size = r.integer(row, 8);
  i.content_type = r.text(row, 9);
  i.sha256 = r.text(row, 10);
  i.overwrite = r.boolean(row, 11);
  i.multipart_id = r.text(row, 12);
  i.part_size = r.integer(row, 13);
  return i;
}

template <class T, class Reader>
std::optional<T> first_row(const PgResult& r, Reader reader) {
  if (r.rows() == 0) return std::nullopt;
  return reader(r, 0);
}

template <class T, class Reader>
std::vector<T> all_rows(const PgResult& r, Reader reader) {
  std::vector<T> out;
  out.reserve(static_cast<std::size_t>(r.rows()));
  for (int row = 0; row < r.rows(); ++row) out.push_back(reader(r, row));
  return out;
}

// --- lookups shared by reads and by the checks inside write transactions ---

Result<std::optional<TenantRecord>> lock_tenant(PgConnection& c, const std::string& id) {
  COFFER_TRY(PgResult r, c.query(kLockTenant, Params().add(id)));
  return first_row<TenantRecord>(r, read_tenant);
}

Result<std::optional<UserRecord>> user_by_id(PgConnection& c, const char* sql,
                                             const std::string& tenant_id, const std::string& id) {
  COFFER_TRY(PgResult r, c.query(sql, Params().add(tenant_id).add(id)));
  return first_row<UserRecord>(r, read_user);
}

Result<std::optional<FileView>> view_where(PgConnection& c, const char* sql,
                                           const std::string& tenant_id, const std::string& user_id,
                                           const std::string& key) {
  COFFER_TRY(PgResult r, c.query(sql, Params().add(tenant_id).add(user_id).add(key)));
  return first_row<FileView>(r, read_file_view);
}

// Whether the tenant has an enabled admin other than `user_id`.
Result<bool> has_other_enabled_admin(PgConnection& c, const std::string& tenant_id,
                                     const std::string& user_id) {
  COFFER_TRY(PgResult r, c.query(kOtherEnabledAdmin, Params().add(tenant_id).add(user_id)));
  return r.rows() > 0;
}

Result<void> insert_user(PgConnection& c, const UserRecord& u) {
  auto r = c.query(kInsertUser, Params()
                                    .add(u.id)
                                    .add(u.tenant_id)
                                    .add(u.username)
                                    .add(access::to_string(u.role))
                                    .add(u.password_hash)
                                    .add(u.disabled)
                                    .add(secs(u.created_at)));
  if (!r) return conflict_as(std::move(r).error(), "username is taken");
  return Ok();
}

Result<void> insert_deletion(PgConnection& c, const std::string& object_key,
                             SystemTime not_before) {
  COFFER_TRY_VOID(c.query(kInsertDeletion, Params().add(object_key).add(secs(not_before))));
  return Ok();
}

Result<void> add_usage(PgConnection& c, const std::string& tenant_id, std::int64_t bytes,
                       std::int64_t files) {
  COFFER_TRY_VOID(c.query(kAddUsage, Params().add(tenant_id).add(bytes).add(files)));
  return Ok();
}

}  // namespace

// --- construction and transactions ---

PgStore::PgStore(ConnectionSettings settings, PgOptions options)
    : options_(options), pool_(std::move(settings), options.pool_size, options.pool_wait) {}

PgStore::~PgStore() = default;

Result<std::unique_ptr<PgStore>> PgStore::open(const std::string& conninfo, PgOptions options) {
  char* message = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(conninfo.c_str(), &message);
  PQfreemem(message);  // it may quote the conninfo, which may hold a password
  if (parsed == nullptr) {
    std::string text = "database URL: not a valid PostgreSQL connection URL";
    return Error{ErrorCode::kBadRequest, text, text};
  }
  PQconninfoFree(parsed);
  options.pool_size = std::max(options.pool_size, 1);
  options.max_attempts = std::max(options.max_attempts, 1);
  ConnectionSettings settings;
  settings.conninfo = conninfo;
  settings.connect_timeout = options.connect_timeout;
  settings.statement_timeout = options.statement_timeout;
  settings.response_timeout = options.response_timeout;
  return std::unique_ptr<PgStore>(new PgStore(std::move(settings), options));
}

template <class Body>
auto PgStore::transact(Body&& body) -> decltype(body(std::declval<PgConnection&>())) {
  for (int attempt = 1;; ++attempt) {
    std::string sqlstate;
    {
      COFFER_TRY(PgPool::Lease lease, pool_.acquire());
      PgConnection& c = lease.conn();
      COFFER_TRY_VOID(c.exec("BEGIN"));
      auto result = body(c);
      if (result) {
        auto committed = c.exec("COMMIT");
        if (!committed) result = std::move(committed).error();
      }
      if (result) return result;
      sqlstate = c.last_sqlstate();
      if (!is_retryable(sqlstate)) return result;
      if (attempt >= options_.max_attempts) {
        // Contention this persistent is the database's state, not the request's fault.
        return unavailable(result.error().detail + " (gave up after " + std::to_string(attempt) +
                           " attempts)");
      }
    }  // the lease rolls back and returns the connection
    // Two transactions that deadlocked would likely collide again in step: spread them out.
    thread_local std::minstd_rand jitter{std::random_device{}()};
    std::this_thread::sleep_for(std::chrono::milliseconds(1 + jitter() % (5 * attempt)));
  }
}

template <class Body>
auto PgStore::one_statement(Body&& body) -> decltype(body(std::declval<PgConnection&>())) {
  COFFER_TRY(PgPool::Lease lease, pool_.acquire());
  return body(lease.conn());
}

std::string PgStore::scan_files_sql(bool all_files, bool lower_inclusive, bool has_upper) {
  std::string sql = COFFER_FILE_VIEW_SELECT;
  sql += "WHERE f.tenant_id = $1 AND f.path ";
  sql += lower_inclusive ? ">= $3" : "> $3";
  if (has_upper) sql += " AND f.path < $5";
  if (!all_files) {
    sql += " AND (f.owner_id = $2 OR ug.role IS NOT NULL OR tg.role IS NOT NULL)";
  }
  sql += " ORDER BY f.path LIMIT $4";
  return sql;
}

// --- schema and health ---

Result<void> PgStore::migrate() {
  COFFER_TRY(PgPool::Lease lease, pool_.acquire());
  return apply_migrations(lease.conn(), secs(std::chrono::system_clock::now()),
                          options_.migration_lock_wait);
}

Result<void> PgStore::ping() {
  return one_statement([&](PgConnection& c) -> Result<void> {
    COFFER_TRY_VOID(c.query(kPing));
    return Ok();
  });
}

// --- tenants ---

Result<void> PgStore::create_tenant(const TenantRecord& tenant, const UserRecord& admin) {
  return transact([&](PgConnection& c) -> Result<void> {
    auto inserted = c.query(kInsertTenant, Params()
                                               .add(tenant.id)
                                               .add(tenant.slug)
                                               .add(tenant.name)
                                               .add(tenant.quota_bytes)
                                               .add(tenant.quota_files)
                                               .add(secs(tenant.created_at)));
    if (!inserted) return conflict_as(std::move(inserted).error(), "tenant slug is taken");
    UserRecord user = admin;
    user.tenant_id = tenant.id;
    return insert_user(c, user);
  });
}

Result<TenantRecord> PgStore::get_tenant(const std::string& id) {
  return one_statement([&](PgConnection& c) -> Result<TenantRecord> {
    COFFER_TRY(PgResult r, c.query(kTenantById, Params().add(id)));
    auto t = first_row<TenantRecord>(r, read_tenant);
    if (!t) return Error::NotFound("tenant not found");
    return std::move(*t);
  });
}

Result<TenantRecord> PgStore::find_tenant_by_slug(const std::string& slug) {
  return one_statement([&](PgConnection& c) -> Result<TenantRecord> {
    COFFER_TRY(PgResult r, c.query(kTenantBySlug, Params().add(slug)));
    auto t = first_row<TenantRecord>(r, read_tenant);
    if (!t) return Error::NotFound("tenant not found");
    return std::move(*t);
  });
}

Result<std::vector<TenantRecord>> PgStore::list_tenants(const std::string& after_slug, int limit) {
  if (limit <= 0) return std::vector<TenantRecord>{};
  return one_statement([&](PgConnection& c) -> Result<std::vector<TenantRecord>> {
    COFFER_TRY(PgResult r, c.query(kListTenants, Params().add(after_slug).add(limit)));
    return all_rows<TenantRecord>(r, read_tenant);
  });
}

Result<TenantRecord> PgStore::update_tenant(const std::string& id, const TenantPatch& patch) {
  return transact([&](PgConnection& c) -> Result<TenantRecord> {
    COFFER_TRY(auto found, lock_tenant(c, id));
    if (!found) return Error::NotFound("tenant not found");
    TenantRecord t = std::move(*found);
    if (patch.name) t.name = *patch.name;
    if (patch.quota_bytes) t.quota_bytes = *patch.quota_bytes;
    if (patch.quota_files) t.quota_files = *patch.quota_files;
    COFFER_TRY_VOID(
        c.query(kUpdateTenant, Params().add(id).add(t.name).add(t.quota_bytes).add(t.quota_files)));
    return t;
  });
}

Result<void> PgStore::delete_tenant(const std::string& id, SystemTime now) {
  return transact([&](PgConnection& c) -> Result<void> {
    COFFER_TRY(PgResult found, c.query(kLockTenantForDelete, Params().add(id)));
    if (found.rows() == 0) return Error::NotFound("tenant not found");
    COFFER_TRY_VOID(c.query(kDeleteTenantGrants, Params().add(id)));
    COFFER_TRY_VOID(c.query(kDeleteTenantFiles, Params().add(id).add(secs(now))));
    COFFER_TRY_VOID(c.query(kDeleteTenantIntents, Params().add(id).add(secs(now))));
    COFFER_TRY_VOID(c.query(kDeleteTenantUsers, Params().add(id)));
    COFFER_TRY_VOID(c.query(kDeleteTenant, Params().add(id)));
    return Ok();
  });
}

// --- users ---

Result<void> PgStore::create_user(const UserRecord& user) {
  return transact([&](PgConnection& c) -> Result<void> {
    COFFER_TRY(PgResult tenant, c.query(kKeepTenant, Params().add(user.tenant_id)));
    if (tenant.rows() == 0) return Error::NotFound("tenant not found");
    return insert_user(c, user);
  });
}

Result<UserRecord> PgStore::get_user(const std::string& tenant_id, const std::string& id) {
  return one_statement([&](PgConnection& c) -> Result<UserRecord> {
    COFFER_TRY(auto u, user_by_id(c, kUserById, tenant_id, id));
    if (!u) return Error::NotFound("user not found");
    return std::move(*u);
  });
}

Result<UserRecord> PgStore::find_user_by_name(const std::string& tenant_id,
                                              const std::string& username) {
  return one_statement([&](PgConnection& c) -> Result<UserRecord> {
    COFFER_TRY(PgResult r, c.query(kUserByName, Params().add(tenant_id).add(username)));
    auto u = first_row<UserRecord>(r, read_user);
    if (!u) return Error::NotFound("user not found");
    return std::move(*u);
  });
}

Result<std::vector<UserRecord>> PgStore::list_users(const std::string& tenant_id,
                                                    const std::string& after_username, int limit) {
  if (limit <= 0) return std::vector<UserRecord>{};
  return one_statement([&](PgConnection& c) -> Result<std::vector<UserRecord>> {
    COFFER_TRY(PgResult r,
               c.query(kListUsers, Params().add(tenant_id).add(after_username).add(limit)));
    return all_rows<UserRecord>(r, read_user);
  });
}

Result<UserRecord> PgStore::update_user(const std::string& tenant_id, const std::string& id,
                                        const UserPatch& patch) {
  // Only a demotion or a disabling can take away the last admin; those serialise on the tenant
  // row with every other such change in the tenant, so that two of them cannot each count on
  // the other admin remaining.
  const bool may_remove_admin =
      (patch.role && *patch.role != TenantRole::kAdmin) || (patch.disabled && *patch.disabled);
  return transact([&](PgConnection& c) -> Result<UserRecord> {
    if (may_remove_admin) {
      COFFER_TRY(auto tenant, lock_tenant(c, tenant_id));
      if (!tenant) return Error::NotFound("user not found");
    }
    COFFER_TRY(auto found, user_by_id(c, kLockUser, tenant_id, id));
    if (!found) return Error::NotFound("user not found");
    const UserRecord u = patched(*found, patch);
    if (is_enabled_admin(*found) && !is_enabled_admin(u)) {
      COFFER_TRY(bool other, has_other_enabled_admin(c, tenant_id, id));
      if (!other) return last_admin_conflict();
    }
    COFFER_TRY_VOID(c.query(kUpdateUser, Params()
                                             .add(tenant_id)
                                             .add(id)
                                             .add(access::to_string(u.role))
                                             .add(u.disabled)
                                             .add(u.password_hash)));
    return u;
  });
}

Result<void> PgStore::delete_user(const std::string& tenant_id, const std::string& id,
                                  const std::string& new_owner_id) {
  return transact([&](PgConnection& c) -> Result<void> {
    COFFER_TRY(auto tenant, lock_tenant(c, tenant_id));
    if (!tenant) return Error::NotFound("user not found");
    COFFER_TRY(auto user, user_by_id(c, kLockUser, tenant_id, id));
    if (!user) return Error::NotFound("user not found");
    if (new_owner_id == id) return Error::Conflict("a user cannot pass their files to themself");
    COFFER_TRY(auto new_owner, user_by_id(c, kUserById, tenant_id, new_owner_id));
    if (!new_owner) return Error::NotFound("new owner not found");
    if (is_enabled_admin(*user)) {
      COFFER_TRY(bool other, has_other_enabled_admin(c, tenant_id, id));
      if (!other) return last_admin_conflict();
    }
    COFFER_TRY_VOID(c.query(kPassFilesOn, Params().add(tenant_id).add(id).add(new_owner_id)));
    COFFER_TRY_VOID(c.query(kDeleteGrantsHeldBy, Params().add(tenant_id).add(id)));
    COFFER_TRY_VOID(c.query(kDeleteUser, Params().add(tenant_id).add(id)));
    return Ok();
  });
}

// --- files ---

Result<FileView> PgStore::get_file(const std::string& tenant_id, const std::string& id,
                                   const std::string& user_id) {
  return one_statement([&](PgConnection& c) -> Result<FileView> {
    COFFER_TRY(auto v, view_where(c, kViewById, tenant_id, user_id, id));
    if (!v) return Error::NotFound("file not found");
    return std::move(*v);
  });
}

Result<FileView> PgStore::find_file_by_path(const std::string& tenant_id, const std::string& path,
                                            const std::string& user_id) {
  return one_statement([&](PgConnection& c) -> Result<FileView> {
    COFFER_TRY(auto v, view_where(c, kViewByPath, tenant_id, user_id, path));
    if (!v) return Error::NotFound("file not found");
    return std::move(*v);
  });
}

Result<std::vector<FileView>> PgStore::scan_files(const ListFilter& filter,
                                                  const std::string& lower, bool lower_inclusive,
                                                  const std::string& upper, int limit) {
  if (limit <= 0) return std::vector<FileView>{};
  const bool has_upper = !upper.empty();
  return one_statement([&](PgConnection& c) -> Result<std::vector<FileView>> {
    Params params;
    params.add(filter.tenant_id).add(filter.user_id).add(lower).add(limit);
    if (has_upper) params.add(upper);
    COFFER_TRY(PgResult r,
               c.query(scan_files_sql(filter.all_files, lower_inclusive, has_upper), params));
    return all_rows<FileView>(r, read_file_view);
  });
}

Result<CommitResult> PgStore::commit_file(const CommitRequest& r) {
  return transact([&](PgConnection& c) -> Result<CommitResult> {
    // First the tenant row: commits in one tenant run one at a time from here on, so the quota
    // check, the usage update, the version and the path decision below see every earlier
    // commit, whichever node made it.
    COFFER_TRY(auto tenant, lock_tenant(c, r.tenant_id));
    if (!tenant) return Error::NotFound("tenant not found");
    if (!r.intent_id.empty()) {
      // A claimed intent's object may already be deleted by a collector: committing it would
      // make a file without bytes.
      COFFER_TRY(PgResult lease,
                 c.query(kLockIntentLease, Params().add(r.intent_id).add(r.tenant_id)));
      if (lease.rows() == 0 || lease.integer(0, 0) != 0) {
        return Error::NotFound("upload not found or expired");
      }
    }
    COFFER_TRY(auto existing, view_where(c, kLockViewByPath, r.tenant_id, r.user_id, r.path));
    COFFER_TRY(CommitPlan plan, plan_commit(r, *tenant, existing));
    const FileRecord& f = plan.result.file;
    if (plan.result.created) {
      auto inserted = c.query(kInsertFile, Params()
                                               .add(f.id)
                                               .add(f.tenant_id)
                                               .add(f.path)
                                               .add(f.size)
                                               .add(f.content_type)
                                               .add(f.sha256)
                                               .add(f.object_key)
                                               .add(f.version)
                                               .add(f.owner_id)
                                               .add(secs(f.created_at))
                                               .add(secs(f.updated_at)));
      if (!inserted) return conflict_as(std::move(inserted).error(), "file already exists");
    } else {
      COFFER_TRY_VOID(c.query(kReplaceFile, Params()
                                                .add(f.id)
                                                .add(f.size)
                                                .add(f.content_type)
                                                .add(f.sha256)
                                                .add(f.object_key)
                                                .add(f.version)
                                                .add(secs(f.updated_at))));
      COFFER_TRY_VOID(insert_deletion(c, existing->file.object_key, r.replaced_not_before));
    }
    COFFER_TRY_VOID(add_usage(c, r.tenant_id, plan.bytes_delta, plan.files_delta));
    if (!r.intent_id.empty()) {
      COFFER_TRY_VOID(c.query(kDeleteIntent, Params().add(r.intent_id)));
    }
    return std::move(plan.result);
  });
}

Result<FileRecord> PgStore::rename_file(const std::string& tenant_id, const std::string& id,
                                        const std::string& user_id, const std::string& new_path,
                                        const std::optional<std::string>& if_match,
                                        const FileCheck& check, SystemTime now) {
  return transact([&](PgConnection& c) -> Result<FileRecord> {
    // Paths of a tenant change only under its row lock (see commit_file).
    COFFER_TRY(auto tenant, lock_tenant(c, tenant_id));
    if (!tenant) return Error::NotFound("file not found");
    COFFER_TRY(auto view, view_where(c, kLockViewById, tenant_id, user_id, id));
    if (!view) return Error::NotFound("file not found");
    COFFER_TRY_VOID(check_existing(*view, check, if_match));
    FileRecord f = std::move(view->file);
    if (f.path == new_path) return f;
    auto updated = c.query(kRenameFile, Params().add(id).add(new_path).add(secs(now)));
    if (!updated) return conflict_as(std::move(updated).error(), "path already exists");
    f.path = new_path;
    f.updated_at = now;
    return f;
  });
}

Result<FileRecord> PgStore::delete_file(const std::string& tenant_id, const std::string& id,
                                        const std::string& user_id,
                                        const std::optional<std::string>& if_match,
                                        const FileCheck& check, SystemTime object_not_before) {
  return transact([&](PgConnection& c) -> Result<FileRecord> {
    // The tenant row before the file row, as in commit_file (the usage changes too).
    COFFER_TRY(auto tenant, lock_tenant(c, tenant_id));
    if (!tenant) return Error::NotFound("file not found");
    COFFER_TRY(auto view, view_where(c, kLockViewById, tenant_id, user_id, id));
    if (!view) return Error::NotFound("file not found");
    COFFER_TRY_VOID(check_existing(*view, check, if_match));
    const FileRecord& f = view->file;
    COFFER_TRY_VOID(c.query(kDeleteFile, Params().add(id)));
    COFFER_TRY_VOID(insert_deletion(c, f.object_key, object_not_before));
    COFFER_TRY_VOID(add_usage(c, tenant_id, -f.size, -1));
    return f;
  });
}

// --- grants ---

Result<std::vector<GrantRecord>> PgStore::grants_for_file(const std::string& tenant_id,
                                                          const std::string& file_id) {
  return one_statement([&](PgConnection& c) -> Result<std::vector<GrantRecord>> {
    COFFER_TRY(PgResult r, c.query(kGrantsForFile, Params().add(tenant_id).add(file_id)));
    return all_rows<GrantRecord>(r, read_grant);
  });
}

Result<std::vector<GrantRecord>> PgStore::grants_for_user(const std::string& tenant_id,
                                                          const std::string& user_id) {
  return one_statement([&](PgConnection& c) -> Result<std::vector<GrantRecord>> {
    COFFER_TRY(PgResult r, c.query(kGrantsForUser, Params().add(tenant_id).add(user_id)));
    return all_rows<GrantRecord>(r, read_grant);
  });
}

Result<GrantRecord> PgStore::put_grant(const GrantRecord& grant, const FileCheck& check) {
  if (grant.role == FileRole::kNone) {
    return Error::Internal("put_grant with role none: use remove_grant");
  }
  return transact([&](PgConnection& c) -> Result<GrantRecord> {
    COFFER_TRY(auto view,
               view_where(c, kShareViewById, grant.tenant_id, grant.granted_by, grant.file_id));
    if (!view) return Error::NotFound("file not found");
    if (check) COFFER_TRY_VOID(check(*view));
    GrantRecord g = grant;
    if (g.principal == Principal::kTenant) {
      g.user_id.clear();
    } else {
      COFFER_TRY(PgResult user, c.query(kKeepUser, Params().add(g.tenant_id).add(g.user_id)));
      if (user.rows() == 0) return Error::NotFound("user not found");
    }
    COFFER_TRY_VOID(c.query(kUpsertGrant, Params()
                                              .add(g.file_id)
                                              .add(g.tenant_id)
                                              .add(principal_name(g.principal))
                                              .add(g.user_id)
                                              .add(access::to_string(g.role))
                                              .add(g.granted_by)
                                              .add(secs(g.granted_at))));
    return g;
  });
}

Result<void> PgStore::remove_grant(const std::string& tenant_id, const std::string& file_id,
                                   Principal principal, const std::string& user_id,
                                   const std::string& acting_user_id, const FileCheck& check) {
  return transact([&](PgConnection& c) -> Result<void> {
    COFFER_TRY(auto view, view_where(c, kShareViewById, tenant_id, acting_user_id, file_id));
    if (!view) return Error::NotFound("file not found");
    if (check) COFFER_TRY_VOID(check(*view));
    COFFER_TRY_VOID(
        c.query(kDeleteGrant, Params()
                                  .add(file_id)
                                  .add(principal_name(principal))
                                  .add(principal == Principal::kTenant ? std::string() : user_id)));
    return Ok();
  });
}

// --- upload intents ---

Result<void> PgStore::create_intent(const UploadIntent& i) {
  return one_statement([&](PgConnection& c) -> Result<void> {
    auto inserted =
        c.query(kInsertIntent, Params()
                                   .add(i.id)
                                   .add(i.tenant_id)
                                   .add(i.object_key)
                                   .add(i.kind == IntentKind::kPresigned ? "presigned" : "stream")
                                   .add(secs(i.created_at))
                                   .add(secs(i.expires_at))
                                   .add(i.user_id)
                                   .add(i.path)
                                   .add(i.size)
                                   .add(i.content_type)
                                   .add(i.sha256)
                                   .add(i.overwrite)
                                   .add(i.multipart_id)
                                   .add(i.part_size));
    if (!inserted) return conflict_as(std::move(inserted).error(), "upload already exists");
    return Ok();
  });
}

Result<UploadIntent> PgStore::get_intent(const std::string& tenant_id, const std::string& id) {
  return one_statement([&](PgConnection& c) -> Result<UploadIntent> {
    COFFER_TRY(PgResult r, c.query(kIntentById, Params().add(tenant_id).add(id)));
    auto i = first_row<UploadIntent>(r, read_intent);
    if (!i) return Error::NotFound("upload not found");
    return std::move(*i);
  });
}

Result<void> PgStore::delete_intent(const std::string& id) {
  return one_statement([&](PgConnection& c) -> Result<void> {
    COFFER_TRY(PgResult r, c.query(kDeleteIntent, Params().add(id)));
    if (r.affected() == 0) return Error::NotFound("upload not found");
    return Ok();
  });
}

Result<std::vector<UploadIntent>> PgStore::claim_expired_intents(SystemTime now,
                                                                 SystemTime lease_until,
                                                                 int limit) {
  if (limit <= 0) return std::vector<UploadIntent>{};
  return one_statement([&](PgConnection& c) -> Result<std::vector<UploadIntent>> {
    COFFER_TRY(PgResult r,
               c.query(kClaimIntents, Params().add(secs(now)).add(secs(lease_until)).add(limit)));
    auto claimed = all_rows<UploadIntent>(r, read_intent);
    // RETURNING has no order; the collector works oldest first.
    std::sort(claimed.begin(), claimed.end(), [](const UploadIntent& a, const UploadIntent& b) {
      return std::tie(a.expires_at, a.id) < std::tie(b.expires_at, b.id);
    });
    return claimed;
  });
}

// --- deletion queue ---

Result<void> PgStore::enqueue_deletion(const std::string& object_key, SystemTime not_before) {
  return one_statement([&](PgConnection& c) { return insert_deletion(c, object_key, not_before); });
}

Result<std::vector<Deletion>> PgStore::claim_deletions(SystemTime now, SystemTime lease_until,
                                                       int limit) {
  if (limit <= 0) return std::vector<Deletion>{};
  return one_statement([&](PgConnection& c) -> Result<std::vector<Deletion>> {
    COFFER_TRY(PgResult r,
               c.query(kClaimDeletions, Params().add(secs(now)).add(secs(lease_until)).add(limit)));
    auto claimed = all_rows<Deletion>(r, [](const PgResult& res, int row) {
      return Deletion{res.integer(row, 0), res.text(row, 1), at(res.integer(row, 2))};
    });
    std::sort(claimed.begin(), claimed.end(), [](const Deletion& a, const Deletion& b) {
      return std::tie(a.not_before, a.id) < std::tie(b.not_before, b.id);
    });
    return claimed;
  });
}

Result<void> PgStore::complete_deletions(const std::vector<std::int64_t>& ids) {
  if (ids.empty()) return Ok();
  return one_statement([&](PgConnection& c) -> Result<void> {
    COFFER_TRY_VOID(c.query(kCompleteDeletions, Params().add(integer_array(ids))));
    return Ok();
  });
}

Result<std::vector<std::string>> PgStore::referenced_keys(const std::vector<std::string>& keys) {
  if (keys.empty()) return std::vector<std::string>{};
  return one_statement([&](PgConnection& c) -> Result<std::vector<std::string>> {
    COFFER_TRY(PgResult r, c.query(kReferencedKeys, Params().add(text_array(keys))));
    std::vector<std::string> referenced;
    for (int row = 0; row < r.rows(); ++row) referenced.push_back(r.text(row, 0));
    return referenced;
  });
}

}  // namespace coffer::meta::postgres
