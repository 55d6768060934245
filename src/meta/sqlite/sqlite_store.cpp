#include "meta/sqlite/sqlite_store.h"

#include <algorithm>
#include <filesystem>
#include <system_error>
#include <utility>

#include "meta/sqlite/sqlite_migrations.h"
#include "meta/store_rules.h"

namespace coffer::meta::sqlite {
namespace {

// How long a caller waits for a pooled connection before the store reports itself unavailable.
constexpr std::chrono::seconds kPoolWait{30};

std::int64_t secs(SystemTime t) { return to_unix_seconds(t); }
SystemTime at(std::int64_t s) { return from_unix_seconds(s); }

// --- row mapping: each SELECT below lists its columns in the order these readers expect ---

constexpr const char* kTenantColumns =
    "id, slug, name, quota_bytes, quota_files, used_bytes, used_files, created_at";

TenantRecord read_tenant(const Statement& s) {
  TenantRecord t;
  t.id = s.text(0);
  t.slug = s.text(1);
  t.name = s.text(2);
  t.quota_bytes = s.optional_integer(3);
  t.quota_files = s.optional_integer(4);
  t.used_bytes = s.integer(5);
  t.used_files = s.integer(6);
  t.created_at = at(s.integer(7));
  return t;
}

constexpr const char* kUserColumns =
    "id, tenant_id, username, role, password_hash, disabled, created_at";

UserRecord read_user(const Statement& s) {
  UserRecord u;
  u.id = s.text(0);
  u.tenant_id = s.text(1);
  u.username = s.text(2);
  u.role = access::parse_tenant_role(s.text(3)).value_or(TenantRole::kViewer);
  u.password_hash = s.text(4);
  u.disabled = s.integer(5) != 0;
  u.created_at = at(s.integer(6));
  return u;
}

// A file with the grants of user ?2 and of the tenant, in one query (the hottest read).
constexpr const char* kFileViewSelect =
    "SELECT f.id, f.tenant_id, f.path, f.size, f.content_type, f.sha256, f.object_key, "
    "f.version, f.owner_id, f.created_at, f.updated_at, ug.role, tg.role "
    "FROM files AS f "
    "LEFT JOIN grants AS ug "
    "ON ug.file_id = f.id AND ug.principal = 'user' AND ug.user_id = ?2 "
    "LEFT JOIN grants AS tg "
    "ON tg.file_id = f.id AND tg.principal = 'tenant' AND tg.user_id = '' ";

FileRole read_role(const Statement& s, int column) {
  if (s.is_null(column)) return FileRole::kNone;
  return access::parse_file_role(s.text(column)).value_or(FileRole::kNone);
}

FileView read_file_view(const Statement& s) {
  FileView v;
  FileRecord& f = v.file;
  f.id = s.text(0);
  f.tenant_id = s.text(1);
  f.path = s.text(2);
  f.size = s.integer(3);
  f.content_type = s.text(4);
  f.sha256 = s.text(5);
  f.object_key = s.text(6);
  f.version = s.integer(7);
  f.owner_id = s.text(8);
  f.created_at = at(s.integer(9));
  f.updated_at = at(s.integer(10));
  v.user_grant = read_role(s, 11);
  v.tenant_grant = read_role(s, 12);
  return v;
}

constexpr const char* kGrantColumns =
    "file_id, tenant_id, principal, user_id, role, granted_by, granted_at";

GrantRecord read_grant(const Statement& s) {
  GrantRecord g;
  g.file_id = s.text(0);
  g.tenant_id = s.text(1);
  g.principal = s.text(2) == "tenant" ? Principal::kTenant : Principal::kUser;
  g.user_id = s.text(3);
  g.role = access::parse_file_role(s.text(4)).value_or(FileRole::kViewer);
  g.granted_by = s.text(5);
  g.granted_at = at(s.integer(6));
  return g;
}

constexpr const char* kIntentColumns =
    "id, tenant_id, object_key, kind, created_at, expires_at, user_id, path, size, "
    "content_type, sha256, overwrite, multipart_id, part_size";

UploadIntent read_intent(const Statement& s) {
  UploadIntent i;
  i.id = s.text(0);
  i.tenant_id = s.text(1);
  i.object_key = s.text(2);
  i.kind = s.text(3) == "presigned" ? IntentKind::kPresigned : IntentKind::kStream;
  i.created_at = at(s.integer(4));
  i.expires_at = at(s.integer(5));
  i.user_id = s.text(6);
  i.path = s.text(7);
  i.size = s.integer(8);
  i.content_type = s.text(9);
  i.sha256 = s.text(10);
  i.overwrite = s.integer(11) != 0;
  i.multipart_id = s.text(12);
  i.part_size = s.integer(13);
  return i;
}

// --- lookups shared by reads and by the checks inside write transactions ---

template <class T, class Reader>
Result<std::optional<T>> query_one(Statement& s, Reader reader) {
  COFFER_TRY(bool row, s.step());
  if (!row) return std::optional<T>();
  return std::optional<T>(reader(s));
}

template <class T, class Reader>
Result<std::vector<T>> query_all(Statement& s, Reader reader) {
  std::vector<T> out;
  while (true) {
    COFFER_TRY(bool row, s.step());
    if (!row) return out;
    out.push_back(reader(s));
  }
}

Result<std::optional<TenantRecord>> tenant_by_id(Connection& c, const std::string& id) {
  COFFER_TRY(Statement s,
             c.prepare(std::string("SELECT ") + kTenantColumns + " FROM tenants WHERE id = ?1"));
  s.bind(1, id);
  return query_one<TenantRecord>(s, read_tenant);
}

Result<std::optional<UserRecord>> user_by_id(Connection& c, const std::string& tenant_id,
                                             const std::string& id) {
  COFFER_TRY(Statement s, c.prepare(std::string("SELECT ") + kUserColumns +
                                    " FROM users WHERE id = ?2 AND tenant_id = ?1"));
  s.bind(1, tenant_id).bind(2, id);
  return query_one<UserRecord>(s, read_user);
}

Result<std::optional<FileView>> view_by_id(Connection& c, const std::string& tenant_id,
                                           const std::string& id, const std::string& user_id) {
  COFFER_TRY(Statement s,
             c.prepare(std::string(kFileViewSelect) + "WHERE f.id = ?3 AND f.tenant_id = ?1"));
  s.bind(1, tenant_id).bind(2, user_id).bind(3, id);
  return query_one<FileView>(s, read_file_view);
}

Result<std::optional<FileView>> view_by_path(Connection& c, const std::string& tenant_id,
                                             const std::string& path, const std::string& user_id) {
  COFFER_TRY(Statement s,
             c.prepare(std::string(kFileViewSelect) + "WHERE f.tenant_id = ?1 AND f.path = ?3"));
  s.bind(1, tenant_id).bind(2, user_id).bind(3, path);
  return query_one<FileView>(s, read_file_view);
}

// Whether the tenant has an enabled admin other than `user_id`.
Result<bool> has_other_enabled_admin(Connection& c, const std::string& tenant_id,
                                     const std::string& user_id) {
  COFFER_TRY(Statement s,
             c.prepare("SELECT 1 FROM users WHERE tenant_id = ?1 AND id <> ?2 AND role = 'admin' "
                       "AND disabled = 0 LIMIT 1"));
  s.bind(1, tenant_id).bind(2, user_id);
  return s.step();
}

Result<void> insert_user(Connection& c, const UserRecord& u) {
  COFFER_TRY(
      Statement s,
      c.prepare(
          "INSERT INTO users (id, tenant_id, username, role, password_hash, disabled, created_at) "
          "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"));
  s.bind(1, u.id)
      .bind(2, u.tenant_id)
      .bind(3, u.username)
      .bind(4, access::to_string(u.role))
      .bind(5, u.password_hash)
      .bind(6, u.disabled)
      .bind(7, secs(u.created_at));
  auto r = s.run();
  if (!r) return conflict_as(std::move(r).error(), "username is taken");
  return Ok();
}

Result<void> insert_deletion(Connection& c, const std::string& object_key, SystemTime not_before) {
  COFFER_TRY(
      Statement s,
      c.prepare("INSERT INTO deletions (object_key, not_before, lease_until) VALUES (?1, ?2, 0)"));
  s.bind(1, object_key).bind(2, secs(not_before));
  return s.run();
}

Result<void> add_usage(Connection& c, const std::string& tenant_id, std::int64_t bytes,
                       std::int64_t files) {
  COFFER_TRY(
      Statement s,
      c.prepare("UPDATE tenants SET used_bytes = used_bytes + ?2, used_files = used_files + ?3 "
                "WHERE id = ?1"));
  s.bind(1, tenant_id).bind(2, bytes).bind(3, files);
  return s.run();
}

Result<void> run_sql(Connection& c, const char* sql) {
  COFFER_TRY(Statement s, c.prepare(sql));
  return s.run();
}

}  // namespace

// --- connection pool ---

class SqliteStore::Lease {
 public:
  Lease(SqliteStore* store, std::unique_ptr<Connection> conn)
      : store_(store), conn_(std::move(conn)) {}
  Lease(Lease&& other) noexcept = default;
  Lease& operator=(Lease&&) = delete;
  ~Lease() {
    if (conn_) store_->release(std::move(conn_));
  }
  Connection& conn() { return *conn_; }

