// A thin RAII layer over libpq: one connection, its prepared statements, results, and the mapping
// of PostgreSQL failures to coffer::Error. Not thread-safe: a connection is used by one thread at
// a time (PgPool hands it out).
//
// Every round trip is bounded on the client side too: a server that stops answering (frozen,
// or a network that drops packets) makes the call fail with kStorageUnavailable after
// `response_timeout` and marks the connection broken, instead of hanging the caller.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/error.h"

struct pg_conn;
struct pg_result;

namespace coffer::meta::postgres {

// SQLSTATEs the store acts on.
inline constexpr std::string_view kUniqueViolation = "23505";
inline constexpr std::string_view kSerializationFailure = "40001";
inline constexpr std::string_view kDeadlockDetected = "40P01";

// What a connection is configured with; the store fills it from PgOptions.
struct ConnectionSettings {
  std::string conninfo;  // a postgresql:// URL or "key=value" conninfo; may hold a password
  std::chrono::seconds connect_timeout{5};
  std::chrono::milliseconds statement_timeout{30000};            // server side, per statement
  std::chrono::milliseconds response_timeout{35000};             // client side, per round trip
  std::chrono::milliseconds idle_in_transaction_timeout{60000};  // server side
};

// kStorageUnavailable with a public message that says the database is unavailable. `detail` is
// for the log: it names the failure, never the conninfo.
Error unavailable(std::string detail);

// Positional parameters ($1, $2, ...) of a statement, sent separately from its text in text
// format. NULL is std::nullopt.
class Params {
 public:
  Params& add(std::string_view text) {
    values_.emplace_back(std::string(text));
    return *this;
  }
  Params& add(const char* text) { return add(std::string_view(text)); }
  Params& add(const std::string& text) { return add(std::string_view(text)); }
  Params& add(std::int64_t value) {
    values_.emplace_back(std::to_string(value));
    return *this;
  }
  Params& add(int value) { return add(static_cast<std::int64_t>(value)); }
  Params& add(bool value) { return add(std::string_view(value ? "true" : "false")); }
  Params& add(std::optional<std::int64_t> value) { return value ? add(*value) : add_null(); }
  Params& add_null() {
    values_.emplace_back(std::nullopt);
    return *this;
  }
  const std::vector<std::optional<std::string>>& values() const { return values_; }

 private:
  std::vector<std::optional<std::string>> values_;
};

// A completed statement's rows, in text format. Columns and rows are 0-based.
class PgResult {
 public:
  explicit PgResult(pg_result* res) : res_(res) {}
  PgResult(PgResult&& other) noexcept;
  PgResult& operator=(PgResult&& other) noexcept;
  PgResult(const PgResult&) = delete;
  PgResult& operator=(const PgResult&) = delete;
  ~PgResult();

  int rows() const;
  // Rows changed by an INSERT / UPDATE / DELETE.
  std::int64_t affected() const;
  bool is_null(int row, int column) const;
  std::string text(int row, int column) const;
  std::int64_t integer(int row, int column) const;
  std::optional<std::int64_t> optional_integer(int row, int column) const;
  bool boolean(int row, int column) const;

 private:
  pg_result* res_;
};

class PgConnection {
 public:
  // Connects; kStorageUnavailable if the server cannot be reached or refuses the login (the
  // detail says why, without the conninfo). Sets the session's timeouts and UTF8 encoding.
  static Result<std::unique_ptr<PgConnection>> open(const ConnectionSettings& settings);
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // Runs `sql` as a prepared statement: prepared on its first use on this connection (the text
  // is the cache key), then executed with `params`.
  Result<PgResult> query(std::string_view sql, const Params& params = {});
  // Runs one or more statements without parameters (BEGIN, COMMIT, DDL) on the simple protocol.
  Result<void> exec(std::string_view sql);

  // True outside any transaction block, with nothing pending: the state a pooled connection
  // must be in.
  bool idle() const;
  // False once the connection failed or a round trip timed out: it must not be reused.
  bool usable() const;
  // Cheap, without a round trip: false when the server has closed the connection or sent
  // anything while it was idle (a restarting server sends its "terminating connection" notice).
  bool healthy();
  // The SQLSTATE of the last failed statement ("" if it succeeded or the failure had none).
  const std::string& last_sqlstate() const { return last_sqlstate_; }
  // Per round trip, client side; the migration runner lengthens it for its lock wait.
  void set_response_timeout(std::chrono::milliseconds timeout) { response_timeout_ = timeout; }
  std::chrono::milliseconds response_timeout() const { return response_timeout_; }

 private:
  PgConnection(pg_conn* conn, std::chrono::milliseconds response_timeout)
      : conn_(conn), response_timeout_(response_timeout) {}

  // Collects the results of what was just sent, waiting at most response_timeout_. The first
  // error wins; otherwise the last result is returned.
  Result<PgResult> await_result(std::string_view context);
  Error failure(pg_result* res, std::string_view context);

  pg_conn* conn_;
  std::chrono::milliseconds response_timeout_;
  bool broken_ = false;
  std::string last_sqlstate_;
  std::unordered_map<std::string, std::string> prepared_;  // sql -> statement name
};

}  // namespace coffer::meta::postgres
