#include "meta/sqlite/sqlite_db.h"

#include <sqlite3.h>

#include <utility>

namespace coffer::meta::sqlite {

Error sqlite_error(int rc, std::string_view context, std::string_view db_message) {
  std::string detail = "sqlite: " + std::string(context) + ": " + sqlite3_errstr(rc);
  if (!db_message.empty()) detail += " (" + std::string(db_message) + ")";
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_READONLY:
    case SQLITE_PROTOCOL:
    case SQLITE_PERM:
      return Error::StorageUnavailable(std::move(detail));
    default:
      break;
  }
  if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
    return Error{ErrorCode::kConflict, "already exists", std::move(detail)};
  }
  return Error::Internal(std::move(detail));
}

Statement::Statement(Statement&& other) noexcept
    : conn_(other.conn_), stmt_(std::exchange(other.stmt_, nullptr)) {}

Statement::~Statement() {
  if (stmt_ != nullptr) {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
}

Statement& Statement::bind(int index, std::string_view text) {
  sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  return *this;
}

Statement& Statement::bind(int index, std::int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
  return *this;
}

Statement& Statement::bind(int index, std::optional<std::int64_t> value) {
  return value ? bind(index, *value) : bind_null(index);
}

Statement& Statement::bind_null(int index) {
  sqlite3_bind_null(stmt_, index);
  return *this;
}

Result<bool> Statement::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  Error e = sqlite_error(rc, sqlite3_sql(stmt_), conn_->last_message());
  sqlite3_reset(stmt_);
  return e;
}

Result<void> Statement::run() {
  while (true) {
    COFFER_TRY(bool row, step());
    if (!row) return Ok();
  }
}

bool Statement::is_null(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

std::string Statement::text(int column) const {
  const unsigned char* p = sqlite3_column_text(stmt_, column);
  if (p == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(p),
                     static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column)));
}

std::int64_t Statement::integer(int column) const { return sqlite3_column_int64(stmt_, column); }

std::optional<std::int64_t> Statement::optional_integer(int column) const {
  if (is_null(column)) return std::nullopt;
  return integer(column);
}

Result<std::unique_ptr<Connection>> Connection::open(const std::string& path, bool create,
                                                     std::chrono::milliseconds busy_timeout) {
  sqlite3* db = nullptr;
  // NOMUTEX: the pool guarantees one thread per connection at a time.
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db != nullptr ? sqlite3_errmsg(db) : "";
    sqlite3_close_v2(db);
    return sqlite_error(rc, "open " + path, message);
  }
  std::unique_ptr<Connection> conn(new Connection(db));
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, static_cast<int>(busy_timeout.count()));
  // journal_mode answers with the mode in force; anything but "wal" (e.g. a read-only medium)
  // means the concurrency model of the store does not hold.
  std::string mode;
  auto first_column = [](void* out, int, char** values, char**) {
    if (values[0] != nullptr) *static_cast<std::string*>(out) = values[0];
    return 0;
  };
  char* message = nullptr;
  rc = sqlite3_exec(db, "PRAGMA journal_mode=WAL", first_column, &mode, &message);
  std::string text = message != nullptr ? message : "";
  sqlite3_free(message);
  if (rc != SQLITE_OK) return sqlite_error(rc, "enable WAL on " + path, text);
  if (mode != "wal") {
    return Error::StorageUnavailable("sqlite: cannot enable WAL journal mode on " + path);
  }
  COFFER_TRY_VOID(conn->exec("PRAGMA foreign_keys=ON; PRAGMA synchronous=FULL;"));
  return conn;
}

Connection::~Connection() {
  for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
  sqlite3_close_v2(db_);
}

Result<Statement> Connection::prepare(std::string_view sql) {
  auto it = statements_.find(std::string(sql));
  if (it == statements_.end()) {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) return sqlite_error(rc, sql, last_message());
    it = statements_.emplace(std::string(sql), stmt).first;
  }
  return Statement(this, it->second);
}

Result<void> Connection::exec(const char* sql) {
  char* message = nullptr;
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &message);
  if (rc == SQLITE_OK) return Ok();
  std::string text = message != nullptr ? message : "";
  sqlite3_free(message);
  return sqlite_error(rc, sql, text);
}

bool Connection::autocommit() const { return sqlite3_get_autocommit(db_) != 0; }

std::int64_t Connection::changes() const { return sqlite3_changes64(db_); }

std::string Connection::last_message() const { return sqlite3_errmsg(db_); }

}  // namespace coffer::meta::sqlite
