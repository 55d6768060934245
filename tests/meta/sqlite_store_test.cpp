#include "meta/sqlite/sqlite_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <latch>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "core/ids.h"
#include "meta/metadata_store_contract.h"
#include "meta/sqlite/sqlite_db.h"
#include "meta/sqlite/sqlite_migrations.h"

namespace coffer::meta {
namespace {

namespace fs = std::filesystem;
using sqlite::SqliteOptions;
using sqlite::SqliteStore;
using std::chrono::seconds;
using ::testing::HasSubstr;

const SystemTime kT0 = from_unix_seconds(1'800'000'000);

// One directory per test process for every database file, removed when the tests end.
class TempRoot : public ::testing::Environment {
 public:
  static const fs::path& path() {
    static const fs::path root = [] {
      std::string tmpl = (fs::temp_directory_path() / "coffer-meta-XXXXXX").string();
      if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
      return fs::path(tmpl);
    }();
    return root;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(path(), ec);
  }
};
[[maybe_unused]] auto* const kTempRoot = ::testing::AddGlobalTestEnvironment(new TempRoot);

std::string fresh_db_path() { return (TempRoot::path() / (new_id() + ".db")).string(); }

std::unique_ptr<SqliteStore> open_migrated(const std::string& path, SqliteOptions options = {}) {
  auto store = SqliteStore::open(path, options).value();
  store->migrate().value();
  return store;
}

std::unique_ptr<MetadataStore> make_sqlite_store() { return open_migrated(fresh_db_path()); }

}  // namespace

namespace contract {
INSTANTIATE_TEST_SUITE_P(Sqlite, MetadataStoreContract,
                         ::testing::Values(Backend{"sqlite", make_sqlite_store}), backend_name);
}  // namespace contract

namespace {

// A raw connection beside the store, as another process would have.
class RawDb {
 public:
  explicit RawDb(const std::string& path) {
    if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) throw std::runtime_error("open");
  }
  ~RawDb() { sqlite3_close(db_); }
  void exec(const std::string& sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err ? err : "?";
      sqlite3_free(err);
      throw std::runtime_error(msg);
    }
  }
  // Every row's column `column`, as text.
  std::vector<std::string> column(const std::string& sql, int column) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
      throw std::runtime_error(sqlite3_errmsg(db_));
    }
    std::vector<std::string> out;
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      const unsigned char* text = sqlite3_column_text(stmt, column);
      out.emplace_back(text ? reinterpret_cast<const char*>(text) : "");
    }
    sqlite3_finalize(stmt);
    return out;
  }

 private:
  sqlite3* db_ = nullptr;
};

TenantRecord tenant_record(const std::string& slug) {
  TenantRecord t;
  t.id = new_id();
  t.slug = slug;
  t.name = slug;
  t.created_at = kT0;
  return t;
}

UserRecord admin_of(const TenantRecord& t) {
  UserRecord u;
  u.id = new_id();
  u.tenant_id = t.id;
  u.username = "admin";
  u.role = TenantRole::kAdmin;
  u.created_at = kT0;
  return u;
}

CommitRequest commit(const TenantRecord& t, const UserRecord& u, const std::string& path,
                     CommitMode mode = CommitMode::kCreate) {
  CommitRequest r;
  r.tenant_id = t.id;
  r.new_file_id = new_id();
  r.path = path;
  r.size = 1;
  r.content_type = "text/plain";
  r.sha256 = std::string(64, '0');
  r.object_key = t.id + "/" + new_id();
  r.user_id = u.id;
  r.mode = mode;
  r.now = kT0;
  r.replaced_not_before = kT0;
  return r;
}

TEST(SqliteStore, ScanQueriesWalkThePathIndexInOrder) {
  std::string path = fresh_db_path();
  auto store = open_migrated(path);
  auto t = tenant_record("acme");
  auto admin = admin_of(t);
  ASSERT_TRUE(store->create_tenant(t, admin));
  for (int i = 0; i < 300; ++i) {
    ASSERT_TRUE(store->commit_file(commit(t, admin, "dir/" + std::to_string(i))));
  }
  RawDb raw(path);
  raw.exec("ANALYZE");
  for (bool all_files : {false, true}) {
    for (bool inclusive : {false, true}) {
      for (bool has_upper : {false, true}) {
        std::string sql = SqliteStore::scan_files_sql(all_files, inclusive, has_upper);
        auto plan = raw.column("EXPLAIN QUERY PLAN " + sql, 3);
        std::string text;
        for (const auto& line : plan) text += line + "\n";
        SCOPED_TRACE(sql + "\n" + text);
        EXPECT_THAT(text, HasSubstr("SEARCH f USING INDEX files_by_path (tenant_id=? AND path>"));
        if (has_upper) {
          EXPECT_THAT(text, HasSubstr("AND path<?)"));
        }
        EXPECT_THAT(text, ::testing::Not(HasSubstr("TEMP B-TREE")));
        EXPECT_THAT(text, ::testing::Not(HasSubstr("SCAN")));
      }
    }
  }
}