 private:
  SqliteStore* store_;
  std::unique_ptr<Connection> conn_;
};

SqliteStore::SqliteStore(std::string path, SqliteOptions options)
    : path_(std::move(path)), options_(options) {}

SqliteStore::~SqliteStore() = default;

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const std::string& path,
                                                       SqliteOptions options) {
  options.pool_size = std::max(options.pool_size, 1);
  std::unique_ptr<SqliteStore> store(new SqliteStore(path, options));
  // The first connection may create the file; later ones must find it, so that a database file
  // removed under a running server reads as unavailable rather than as a new, empty database.
  COFFER_TRY(auto conn, Connection::open(path, /*create=*/true, options.busy_timeout));
  {
    std::lock_guard lock(store->pool_mutex_);
    store->idle_.push_back(std::move(conn));
    store->open_connections_ = 1;
  }
  return store;
}

Result<SqliteStore::Lease> SqliteStore::acquire() {
  std::unique_lock lock(pool_mutex_);
  bool ready = pool_cv_.wait_for(
      lock, kPoolWait, [&] { return !idle_.empty() || open_connections_ < options_.pool_size; });
  if (!ready) return Error::StorageUnavailable("sqlite: no pooled connection became free");
  if (!idle_.empty()) {
    std::unique_ptr<Connection> conn = std::move(idle_.back());
    idle_.pop_back();
    return Lease(this, std::move(conn));
  }
  ++open_connections_;
  lock.unlock();
  auto conn = Connection::open(path_, /*create=*/false, options_.busy_timeout);
  if (!conn) {
    lock.lock();
    --open_connections_;
    pool_cv_.notify_one();
    return std::move(conn).error();
  }
  return Lease(this, std::move(*conn));
}

