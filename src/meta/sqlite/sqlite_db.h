// A thin RAII layer over the sqlite3 C API: one connection, its cache of prepared statements, and
// the mapping of SQLite result codes to coffer::Error. Not thread-safe: a connection is used by one
// thread at a time (the store's pool hands it out).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/error.h"

struct sqlite3;
struct sqlite3_stmt;

namespace coffer::meta::sqlite {

// kStorageUnavailable for "cannot reach the database" (busy past the timeout, I/O error, cannot
// open, disk full, read-only), kConflict for UNIQUE / PRIMARY KEY violations, kInternal otherwise.
// `context` names the operation, for the log.
Error sqlite_error(int rc, std::string_view context, std::string_view db_message);

class Connection;

// A prepared statement borrowed from a connection's cache. Bind with 1-based indexes; the
// statement is reset and its bindings cleared when the Statement is destroyed, so no read
// transaction outlives it.
class Statement {
 public:
  Statement(Connection* conn, sqlite3_stmt* stmt) : conn_(conn), stmt_(stmt) {}
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&&) = delete;
  Statement(const Statement&) = delete;
  ~Statement();

  Statement& bind(int index, std::string_view text);
  Statement& bind(int index, const char* text) { return bind(index, std::string_view(text)); }
  Statement& bind(int index, const std::string& text) {
    return bind(index, std::string_view(text));
  }
  Statement& bind(int index, std::int64_t value);
  Statement& bind(int index, int value) { return bind(index, static_cast<std::int64_t>(value)); }
  Statement& bind(int index, bool value) { return bind(index, static_cast<std::int64_t>(value)); }
  Statement& bind(int index, std::optional<std::int64_t> value);
  Statement& bind_null(int index);

  // True when a row is ready to read, false when the statement is done.
  Result<bool> step();
  // Steps to the end; for statements that return no rows.
  Result<void> run();

  bool is_null(int column) const;
  std::string text(int column) const;
  std::int64_t integer(int column) const;
  std::optional<std::int64_t> optional_integer(int column) const;

 private:
  Connection* conn_;
  sqlite3_stmt* stmt_;
};

// One open database connection with the pragmas Coffer relies on: WAL, busy_timeout,
// foreign_keys=ON, synchronous=FULL.
class Connection {
 public:
  // Opens the database file, creating it only when `create` is set. kStorageUnavailable if it
  // cannot be opened (or is missing and `create` is not set).
  static Result<std::unique_ptr<Connection>> open(const std::string& path, bool create,
                                                  std::chrono::milliseconds busy_timeout);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // The cached statement for `sql` (prepared on first use; the text is the cache key).
  Result<Statement> prepare(std::string_view sql);
  // Runs one or more statements without results (DDL, BEGIN/COMMIT), uncached.
  Result<void> exec(const char* sql);

  // False while a transaction is open.
  bool autocommit() const;
  std::int64_t changes() const;
  sqlite3* handle() const { return db_; }
  std::string last_message() const;

 private:
  explicit Connection(sqlite3* db) : db_(db) {}

  sqlite3* db_;
  std::unordered_map<std::string, sqlite3_stmt*> statements_;
};

}  // namespace coffer::meta::sqlite