TEST(SqliteStore, FileLookupsUseOneIndexedQuery) {
  std::string path = fresh_db_path();
  auto store = open_migrated(path);
  RawDb raw(path);
  // The file and both grants, each found by key: no scan of any table.
  std::string view =
      "SELECT f.id FROM files AS f "
      "LEFT JOIN grants AS ug ON ug.file_id = f.id AND ug.principal = 'user' AND ug.user_id = ?2 "
      "LEFT JOIN grants AS tg ON tg.file_id = f.id AND tg.principal = 'tenant' "
      "AND tg.user_id = '' ";
  for (const char* where :
       {"WHERE f.id = ?3 AND f.tenant_id = ?1", "WHERE f.tenant_id = ?1 AND f.path = ?3"}) {
    auto plan = raw.column("EXPLAIN QUERY PLAN " + view + where, 3);
    for (const auto& line : plan) EXPECT_THAT(line, ::testing::StartsWith("SEARCH")) << where;
  }
}

TEST(SqliteConnection, OpensWithTheRequiredPragmas) {
  auto conn = sqlite::Connection::open(fresh_db_path(), true, std::chrono::milliseconds(5000));
  ASSERT_TRUE(conn);
  auto pragma = [&](const char* sql) {
    auto s = (*conn)->prepare(sql);
    EXPECT_TRUE(s);
    EXPECT_TRUE(s->step().value());
    return s->text(0);
  };
  EXPECT_EQ(pragma("PRAGMA journal_mode"), "wal");
  EXPECT_EQ(pragma("PRAGMA foreign_keys"), "1");
  EXPECT_EQ(pragma("PRAGMA synchronous"), "2");  // FULL
  EXPECT_EQ(pragma("PRAGMA busy_timeout"), "5000");
}

TEST(SqliteConnection, CachesPreparedStatements) {
  auto conn = sqlite::Connection::open(fresh_db_path(), true, std::chrono::milliseconds(100));
  ASSERT_TRUE(conn);
  sqlite3_stmt* first = nullptr;
  {
    auto s = (*conn)->prepare("SELECT ?1");
    ASSERT_TRUE(s);
    s->bind(1, std::int64_t{7});
    ASSERT_TRUE(s->step().value());
    EXPECT_EQ(s->integer(0), 7);
    first = sqlite3_next_stmt((*conn)->handle(), nullptr);
  }
  auto again = (*conn)->prepare("SELECT ?1");
  ASSERT_TRUE(again);
  EXPECT_EQ(sqlite3_next_stmt((*conn)->handle(), nullptr), first);
  EXPECT_EQ(sqlite3_next_stmt((*conn)->handle(), first), nullptr);
  // Reset on release: the bindings of the previous use are gone.
  ASSERT_TRUE(again->step().value());
  EXPECT_TRUE(again->is_null(0));
}

TEST(SqliteMigrations, AreNumberedInOrderAndAllRecorded) {
  std::string path = fresh_db_path();
  auto store = open_migrated(path);
  ASSERT_TRUE(store->migrate());
  std::vector<std::string> expected;
  int previous = 0;
  for (const auto& m : sqlite::migrations()) {
    EXPECT_GT(m.version, previous);
    previous = m.version;
    expected.push_back(std::to_string(m.version));
  }
  RawDb raw(path);
  EXPECT_EQ(raw.column("SELECT version FROM schema_migrations ORDER BY version", 0), expected);
}