void SqliteStore::release(std::unique_ptr<Connection> conn) {
  // A body that failed or threw may leave its transaction open; a connection that cannot roll
  // back is closed rather than handed to the next caller mid-transaction.
  if (!conn->autocommit()) (void)conn->exec("ROLLBACK");
  bool reusable = conn->autocommit();
  {
    std::lock_guard lock(pool_mutex_);
    if (reusable) {
      idle_.push_back(std::move(conn));
    } else {
      --open_connections_;
    }
  }
  pool_cv_.notify_one();
  conn.reset();
}

template <class Body>
auto SqliteStore::write(Body&& body) -> decltype(body(std::declval<Connection&>())) {
  std::lock_guard lock(write_mutex_);
  COFFER_TRY(Lease lease, acquire());
  Connection& c = lease.conn();
  COFFER_TRY_VOID(run_sql(c, "BEGIN IMMEDIATE"));
  auto result = body(c);
  if (result) {
    auto committed = run_sql(c, "COMMIT");
    if (!committed) result = std::move(committed).error();
  }
  if (!result && !c.autocommit()) (void)run_sql(c, "ROLLBACK");
  return result;
}

template <class Body>
auto SqliteStore::read(Body&& body) -> decltype(body(std::declval<Connection&>())) {
  COFFER_TRY(Lease lease, acquire());
  return body(lease.conn());
}

std::string SqliteStore::scan_files_sql(bool all_files, bool lower_inclusive, bool has_upper) {
  std::string sql = kFileViewSelect;
  sql += "WHERE f.tenant_id = ?1 AND f.path ";
  sql += lower_inclusive ? ">= ?3" : "> ?3";
  if (has_upper) sql += " AND f.path < ?4";
  if (!all_files) {
    sql += " AND (f.owner_id = ?2 OR ug.role IS NOT NULL OR tg.role IS NOT NULL)";
  }
  sql += " ORDER BY f.path LIMIT ?5";
  return sql;
}

// --- schema and health ---

Result<void> SqliteStore::migrate() {
  std::lock_guard lock(write_mutex_);
  COFFER_TRY(Lease lease, acquire());
  return apply_migrations(lease.conn(), secs(std::chrono::system_clock::now()));
}

Result<void> SqliteStore::ping() {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path_, ec)) {
    return Error::StorageUnavailable("sqlite: database file " + path_ + " is missing");
  }
  return read([&](Connection& c) -> Result<void> {
    COFFER_TRY(Statement s, c.prepare("SELECT count(*) FROM schema_migrations"));
    return s.run();
  });
}

// --- tenants ---

Result<void> SqliteStore::create_tenant(const TenantRecord& tenant, const UserRecord& admin) {
  return write([&](Connection& c) -> Result<void> {
    COFFER_TRY(Statement s, c.prepare("INSERT INTO tenants (id, slug, name, quota_bytes, "
                                      "quota_files, used_bytes, used_files, "
                                      "created_at) VALUES (?1, ?2, ?3, ?4, ?5, 0, 0, ?6)"));
    s.bind(1, tenant.id)
        .bind(2, tenant.slug)
        .bind(3, tenant.name)
        .bind(4, tenant.quota_bytes)
        .bind(5, tenant.quota_files)
        .bind(6, secs(tenant.created_at));
    auto inserted = s.run();
    if (!inserted) return conflict_as(std::move(inserted).error(), "tenant slug is taken");
    UserRecord user = admin;
    user.tenant_id = tenant.id;
    return insert_user(c, user);
  });
}

