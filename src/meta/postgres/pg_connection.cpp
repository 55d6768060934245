#include "meta/postgres/pg_connection.h"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <utility>

#include "core/log.h"

namespace coffer::meta::postgres {
namespace {

using Clock = std::chrono::steady_clock;

// libpq messages end with a newline and may span lines; the log wants one line.
std::string one_line(std::string_view text) {
  std::string out(text);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  std::replace(out.begin(), out.end(), '\n', ' ');
  return out;
}

// The SQL of a statement, shortened, to name it in a log line (values are never part of it).
std::string context_of(std::string_view sql) {
  constexpr std::size_t kMax = 120;
  std::string out = one_line(sql.substr(0, kMax));
  if (sql.size() > kMax) out += "...";
  return out;
}

// Failures that mean "the database cannot serve us now": the connection is gone or cannot be
// made (class 08), the server is shutting down or starting up (57P01-57P03), it has no room
// (class 53), or a statement ran past statement_timeout / lock_timeout (57014, 55P03).
bool is_unavailability(std::string_view sqlstate) {
  return sqlstate.starts_with("08") || sqlstate.starts_with("53") || sqlstate == "57P01" ||
         sqlstate == "57P02" || sqlstate == "57P03" || sqlstate == "57014" || sqlstate == "55P03";
}

std::int64_t parse_integer(const char* text, int length) {
  std::int64_t value = 0;
  std::from_chars(text, text + length, value);
  return value;
}

// The server's warnings go to the log; its notices (e.g. "already exists, skipping") are
// filtered out by client_min_messages.
void log_server_message(void*, const char* message) {
  log::app().warn("postgresql: {}", one_line(message));
}

}  // namespace

Error unavailable(std::string detail) {
  return {ErrorCode::kStorageUnavailable, "the database is unavailable, retry later",
          std::move(detail), 5};
}

// --- PgResult ---

PgResult::PgResult(PgResult&& other) noexcept : res_(std::exchange(other.res_, nullptr)) {}

PgResult& PgResult::operator=(PgResult&& other) noexcept {
  if (this != &other) {
    PQclear(res_);
    res_ = std::exchange(other.res_, nullptr);
  }
  return *this;
}

PgResult::~PgResult() { PQclear(res_); }

int PgResult::rows() const { return PQntuples(res_); }

std::int64_t PgResult::affected() const {
  const char* n = PQcmdTuples(res_);
  return parse_integer(n, static_cast<int>(std::char_traits<char>::length(n)));
}

bool PgResult::is_null(int row, int column) const { return PQgetisnull(res_, row, column) != 0; }

std::string PgResult::text(int row, int column) const {
  return std::string(PQgetvalue(res_, row, column),
                     static_cast<std::size_t>(PQgetlength(res_, row, column)));
}

std::int64_t PgResult::integer(int row, int column) const {
  return parse_integer(PQgetvalue(res_, row, column), PQgetlength(res_, row, column));
}

std::optional<std::int64_t> PgResult::optional_integer(int row, int column) const {
  if (is_null(row, column)) return std::nullopt;
  return integer(row, column);
}

bool PgResult::boolean(int row, int column) const {
  return PQgetvalue(res_, row, column)[0] == 't';
}

// --- PgConnection ---

Result<std::unique_ptr<PgConnection>> PgConnection::open(const ConnectionSettings& settings) {
  const std::string connect_timeout = std::to_string(settings.connect_timeout.count());
  // Keywords before "dbname" are defaults the URL may override; those after it are forced.
  // Keepalives notice a peer that vanished without closing the connection.
  const char* keywords[] = {"connect_timeout",
                            "keepalives",
                            "keepalives_idle",
                            "keepalives_interval",
                            "keepalives_count",
                            "application_name",
                            "dbname",
                            "client_encoding",
                            nullptr};
  const char* values[] = {connect_timeout.c_str(),   "1",    "30",   "10", "3", "coffer",
                          settings.conninfo.c_str(), "UTF8", nullptr};
  PGconn* conn = PQconnectdbParams(keywords, values, /*expand_dbname=*/1);
  if (conn == nullptr) return unavailable("postgresql: out of memory while connecting");
  if (PQstatus(conn) != CONNECTION_OK) {
    // libpq's message names the host and port and the reason; never the password.
    Error e = unavailable("postgresql: cannot connect: " + one_line(PQerrorMessage(conn)));
    PQfinish(conn);
    return e;
  }
  PQsetNoticeProcessor(conn, log_server_message, nullptr);
  std::unique_ptr<PgConnection> c(new PgConnection(conn, settings.response_timeout));
  const std::string set_timeouts =
      "SET statement_timeout = " + std::to_string(settings.statement_timeout.count()) +
      "; SET idle_in_transaction_session_timeout = " +
      std::to_string(settings.idle_in_transaction_timeout.count()) +
      "; SET client_min_messages = warning";
  COFFER_TRY_VOID(c->exec(set_timeouts));
  return c;
}

PgConnection::~PgConnection() { PQfinish(conn_); }

bool PgConnection::idle() const {
  return !broken_ && PQstatus(conn_) == CONNECTION_OK && PQtransactionStatus(conn_) == PQTRANS_IDLE;
}

bool PgConnection::usable() const { return !broken_ && PQstatus(conn_) == CONNECTION_OK; }

bool PgConnection::healthy() {
  if (!idle()) return false;
  // An idle connection has nothing to read: we never LISTEN, and the server speaks unasked
  // only to say it is closing the connection (shutdown, idle timeout) or to close it.
  pollfd pfd{PQsocket(conn_), POLLIN, 0};
  if (pfd.fd < 0) return false;
  int n = poll(&pfd, 1, 0);
  return n == 0;
}

Error PgConnection::failure(pg_result* res, std::string_view context) {
  const char* state = res != nullptr ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  last_sqlstate_ = state != nullptr ? state : "";
  std::string message =
      one_line(res != nullptr ? PQresultErrorMessage(res) : PQerrorMessage(conn_));
  if (message.empty()) message = one_line(PQerrorMessage(conn_));
  std::string detail = "postgresql: " + context_of(context) + ": " + message;
  if (!last_sqlstate_.empty()) detail += " [" + last_sqlstate_ + "]";
  if (broken_ || PQstatus(conn_) != CONNECTION_OK || is_unavailability(last_sqlstate_)) {
    return unavailable(std::move(detail));
  }
  if (last_sqlstate_ == kUniqueViolation) {
    return {ErrorCode::kConflict, "already exists", std::move(detail)};
  }
  return Error::Internal(std::move(detail));
}

Result<PgResult> PgConnection::await_result(std::string_view context) {
  const auto deadline = Clock::now() + response_timeout_;
  PGresult* kept = nullptr;  // the first error, or else the latest result
  bool kept_error = false;
  while (true) {
    while (PQisBusy(conn_)) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      pollfd pfd{PQsocket(conn_), POLLIN, 0};
      if (pfd.fd < 0) {
        broken_ = true;
        PQclear(kept);
        return failure(nullptr, context);
      }
      int n = left.count() > 0 ? poll(&pfd, 1, static_cast<int>(left.count())) : 0;
      if (n == 0) {
        // The answer may still come; the connection cannot be reused in step with it.
        broken_ = true;
        PQclear(kept);
        last_sqlstate_.clear();
        return unavailable("postgresql: " + context_of(context) + ": no answer within " +
                           std::to_string(response_timeout_.count()) + " ms");
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 || PQconsumeInput(conn_) == 0) {
        broken_ = true;
        PQclear(kept);
        return failure(nullptr, context);
      }
    }
    PGresult* res = PQgetResult(conn_);
    if (res == nullptr) break;
    ExecStatusType status = PQresultStatus(res);
    bool is_error =
        status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK && status != PGRES_EMPTY_QUERY;
    if (kept_error) {
      PQclear(res);
      continue;
    }
    PQclear(kept);
    kept = res;
    kept_error = is_error;
  }
  if (kept == nullptr) {
    // Nothing came back: the connection failed before any result.
    return failure(nullptr, context);
  }
  if (kept_error) {
    Error e = failure(kept, context);
    PQclear(kept);
    return e;
  }
  last_sqlstate_.clear();
  return PgResult(kept);
}