TEST(SqliteMigrations, ConcurrentMigrationsFromSeparateStoresApplyEachStepOnce) {
  std::string path = fresh_db_path();
  constexpr int kStores = 4;
  std::vector<std::unique_ptr<SqliteStore>> stores;
  for (int i = 0; i < kStores; ++i) stores.push_back(SqliteStore::open(path).value());
  std::vector<Result<void>> results(kStores, Ok());
  std::latch start(kStores);
  std::vector<std::thread> threads;
  for (int i = 0; i < kStores; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      results[i] = stores[i]->migrate();
    });
  }
  for (auto& th : threads) th.join();
  for (const auto& r : results) EXPECT_TRUE(r) << r.error().detail;
  RawDb raw(path);
  EXPECT_EQ(raw.column("SELECT count(*) FROM schema_migrations", 0),
            std::vector<std::string>{std::to_string(sqlite::migrations().size())});
}

TEST(SqliteStore, WritersInSeparateStoresSerialiseThroughTheDatabase) {
  // Two stores on one file behave like two processes: only BEGIN IMMEDIATE orders them.
  std::string path = fresh_db_path();
  auto a = open_migrated(path);
  auto b = open_migrated(path);
  auto t = tenant_record("acme");
  auto admin = admin_of(t);
  ASSERT_TRUE(a->create_tenant(t, admin));
  constexpr int kThreads = 12;
  std::vector<Result<CommitResult>> results(kThreads, Error::Internal("not run"));
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      MetadataStore& store = i % 2 == 0 ? static_cast<MetadataStore&>(*a) : *b;
      results[i] = store.commit_file(commit(t, admin, "hot", CommitMode::kCreateOrReplace));
    });
  }
  for (auto& th : threads) th.join();
  std::set<std::int64_t> versions;
  for (const auto& r : results) {
    ASSERT_TRUE(r) << r.error().detail;
    versions.insert(r->file.version);
  }
  EXPECT_EQ(versions.size(), static_cast<std::size_t>(kThreads));
  EXPECT_EQ(*versions.begin(), 1);
  EXPECT_EQ(*versions.rbegin(), kThreads);
}

TEST(SqliteStore, OnePooledConnectionServesManyThreads) {
  SqliteOptions options;
  options.pool_size = 1;
  auto store = open_migrated(fresh_db_path(), options);
  auto t = tenant_record("acme");
  auto admin = admin_of(t);
  ASSERT_TRUE(store->create_tenant(t, admin));
  constexpr int kThreads = 8;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      for (int j = 0; j < 10; ++j) {
        auto path = "t" + std::to_string(i) + "/" + std::to_string(j);
        if (!store->commit_file(commit(t, admin, path))) ++failures;
        if (!store->find_file_by_path(t.id, path, admin.id)) ++failures;
        if (!store->scan_files({t.id, admin.id, true}, "", false, "", 5)) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(store->get_tenant(t.id)->used_files, kThreads * 10);
}

TEST(SqliteStore, AWriterBlockedPastTheBusyTimeoutIsStorageUnavailable) {
  std::string path = fresh_db_path();
  SqliteOptions options;
  options.busy_timeout = std::chrono::milliseconds(200);
  auto store = open_migrated(path, options);
  auto t = tenant_record("acme");
  ASSERT_TRUE(store->create_tenant(t, admin_of(t)));

  RawDb other_process(path);
  other_process.exec("BEGIN IMMEDIATE");
  auto blocked = store->create_tenant(tenant_record("b"), admin_of(tenant_record("b")));
  ASSERT_FALSE(blocked);
  EXPECT_EQ(blocked.error().code, ErrorCode::kStorageUnavailable);
  EXPECT_TRUE(store->get_tenant(t.id)) << "WAL readers are not blocked by a writer";
  other_process.exec("COMMIT");

  auto b = tenant_record("b");
  EXPECT_TRUE(store->create_tenant(b, admin_of(b)));
}

TEST(SqliteStore, ACheckThatThrowsRollsBackAndLeavesTheStoreUsable) {
  auto store = open_migrated(fresh_db_path());
  auto t = tenant_record("acme");
  auto admin = admin_of(t);
  ASSERT_TRUE(store->create_tenant(t, admin));
  ASSERT_TRUE(store->commit_file(commit(t, admin, "a")));
  auto req = commit(t, admin, "a", CommitMode::kCreateOrReplace);
  req.check = [](const FileView&) -> Result<void> { throw std::logic_error("bug"); };
  EXPECT_THROW((void)store->commit_file(req), std::logic_error);
  EXPECT_EQ(store->find_file_by_path(t.id, "a", "")->file.version, 1);
  req.check = {};
  auto r = store->commit_file(req);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->file.version, 2);
}