Result<TenantRecord> SqliteStore::get_tenant(const std::string& id) {
  return read([&](Connection& c) -> Result<TenantRecord> {
    COFFER_TRY(auto t, tenant_by_id(c, id));
    if (!t) return Error::NotFound("tenant not found");
    return std::move(*t);
  });
}

Result<TenantRecord> SqliteStore::find_tenant_by_slug(const std::string& slug) {
  return read([&](Connection& c) -> Result<TenantRecord> {
    COFFER_TRY(Statement s, c.prepare(std::string("SELECT ") + kTenantColumns +
                                      " FROM tenants WHERE slug = ?1"));
    s.bind(1, slug);
    COFFER_TRY(auto t, query_one<TenantRecord>(s, read_tenant));
    if (!t) return Error::NotFound("tenant not found");
    return std::move(*t);
  });
}

Result<std::vector<TenantRecord>> SqliteStore::list_tenants(const std::string& after_slug,
                                                            int limit) {
  if (limit <= 0) return std::vector<TenantRecord>{};
  return read([&](Connection& c) -> Result<std::vector<TenantRecord>> {
    COFFER_TRY(Statement s, c.prepare(std::string("SELECT ") + kTenantColumns +
                                      " FROM tenants WHERE slug > ?1 ORDER BY slug LIMIT ?2"));
    s.bind(1, after_slug).bind(2, limit);
    return query_all<TenantRecord>(s, read_tenant);
  });
}

Result<TenantRecord> SqliteStore::update_tenant(const std::string& id, const TenantPatch& patch) {
  return write([&](Connection& c) -> Result<TenantRecord> {
    COFFER_TRY(auto found, tenant_by_id(c, id));
    if (!found) return Error::NotFound("tenant not found");
    TenantRecord t = std::move(*found);
    if (patch.name) t.name = *patch.name;
    if (patch.quota_bytes) t.quota_bytes = *patch.quota_bytes;
    if (patch.quota_files) t.quota_files = *patch.quota_files;
    COFFER_TRY(
        Statement s,
        c.prepare(
            "UPDATE tenants SET name = ?2, quota_bytes = ?3, quota_files = ?4 WHERE id = ?1"));
    s.bind(1, id).bind(2, t.name).bind(3, t.quota_bytes).bind(4, t.quota_files);
    COFFER_TRY_VOID(s.run());
    return t;
  });
}

Result<void> SqliteStore::delete_tenant(const std::string& id, SystemTime now) {
  return write([&](Connection& c) -> Result<void> {
    COFFER_TRY(auto found, tenant_by_id(c, id));
    if (!found) return Error::NotFound("tenant not found");
    // Queue first: once the rows are gone nothing else remembers these keys.
    for (const char* sql : {
             "INSERT INTO deletions (object_key, not_before, lease_until) "
             "SELECT object_key, ?2, 0 FROM files WHERE tenant_id = ?1",
             "INSERT INTO deletions (object_key, not_before, lease_until) "
             "SELECT object_key, ?2, 0 FROM upload_intents WHERE tenant_id = ?1",
         }) {
      COFFER_TRY(Statement s, c.prepare(sql));
      s.bind(1, id).bind(2, secs(now));
      COFFER_TRY_VOID(s.run());
    }
    for (const char* sql : {
             "DELETE FROM grants WHERE tenant_id = ?1",
             "DELETE FROM files WHERE tenant_id = ?1",
             "DELETE FROM upload_intents WHERE tenant_id = ?1",
             "DELETE FROM users WHERE tenant_id = ?1",
             "DELETE FROM tenants WHERE id = ?1",
         }) {
      COFFER_TRY(Statement s, c.prepare(sql));
      s.bind(1, id);
      COFFER_TRY_VOID(s.run());
    }
    return Ok();
  });
}

// --- users ---

Result<void> SqliteStore::create_user(const UserRecord& user) {
  return write([&](Connection& c) -> Result<void> {
    COFFER_TRY(auto tenant, tenant_by_id(c, user.tenant_id));
    if (!tenant) return Error::NotFound("tenant not found");
    return insert_user(c, user);
  });
}

Result<UserRecord> SqliteStore::get_user(const std::string& tenant_id, const std::string& id) {
  return read([&](Connection& c) -> Result<UserRecord> {
    COFFER_TRY(auto u, user_by_id(c, tenant_id, id));
    if (!u) return Error::NotFound("user not found");
    return std::move(*u);
  });
}

Result<UserRecord> SqliteStore::find_user_by_name(const std::string& tenant_id,
                                                  const std::string& username) {
  return read([&](Connection& c) -> Result<UserRecord> {
    COFFER_TRY(Statement s, c.prepare(std::string("SELECT ") + kUserColumns +
                                      " FROM users WHERE tenant_id = ?1 AND username = ?2"));
    s.bind(1, tenant_id).bind(2, username);
    COFFER_TRY(auto u, query_one<UserRecord>(s, read_user));
    if (!u) return Error::NotFound("user not found");
    return std::move(*u);
  });
}