Result<PgResult> PgConnection::query(std::string_view sql, const Params& params) {
  if (broken_) return unavailable("postgresql: connection already failed");
  auto it = prepared_.find(std::string(sql));
  if (it == prepared_.end()) {
    std::string name = "coffer_" + std::to_string(prepared_.size() + 1);
    std::string text(sql);
    if (PQsendPrepare(conn_, name.c_str(), text.c_str(), 0, nullptr) == 0) {
      return failure(nullptr, sql);
    }
    // Cached only once the server has it: a failed prepare (e.g. a missing table) is retried
    // on the next use.
    COFFER_TRY_VOID(await_result(sql));
    it = prepared_.emplace(std::move(text), std::move(name)).first;
  }
  const auto& values = params.values();
  std::vector<const char*> pointers;
  pointers.reserve(values.size());
  for (const auto& v : values) pointers.push_back(v ? v->c_str() : nullptr);
  if (PQsendQueryPrepared(conn_, it->second.c_str(), static_cast<int>(pointers.size()),
                          pointers.data(), nullptr, nullptr, /*resultFormat=*/0) == 0) {
    return failure(nullptr, sql);
  }
  return await_result(sql);
}

Result<void> PgConnection::exec(std::string_view sql) {
  if (broken_) return unavailable("postgresql: connection already failed");
  std::string text(sql);
  if (PQsendQuery(conn_, text.c_str()) == 0) return failure(nullptr, sql);
  COFFER_TRY_VOID(await_result(sql));
  return Ok();
}

}  // namespace coffer::meta::postgres