TEST(SqliteStore, AnUnopenableDatabaseIsStorageUnavailable) {
  auto missing_dir = SqliteStore::open((TempRoot::path() / "no/such/dir/x.db").string());
  ASSERT_FALSE(missing_dir);
  EXPECT_EQ(missing_dir.error().code, ErrorCode::kStorageUnavailable);

  fs::path dir = TempRoot::path() / ("dir-" + new_id());
  fs::create_directories(dir);
  auto is_dir = SqliteStore::open(dir.string());
  ASSERT_FALSE(is_dir);
  EXPECT_EQ(is_dir.error().code, ErrorCode::kStorageUnavailable);
}

TEST(SqliteStore, ARemovedDatabaseFileIsStorageUnavailable) {
  std::string path = fresh_db_path();
  auto store = open_migrated(path);
  ASSERT_TRUE(store->ping());
  for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(path + suffix);
  auto ping = store->ping();
  ASSERT_FALSE(ping);
  EXPECT_EQ(ping.error().code, ErrorCode::kStorageUnavailable);
}

TEST(SqliteStore, AnUnmigratedDatabaseFailsPing) {
  auto store = SqliteStore::open(fresh_db_path()).value();
  EXPECT_FALSE(store->ping());
  EXPECT_TRUE(store->reads_are_local());
}

// --- open_metadata_store ---

TEST(OpenMetadataStore, OpensAnAbsoluteSqliteUrlCreatingParentDirectories) {
  fs::path file = TempRoot::path() / ("abs-" + new_id()) / "nested" / "coffer.db";
  auto store = open_metadata_store("sqlite://" + file.string(), 2);
  ASSERT_TRUE(store) << store.error().detail;
  ASSERT_TRUE((*store)->migrate());
  auto t = tenant_record("acme");
  EXPECT_TRUE((*store)->create_tenant(t, admin_of(t)));
  EXPECT_TRUE(fs::exists(file));
}

TEST(OpenMetadataStore, OpensARelativeSqliteUrlFromTheWorkingDirectory) {
  fs::path saved = fs::current_path();
  fs::path base = TempRoot::path() / ("rel-" + new_id());
  fs::create_directories(base);
  fs::current_path(base);
  auto store = open_metadata_store("sqlite:var/db/coffer.db", 1);
  fs::current_path(saved);
  ASSERT_TRUE(store) << store.error().detail;
  EXPECT_TRUE((*store)->migrate());
  EXPECT_TRUE(fs::exists(base / "var" / "db" / "coffer.db"));
  // Resolved when opened, not against whatever the working directory is later.
  EXPECT_TRUE((*store)->ping());
}

TEST(OpenMetadataStore, PostgresUrlsOpenLazilyAndAnUnreachableServerIsStorageUnavailable) {
  // Nothing listens on port 1: connecting is refused at once. The store opens without
  // connecting; its first call reports the database unavailable, never the URL's password.
  for (const char* url : {"postgresql://u:secret@127.0.0.1:1/coffer?connect_timeout=2",
                          "postgres://u:secret@127.0.0.1:1/coffer"}) {
    auto store = open_metadata_store(url, 2);
    ASSERT_TRUE(store) << url << ": " << store.error().detail;
    EXPECT_FALSE((*store)->reads_are_local());
    auto r = (*store)->migrate();
    ASSERT_FALSE(r) << url;
    EXPECT_EQ(r.error().code, ErrorCode::kStorageUnavailable) << url;
    EXPECT_THAT(r.error().message, HasSubstr("database is unavailable"));
    EXPECT_THAT(r.error().message + r.error().detail, ::testing::Not(HasSubstr("secret")));
    auto ping = (*store)->ping();
    ASSERT_FALSE(ping);
    EXPECT_EQ(ping.error().code, ErrorCode::kStorageUnavailable);
  }
}

TEST(OpenMetadataStore, AMalformedPostgresUrlIsABadRequestThatDoesNotRepeatIt) {
  auto r = open_metadata_store("postgresql://u:secret@localhost/coffer?no_such_option=secret", 1);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kBadRequest);
  EXPECT_THAT(r.error().message + r.error().detail, ::testing::Not(HasSubstr("secret")));
}

TEST(OpenMetadataStore, RejectsOtherUrls) {
  for (const char* url : {"mysql://localhost/db", "sqlite:", "sqlite://host/x.db", "", "x.db"}) {
    auto r = open_metadata_store(url, 1);
    ASSERT_FALSE(r) << url;
    EXPECT_EQ(r.error().code, ErrorCode::kBadRequest) << url;
  }
}

}  // namespace
}  // namespace coffer::meta