Result<std::vector<UserRecord>> SqliteStore::list_users(const std::string& tenant_id,
                                                        const std::string& after_username,
                                                        int limit) {
  if (limit <= 0) return std::vector<UserRecord>{};
  return read([&](Connection& c) -> Result<std::vector<UserRecord>> {
    COFFER_TRY(Statement s, c.prepare(std::string("SELECT ") + kUserColumns +
                                      " FROM users WHERE tenant_id = ?1 AND username > ?2 "
                                      "ORDER BY username LIMIT ?3"));
    s.bind(1, tenant_id).bind(2, after_username).bind(3, limit);
    return query_all<UserRecord>(s, read_user);
  });
}

Result<UserRecord> SqliteStore::update_user(const std::string& tenant_id, const std::string& id,
                                            const UserPatch& patch) {
  return write([&](Connection& c) -> Result<UserRecord> {
    COFFER_TRY(auto found, user_by_id(c, tenant_id, id));
    if (!found) return Error::NotFound("user not found");
    const UserRecord u = patched(*found, patch);
    if (is_enabled_admin(*found) && !is_enabled_admin(u)) {
      COFFER_TRY(bool other, has_other_enabled_admin(c, tenant_id, id));
      if (!other) return last_admin_conflict();
    }
    COFFER_TRY(Statement s,
               c.prepare("UPDATE users SET role = ?3, disabled = ?4, password_hash = ?5 "
                         "WHERE id = ?2 AND tenant_id = ?1"));
    s.bind(1, tenant_id)
        .bind(2, id)
        .bind(3, access::to_string(u.role))
        .bind(4, u.disabled)
        .bind(5, u.password_hash);
    COFFER_TRY_VOID(s.run());
    return u;
  });
}

Result<void> SqliteStore::delete_user(const std::string& tenant_id, const std::string& id,
                                      const std::string& new_owner_id) {
  return write([&](Connection& c) -> Result<void> {
    COFFER_TRY(auto user, user_by_id(c, tenant_id, id));
    if (!user) return Error::NotFound("user not found");
    if (new_owner_id == id) return Error::Conflict("a user cannot pass their files to themself");
    COFFER_TRY(auto new_owner, user_by_id(c, tenant_id, new_owner_id));
    if (!new_owner) return Error::NotFound("new owner not found");
    if (is_enabled_admin(*user)) {
      COFFER_TRY(bool other, has_other_enabled_admin(c, tenant_id, id));
      if (!other) return last_admin_conflict();
    }
    {
      COFFER_TRY(
          Statement s,
          c.prepare("UPDATE files SET owner_id = ?3 WHERE tenant_id = ?1 AND owner_id = ?2"));
      s.bind(1, tenant_id).bind(2, id).bind(3, new_owner_id);
      COFFER_TRY_VOID(s.run());
    }
    for (const char* sql : {
             "DELETE FROM grants WHERE tenant_id = ?1 AND user_id = ?2 AND principal = 'user'",
             "DELETE FROM users WHERE id = ?2 AND tenant_id = ?1",
         }) {
      COFFER_TRY(Statement s, c.prepare(sql));
      s.bind(1, tenant_id).bind(2, id);
      COFFER_TRY_VOID(s.run());
    }
    return Ok();
  });
}

// --- files ---

Result<FileView> SqliteStore::get_file(const std::string& tenant_id, const std::string& id,
                                       const std::string& user_id) {
  return read([&](Connection& c) -> Result<FileView> {
    COFFER_TRY(auto v, view_by_id(c, tenant_id, id, user_id));
    if (!v) return Error::NotFound("file not found");
    return std::move(*v);
  });
}

Result<FileView> SqliteStore::find_file_by_path(const std::string& tenant_id,
                                                const std::string& path,
                                                const std::string& user_id) {
  return read([&](Connection& c) -> Result<FileView> {
    COFFER_TRY(auto v, view_by_path(c, tenant_id, path, user_id));
    if (!v) return Error::NotFound("file not found");
    return std::move(*v);
  });
}

Result<std::vector<FileView>> SqliteStore::scan_files(const ListFilter& filter,
                                                      const std::string& lower,
                                                      bool lower_inclusive,
                                                      const std::string& upper, int limit) {
  if (limit <= 0) return std::vector<FileView>{};
  return read([&](Connection& c) -> Result<std::vector<FileView>> {
    COFFER_TRY(Statement s,
               c.prepare(scan_files_sql(filter.all_files, lower_inclusive, !upper.empty())));
    s.bind(1, filter.tenant_id).bind(2, filter.user_id).bind(3, lower).bind(5, limit);
    if (!upper.empty()) s.bind(4, upper);
    return query_all<FileView>(s, read_file_view);
  });
}

