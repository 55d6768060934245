#include "meta_pg/pg_test_env.h"

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <stdexcept>

#include "core/ids.h"

namespace coffer::meta::pg_testing {
namespace {

// Drops the schemas this process made; each test runs in a process of its own under ctest.
class SchemaCleanup : public ::testing::Environment {
 public:
  static SchemaCleanup& instance() {
    static auto* env =
        static_cast<SchemaCleanup*>(::testing::AddGlobalTestEnvironment(new SchemaCleanup));
    return *env;
  }
  void add(const std::string& base, const std::string& schema) {
    std::lock_guard lock(mutex_);
    made_.emplace_back(base, schema);
  }
  void TearDown() override {
    std::lock_guard lock(mutex_);
    for (const auto& [base, schema] : made_) {
      try {
        RawSession(base).exec("DROP SCHEMA IF EXISTS " + schema + " CASCADE");
      } catch (const std::exception&) {
        // The server may be gone (a fault test stopped its own); the fixture removes it all.
      }
    }
    made_.clear();
  }

 private:
  std::mutex mutex_;
  std::vector<std::pair<std::string, std::string>> made_;
};
[[maybe_unused]] SchemaCleanup& kCleanup = SchemaCleanup::instance();

}  // namespace

const std::string& base_url() {
  static const std::string url = [] {
    const char* value = std::getenv("COFFER_TEST_PG_URL");
    if (value == nullptr || *value == '\0') {
      throw std::runtime_error(
          "COFFER_TEST_PG_URL is not set: run the PostgreSQL tests with ctest (label pg), whose "
          "fixture starts the server and sets it");
    }
    return std::string(value);
  }();
  return url;
}

TestDatabase fresh_database(const std::string& base) {
  TestDatabase db;
  db.schema = "t_" + new_id();  // [a-z2-7]: a plain identifier
  RawSession(base).exec("CREATE SCHEMA " + db.schema);
  SchemaCleanup::instance().add(base, db.schema);
  db.url = base + (base.find('?') == std::string::npos ? "?" : "&") +
           "options=-c%20search_path%3D" + db.schema;
  return db;
}

postgres::PgOptions test_options(int pool_size) {
  postgres::PgOptions o;
  o.pool_size = pool_size;
  o.connect_timeout = std::chrono::seconds(2);
  o.statement_timeout = std::chrono::milliseconds(10000);
  o.response_timeout = std::chrono::milliseconds(12000);
  o.pool_wait = std::chrono::milliseconds(20000);
  o.migration_lock_wait = std::chrono::milliseconds(30000);
  return o;
}

std::unique_ptr<postgres::PgStore> open_migrated(const std::string& url,
                                                 postgres::PgOptions options) {
  auto store = postgres::PgStore::open(url, options);
  if (!store) throw std::runtime_error("open: " + store.error().detail);
  auto migrated = (*store)->migrate();
  if (!migrated) throw std::runtime_error("migrate: " + migrated.error().detail);
  return std::move(*store);
}

struct RawSession::Impl {
  PGconn* conn = nullptr;
};

RawSession::RawSession(const std::string& url) : impl_(std::make_unique<Impl>()) {
  impl_->conn = PQconnectdb(url.c_str());
  if (PQstatus(impl_->conn) != CONNECTION_OK) {
    std::string message = PQerrorMessage(impl_->conn);
    PQfinish(impl_->conn);
    throw std::runtime_error("connect: " + message);
  }
  PQsetNoticeProcessor(
      impl_->conn, [](void*, const char*) {}, nullptr);
}

RawSession::~RawSession() { PQfinish(impl_->conn); }

void RawSession::exec(const std::string& sql) { (void)column(sql); }

std::vector<std::string> RawSession::column(const std::string& sql) {
  PGresult* res = PQexec(impl_->conn, sql.c_str());
  ExecStatusType status = PQresultStatus(res);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    std::string message = PQresultErrorMessage(res);
    PQclear(res);
    throw std::runtime_error(sql + ": " + message);
  }
  std::vector<std::string> out;
  if (PQnfields(res) > 0) {
    for (int row = 0; row < PQntuples(res); ++row) out.emplace_back(PQgetvalue(res, row, 0));
  }
  PQclear(res);
  return out;
}

std::string RawSession::scalar(const std::string& sql) {
  auto rows = column(sql);
  if (rows.size() != 1) throw std::runtime_error(sql + ": expected one row");
  return rows[0];
}

std::string pg_server(const std::string& env, const std::string& command) {
  std::string line = "env " + env + " " COFFER_PG_TEST_SERVER " " + command;
  FILE* pipe = popen(line.c_str(), "r");
  if (pipe == nullptr) throw std::runtime_error("popen failed: " + line);
  std::string out;
  char buffer[4096];
  while (std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) out.append(buffer, n);
  int status = pclose(pipe);
  if (status != 0) throw std::runtime_error(line + " failed with status " + std::to_string(status));
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

}  // namespace coffer::meta::pg_testing
