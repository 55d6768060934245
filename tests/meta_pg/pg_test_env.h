// What the PostgreSQL tests run against: the server the ctest fixture starts
// (scripts/pg-test-server.sh, tests/CMakeLists.txt), named by COFFER_TEST_PG_URL. Nothing here
// skips: a missing variable or server is a failure.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "meta/postgres/pg_store.h"

namespace coffer::meta::pg_testing {

// COFFER_TEST_PG_URL; throws std::runtime_error when it is not set.
const std::string& base_url();

// A fresh, empty schema in the test database, dropped when the test process ends, and the URL
// that puts it first on the search_path (?options=-c search_path=...): what one test sees is
// its own, as if it had a database to itself.
struct TestDatabase {
  std::string schema;
  std::string url;
};
TestDatabase fresh_database(const std::string& base = base_url());

// Options with short timeouts, so that fault tests end quickly.
postgres::PgOptions test_options(int pool_size = 4);

// A store on `url`, migrated; throws when that fails.
std::unique_ptr<postgres::PgStore> open_migrated(const std::string& url,
                                                 postgres::PgOptions options = test_options());

// A plain libpq session beside the store, as a psql user would have. Throws on any failure.
class RawSession {
 public:
  explicit RawSession(const std::string& url);
  ~RawSession();
  RawSession(const RawSession&) = delete;
  RawSession& operator=(const RawSession&) = delete;

  void exec(const std::string& sql);
  // Every row's first column, as text.
  std::vector<std::string> column(const std::string& sql);
  std::string scalar(const std::string& sql);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Runs scripts/pg-test-server.sh with `env` (e.g. "PG_PORT=0") and `command`; returns its
// stdout; throws when it fails.
std::string pg_server(const std::string& env, const std::string& command);

}  // namespace coffer::meta::pg_testing