Result<CommitResult> SqliteStore::commit_file(const CommitRequest& r) {
  return write([&](Connection& c) -> Result<CommitResult> {
    if (!r.intent_id.empty()) {
      // A claimed intent's object may already be deleted by a collector: committing it would
      // make a file without bytes.
      COFFER_TRY(
          Statement s,
          c.prepare("SELECT lease_until FROM upload_intents WHERE id = ?1 AND tenant_id = ?2"));
      s.bind(1, r.intent_id).bind(2, r.tenant_id);
      COFFER_TRY(bool row, s.step());
      if (!row || s.integer(0) != 0) return Error::NotFound("upload not found or expired");
    }
    COFFER_TRY(auto tenant, tenant_by_id(c, r.tenant_id));
    if (!tenant) return Error::NotFound("tenant not found");
    COFFER_TRY(auto existing, view_by_path(c, r.tenant_id, r.path, r.user_id));
    COFFER_TRY(CommitPlan plan, plan_commit(r, *tenant, existing));
    const FileRecord& f = plan.result.file;
    if (plan.result.created) {
      COFFER_TRY(
          Statement s,
          c.prepare(
              "INSERT INTO files (id, tenant_id, path, size, content_type, sha256, object_key, "
              "version, owner_id, created_at, updated_at) "
              "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"));
      s.bind(1, f.id)
          .bind(2, f.tenant_id)
          .bind(3, f.path)
          .bind(4, f.size)
          .bind(5, f.content_type)
          .bind(6, f.sha256)
          .bind(7, f.object_key)
          .bind(8, f.version)
          .bind(9, f.owner_id)
          .bind(10, secs(f.created_at))
          .bind(11, secs(f.updated_at));
      auto inserted = s.run();
      if (!inserted) return conflict_as(std::move(inserted).error(), "file already exists");
    } else {
      COFFER_TRY(
          Statement s,
          c.prepare("UPDATE files SET size = ?2, content_type = ?3, sha256 = ?4, object_key = ?5, "
                    "version = ?6, updated_at = ?7 WHERE id = ?1"));
      s.bind(1, f.id)
          .bind(2, f.size)
          .bind(3, f.content_type)
          .bind(4, f.sha256)
          .bind(5, f.object_key)
          .bind(6, f.version)
          .bind(7, secs(f.updated_at));
      COFFER_TRY_VOID(s.run());
      COFFER_TRY_VOID(insert_deletion(c, existing->file.object_key, r.replaced_not_before));
    }
    COFFER_TRY_VOID(add_usage(c, r.tenant_id, plan.bytes_delta, plan.files_delta));
    if (!r.intent_id.empty()) {
      COFFER_TRY(Statement s, c.prepare("DELETE FROM upload_intents WHERE id = ?1"));
      s.bind(1, r.intent_id);
      COFFER_TRY_VOID(s.run());
    }
    return std::move(plan.result);
  });
}

Result<FileRecord> SqliteStore::rename_file(const std::string& tenant_id, const std::string& id,
                                            const std::string& user_id, const std::string& new_path,
                                            const std::optional<std::string>& if_match,
                                            const FileCheck& check, SystemTime now) {
  return write([&](Connection& c) -> Result<FileRecord> {
    COFFER_TRY(auto view, view_by_id(c, tenant_id, id, user_id));
    if (!view) return Error::NotFound("file not found");
    COFFER_TRY_VOID(check_existing(*view, check, if_match));
    FileRecord f = std::move(view->file);
    if (f.path == new_path) return f;
    COFFER_TRY(Statement s, c.prepare("UPDATE files SET path = ?2, updated_at = ?3 WHERE id = ?1"));
    s.bind(1, id).bind(2, new_path).bind(3, secs(now));
    auto updated = s.run();
    if (!updated) return conflict_as(std::move(updated).error(), "path already exists");
    f.path = new_path;
    f.updated_at = now;
    return f;
  });
}

Result<FileRecord> SqliteStore::delete_file(const std::string& tenant_id, const std::string& id,
                                            const std::string& user_id,
                                            const std::optional<std::string>& if_match,
                                            const FileCheck& check, SystemTime object_not_before) {
  return write([&](Connection& c) -> Result<FileRecord> {
    COFFER_TRY(auto view, view_by_id(c, tenant_id, id, user_id));
    if (!view) return Error::NotFound("file not found");
    COFFER_TRY_VOID(check_existing(*view, check, if_match));
    const FileRecord& f = view->file;
    {
      // The file's grants go with it (ON DELETE CASCADE).
      COFFER_TRY(Statement s, c.prepare("DELETE FROM files WHERE id = ?1"));
      s.bind(1, id);
      COFFER_TRY_VOID(s.run());
    }
    COFFER_TRY_VOID(insert_deletion(c, f.object_key, object_not_before));
    COFFER_TRY_VOID(add_usage(c, tenant_id, -f.size, -1));
    return f;
  });
}

// --- grants ---

Result<std::vector<GrantRecord>> SqliteStore::grants_for_file(const std::string& tenant_id,
                                                              const std::string& file_id) {
  return read([&](Connection& c) -> Result<std::vector<GrantRecord>> {
    COFFER_TRY(Statement s, c.prepare(std::string("SELECT ") + kGrantColumns +
                                      " FROM grants WHERE file_id = ?2 AND tenant_id = ?1 "
                                      "ORDER BY principal, user_id"));
    s.bind(1, tenant_id).bind(2, file_id);
    return query_all<GrantRecord>(s, read_grant);
  });
}

Result<std::vector<GrantRecord>> SqliteStore::grants_for_user(const std::string& tenant_id,
                                                              const std::string& user_id) {
  return read([&](Connection& c) -> Result<std::vector<GrantRecord>> {
    COFFER_TRY(Statement s, c.prepare(std::string("SELECT ") + kGrantColumns +
                                      " FROM grants WHERE tenant_id = ?1 AND user_id = ?2 "
                                      "AND principal = 'user' ORDER BY file_id"));
    s.bind(1, tenant_id).bind(2, user_id);
    return query_all<GrantRecord>(s, read_grant);
  });
}

Result<GrantRecord> SqliteStore::put_grant(const GrantRecord& grant, const FileCheck& check) {
  if (grant.role == FileRole::kNone) {
    return Error::Internal("put_grant with role none: use remove_grant");
  }
  return write([&](Connection& c) -> Result<GrantRecord> {
    COFFER_TRY(auto view, view_by_id(c, grant.tenant_id, grant.file_id, grant.granted_by));
    if (!view) return Error::NotFound("file not found");
    if (check) COFFER_TRY_VOID(check(*view));
    GrantRecord g = grant;
    if (g.principal == Principal::kTenant) {
      g.user_id.clear();
    } else {
      COFFER_TRY(auto user, user_by_id(c, g.tenant_id, g.user_id));
      if (!user) return Error::NotFound("user not found");
    }
    COFFER_TRY(
        Statement s,
        c.prepare("INSERT INTO grants (file_id, tenant_id, principal, user_id, role, granted_by, "
                  "granted_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) "
                  "ON CONFLICT (file_id, principal, user_id) DO UPDATE SET "
                  "role = excluded.role, granted_by = excluded.granted_by, "
                  "granted_at = excluded.granted_at"));
    s.bind(1, g.file_id)
        .bind(2, g.tenant_id)
        .bind(3, principal_name(g.principal))
        .bind(4, g.user_id)
        .bind(5, access::to_string(g.role))
        .bind(6, g.granted_by)
        .bind(7, secs(g.granted_at));
    COFFER_TRY_VOID(s.run());
    return g;
  });
}

Result<void> SqliteStore::remove_grant(const std::string& tenant_id, const std::string& file_id,
                                       Principal principal, const std::string& user_id,
                                       const std::string& acting_user_id, const FileCheck& check) {
  return write([&](Connection& c) -> Result<void> {
    COFFER_TRY(auto view, view_by_id(c, tenant_id, file_id, acting_user_id));
    if (!view) return Error::NotFound("file not found");
    if (check) COFFER_TRY_VOID(check(*view));
    COFFER_TRY(
        Statement s,
        c.prepare("DELETE FROM grants WHERE file_id = ?1 AND principal = ?2 AND user_id = ?3"));
    s.bind(1, file_id)
        .bind(2, principal_name(principal))
        .bind(3, principal == Principal::kTenant ? std::string() : user_id);
    return s.run();
  });
}

// --- upload intents ---

Result<void> SqliteStore::create_intent(const UploadIntent& i) {
  return write([&](Connection& c) -> Result<void> {
    COFFER_TRY(
        Statement s,
        c.prepare(
            "INSERT INTO upload_intents (id, tenant_id, object_key, kind, created_at, expires_at, "
            "user_id, path, size, content_type, sha256, overwrite, multipart_id, part_size, "
            "lease_until) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, "
            "0)"));
    s.bind(1, i.id)
        .bind(2, i.tenant_id)
        .bind(3, i.object_key)
        .bind(4, i.kind == IntentKind::kPresigned ? "presigned" : "stream")
        .bind(5, secs(i.created_at))
        .bind(6, secs(i.expires_at))
        .bind(7, i.user_id)
        .bind(8, i.path)
        .bind(9, i.size)
        .bind(10, i.content_type)
        .bind(11, i.sha256)
        .bind(12, i.overwrite)
        .bind(13, i.multipart_id)
        .bind(14, i.part_size);
    auto inserted = s.run();
    if (!inserted) return conflict_as(std::move(inserted).error(), "upload already exists");
    return Ok();
  });
}

Result<UploadIntent> SqliteStore::get_intent(const std::string& tenant_id, const std::string& id) {
  return read([&](Connection& c) -> Result<UploadIntent> {
    COFFER_TRY(Statement s, c.prepare(std::string("SELECT ") + kIntentColumns +
                                      " FROM upload_intents WHERE id = ?2 AND tenant_id = ?1"));
    s.bind(1, tenant_id).bind(2, id);
    COFFER_TRY(auto i, query_one<UploadIntent>(s, read_intent));
    if (!i) return Error::NotFound("upload not found");
    return std::move(*i);
  });
}

Result<void> SqliteStore::delete_intent(const std::string& id) {
  return write([&](Connection& c) -> Result<void> {
    COFFER_TRY(Statement s, c.prepare("DELETE FROM upload_intents WHERE id = ?1"));
    s.bind(1, id);
    COFFER_TRY_VOID(s.run());
    if (c.changes() == 0) return Error::NotFound("upload not found");
    return Ok();
  });
}

Result<std::vector<UploadIntent>> SqliteStore::claim_expired_intents(SystemTime now,
                                                                     SystemTime lease_until,
                                                                     int limit) {
  if (limit <= 0) return std::vector<UploadIntent>{};
  return write([&](Connection& c) -> Result<std::vector<UploadIntent>> {
    std::vector<UploadIntent> claimed;
    {
      COFFER_TRY(Statement s, c.prepare(std::string("SELECT ") + kIntentColumns +
                                        " FROM upload_intents "
                                        "WHERE expires_at <= ?1 AND lease_until <= ?1 "
                                        "ORDER BY expires_at, id LIMIT ?2"));
      s.bind(1, secs(now)).bind(2, limit);
      COFFER_TRY(claimed, query_all<UploadIntent>(s, read_intent));
    }
    for (const UploadIntent& i : claimed) {
      COFFER_TRY(Statement s,
                 c.prepare("UPDATE upload_intents SET lease_until = ?2 WHERE id = ?1"));
      s.bind(1, i.id).bind(2, secs(lease_until));
      COFFER_TRY_VOID(s.run());
    }
    return claimed;
  });
}

// --- deletion queue ---

Result<void> SqliteStore::enqueue_deletion(const std::string& object_key, SystemTime not_before) {
  return write([&](Connection& c) { return insert_deletion(c, object_key, not_before); });
}

Result<std::vector<Deletion>> SqliteStore::claim_deletions(SystemTime now, SystemTime lease_until,
                                                           int limit) {
  if (limit <= 0) return std::vector<Deletion>{};
  return write([&](Connection& c) -> Result<std::vector<Deletion>> {
    std::vector<Deletion> claimed;
    {
      COFFER_TRY(
          Statement s,
          c.prepare(
              "SELECT id, object_key, not_before FROM deletions "
              "WHERE not_before <= ?1 AND lease_until <= ?1 ORDER BY not_before, id LIMIT ?2"));
      s.bind(1, secs(now)).bind(2, limit);
      COFFER_TRY(claimed, query_all<Deletion>(s, [](const Statement& row) {
                   return Deletion{row.integer(0), row.text(1), at(row.integer(2))};
                 }));
    }
    for (const Deletion& d : claimed) {
      COFFER_TRY(Statement s, c.prepare("UPDATE deletions SET lease_until = ?2 WHERE id = ?1"));
      s.bind(1, d.id).bind(2, secs(lease_until));
      COFFER_TRY_VOID(s.run());
    }
    return claimed;
  });
}

Result<void> SqliteStore::complete_deletions(const std::vector<std::int64_t>& ids) {
  if (ids.empty()) return Ok();
  return write([&](Connection& c) -> Result<void> {
    for (std::int64_t id : ids) {
      COFFER_TRY(Statement s, c.prepare("DELETE FROM deletions WHERE id = ?1"));
      s.bind(1, id);
      COFFER_TRY_VOID(s.run());
    }
    return Ok();
  });
}

Result<std::vector<std::string>> SqliteStore::referenced_keys(
    const std::vector<std::string>& keys) {
  if (keys.empty()) return std::vector<std::string>{};
  return read([&](Connection& c) -> Result<std::vector<std::string>> {
    // One snapshot for all keys: a key moving from a file to the queue is seen in one place.
    COFFER_TRY_VOID(run_sql(c, "BEGIN"));
    std::vector<std::string> referenced;
    for (const std::string& key : keys) {
      COFFER_TRY(Statement s,
                 c.prepare("SELECT EXISTS (SELECT 1 FROM files WHERE object_key = ?1) "
                           "OR EXISTS (SELECT 1 FROM upload_intents WHERE object_key = ?1) "
                           "OR EXISTS (SELECT 1 FROM deletions WHERE object_key = ?1)"));
      s.bind(1, key);
      COFFER_TRY(bool row, s.step());
      if (row && s.integer(0) != 0) referenced.push_back(key);
    }
    COFFER_TRY_VOID(run_sql(c, "COMMIT"));
    return referenced;
  });
}

}  // namespace coffer::meta::sqlite
