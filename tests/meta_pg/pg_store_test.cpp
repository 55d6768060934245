// PgStore against the fixture's PostgreSQL: the MetadataStore contract suite, then what only a
// shared database can show — several stores (separate pools: separate Coffer nodes) racing on
// one database, migrations started at once, and the plans of the hot queries.
#include "meta/postgres/pg_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <latch>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "core/ids.h"
#include "meta/metadata_store_contract.h"
#include "meta/postgres/pg_migrations.h"
#include "meta_pg/pg_test_env.h"

namespace coffer::meta {
namespace {

using postgres::PgStore;
using std::chrono::seconds;
using ::testing::HasSubstr;
using ::testing::Not;
namespace pt = pg_testing;

const SystemTime kT0 = from_unix_seconds(1'800'000'000);

std::unique_ptr<MetadataStore> make_pg_store() {
  return pt::open_migrated(pt::fresh_database().url);
}

}  // namespace

namespace contract {
INSTANTIATE_TEST_SUITE_P(Postgres, MetadataStoreContract,
                         ::testing::Values(Backend{"postgres", make_pg_store}), backend_name);
}  // namespace contract

namespace {

TenantRecord tenant_record(const std::string& slug, std::optional<std::int64_t> quota_bytes = {},
                           std::optional<std::int64_t> quota_files = {}) {
  TenantRecord t;
  t.id = new_id();
  t.slug = slug;
  t.name = slug;
  t.quota_bytes = quota_bytes;
  t.quota_files = quota_files;
  t.created_at = kT0;
  return t;
}

UserRecord user_of(const TenantRecord& t, const std::string& name,
                   TenantRole role = TenantRole::kAdmin) {
  UserRecord u;
  u.id = new_id();
  u.tenant_id = t.id;
  u.username = name;
  u.role = role;
  u.created_at = kT0;
  return u;
}

CommitRequest commit(const TenantRecord& t, const UserRecord& u, const std::string& path,
                     std::int64_t size = 1, CommitMode mode = CommitMode::kCreate) {
  CommitRequest r;
  r.tenant_id = t.id;
  r.new_file_id = new_id();
  r.path = path;
  r.size = size;
  r.content_type = "text/plain";
  r.sha256 = std::string(64, '0');
  r.object_key = t.id + "/" + new_id();
  r.user_id = u.id;
  r.mode = mode;
  r.now = kT0;
  r.replaced_not_before = kT0;
  return r;
}

// Two stores with pools of their own on one database: two Coffer nodes.
struct TwoNodes {
  TwoNodes() : db(pt::fresh_database()) {
    a = pt::open_migrated(db.url);
    b = pt::open_migrated(db.url);
  }
  MetadataStore& node(int i) { return i % 2 == 0 ? static_cast<MetadataStore&>(*a) : *b; }

  pt::TestDatabase db;
  std::unique_ptr<PgStore> a;
  std::unique_ptr<PgStore> b;
};

// Runs `body(i)` on `n` threads released together.
template <class Body>
void race(int n, Body body) {
  std::latch start(n);
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      body(i);
    });
  }
  for (auto& th : threads) th.join();
}

std::string describe(const Error& e) {
  return std::to_string(static_cast<int>(e.code)) + " " + e.message + " (" + e.detail + ")";
}

// --- plans ---

TEST(PgStore, ScanQueriesWalkThePathIndexInOrder) {
  auto db = pt::fresh_database();
  auto store = pt::open_migrated(db.url);
  auto t = tenant_record("acme");
  auto admin = user_of(t, "admin");
  ASSERT_TRUE(store->create_tenant(t, admin));
  auto other = tenant_record("other");
  ASSERT_TRUE(store->create_tenant(other, user_of(other, "admin")));
  pt::RawSession raw(db.url);
  // Enough rows, in two tenants, with grants, that a sequential scan would be a real choice.
  for (const auto& tid : {t.id, other.id}) {
    raw.exec(
        "INSERT INTO files (id, tenant_id, path, size, content_type, sha256, object_key, version, "
        "owner_id, created_at, updated_at) "
        "SELECT '" +
        tid + "-' || n, '" + tid + "', 'dir/' || n, 1, 'text/plain', '', '" + tid +
        "/' || n, 1, '" + admin.id + "', 0, 0 FROM generate_series(1, 5000) AS n");
  }
  raw.exec(
      "INSERT INTO grants (file_id, tenant_id, principal, user_id, role, granted_by, granted_at) "
      "SELECT id, tenant_id, 'user', 'someone', 'viewer', 'x', 0 FROM files WHERE path LIKE "
      "'%7'");
  raw.exec("ANALYZE");

  for (const char* mode : {"force_generic_plan", "force_custom_plan"}) {
    raw.exec(std::string("SET plan_cache_mode = ") + mode);
    for (bool all_files : {false, true}) {
      for (bool inclusive : {false, true}) {
        for (bool has_upper : {false, true}) {
          std::string sql = PgStore::scan_files_sql(all_files, inclusive, has_upper);
          raw.exec("DEALLOCATE ALL");
          raw.exec("PREPARE scan AS " + sql);
          std::string args = "'" + t.id + "', '" + admin.id + "', 'dir/2', 100";
          if (has_upper) args += ", 'dir/3'";
          std::string plan;
          for (const auto& line : raw.column("EXPLAIN EXECUTE scan(" + args + ")")) {
            plan += line + "\n";
          }
          SCOPED_TRACE(std::string(mode) + "\n" + sql + "\n" + plan);
          EXPECT_THAT(plan, HasSubstr("Index Scan using files_by_path on files f"));
          EXPECT_THAT(plan, HasSubstr("Index Cond: ((tenant_id = "));
          EXPECT_THAT(plan, HasSubstr(inclusive ? "(path >= " : "(path > "));
          if (has_upper) {
            EXPECT_THAT(plan, HasSubstr("(path < "));
          }
          EXPECT_THAT(plan, Not(HasSubstr("Sort")));
          EXPECT_THAT(plan, Not(HasSubstr("Seq Scan on files")));
          EXPECT_THAT(plan, HasSubstr("Limit"));
        }
      }
    }
  }
  // And the statement the store runs gives what the plan promises.
  auto page = store->scan_files({t.id, admin.id, true}, "dir/2", false, "dir/3", 3);
  ASSERT_TRUE(page);
  ASSERT_EQ(page->size(), 3u);
  EXPECT_EQ((*page)[0].file.path, "dir/20");
  EXPECT_EQ((*page)[1].file.path, "dir/200");
  EXPECT_EQ((*page)[2].file.path, "dir/2000");
}

TEST(PgStore, KeysAreCollatedBytewiseWhateverTheDatabaseLocale) {
  auto db = pt::fresh_database();
  auto store = pt::open_migrated(db.url);
  pt::RawSession raw(db.url);
  // The fixture's database sorts as English does, so the contract suite's ordering tests
  // (ScanOrdersPathsByTheirUtf8Bytes, ListUsersIsOrderedByUsernameAfterTheCursor) prove that
  // the columns' own collation decides.
  EXPECT_EQ(raw.scalar("SELECT 'a' < 'B'"), "t") << "the test database is bytewise already";
  EXPECT_EQ(raw.scalar("SELECT 'a' COLLATE \"C\" < 'B'"), "f");
  for (const char* column : {"path", "tenant_id"}) {
    EXPECT_EQ(raw.scalar(std::string("SELECT collation_name FROM information_schema.columns "
                                     "WHERE table_schema = current_schema() "
                                     "AND table_name = 'files' AND column_name = '") +
                         column + "'"),
              "C")
        << column;
  }
  EXPECT_EQ(raw.scalar("SELECT collation_name FROM information_schema.columns "
                       "WHERE table_schema = current_schema() AND table_name = 'users' "
                       "AND column_name = 'username'"),
            "C");
  // The unique (tenant_id, path) index, which the scans walk, is in byte order too.
  EXPECT_EQ(raw.scalar("SELECT string_agg(c.collname, ',' ORDER BY k.n) FROM pg_index AS i, "
                       "unnest(i.indcollation) WITH ORDINALITY AS k (coll, n) "
                       "JOIN pg_collation AS c ON c.oid = k.coll "
                       "WHERE i.indexrelid = 'files_by_path'::regclass"),
            "C,C");
}

// --- migrations ---

TEST(PgMigrations, AreNumberedInOrderAndAllRecorded) {
  auto db = pt::fresh_database();
  auto store = pt::open_migrated(db.url);
  ASSERT_TRUE(store->migrate());
  std::vector<std::string> expected;
  int previous = 0;
  for (const auto& m : postgres::migrations()) {
    EXPECT_GT(m.version, previous);
    previous = m.version;
    expected.push_back(std::to_string(m.version));
  }
  pt::RawSession raw(db.url);
  EXPECT_EQ(raw.column("SELECT version FROM schema_migrations ORDER BY version"), expected);
}

TEST(PgMigrations, AnUnmigratedDatabaseFailsPing) {
  auto db = pt::fresh_database();
  auto store = PgStore::open(db.url, pt::test_options()).value();
  EXPECT_FALSE(store->ping());
  EXPECT_FALSE(store->reads_are_local());
  ASSERT_TRUE(store->migrate());
  EXPECT_TRUE(store->ping());
}

TEST(PgMigrations, ConcurrentMigrationsFromSeparateStoresApplyEachStepOnce) {
  auto db = pt::fresh_database();
  constexpr int kStores = 4;
  std::vector<std::unique_ptr<PgStore>> stores;
  for (int i = 0; i < kStores; ++i) stores.push_back(PgStore::open(db.url).value());
  std::vector<Result<void>> results(kStores, Ok());
  race(kStores, [&](int i) { results[i] = stores[i]->migrate(); });
  for (const auto& r : results) EXPECT_TRUE(r) << describe(r.error());
  pt::RawSession raw(db.url);
  EXPECT_EQ(raw.scalar("SELECT count(*) FROM schema_migrations"),
            std::to_string(postgres::migrations().size()));
  for (auto& s : stores) EXPECT_TRUE(s->ping());
}

TEST(PgMigrations, ConcurrentMigrationsFromSeparateProcessesApplyEachStepOnce) {
  auto db = pt::fresh_database();
  constexpr int kProcesses = 4;
  int go[2];
  ASSERT_EQ(pipe(go), 0);
  std::vector<pid_t> children;
  for (int i = 0; i < kProcesses; ++i) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      // A fresh process with a store of its own: a node starting up.
      close(go[1]);
      auto store = PgStore::open(db.url);
      char byte;
      if (!store || read(go[0], &byte, 1) != 0) _exit(3);  // released when the pipe closes
      _exit((*store)->migrate() ? 0 : 1);
    }
    children.push_back(pid);
  }
  close(go[0]);
  close(go[1]);  // all children start at once
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
  }
  pt::RawSession raw(db.url);
  EXPECT_EQ(raw.scalar("SELECT count(*) FROM schema_migrations"),
            std::to_string(postgres::migrations().size()));
  EXPECT_EQ(raw.scalar("SELECT count(*) FROM information_schema.tables "
                       "WHERE table_schema = current_schema() AND table_name = 'files'"),
            "1");
}

// --- two nodes on one database ---

TEST(PgTwoNodes, ConcurrentOverwritesOfOnePathGetDistinctVersions) {
  TwoNodes nodes;
  auto t = tenant_record("acme");
  auto admin = user_of(t, "admin");
  ASSERT_TRUE(nodes.a->create_tenant(t, admin));
  constexpr int kThreads = 12;
  constexpr int kRounds = 5;
  std::mutex mu;
  std::vector<std::int64_t> versions;
  std::vector<std::string> failures;
  race(kThreads, [&](int i) {
    for (int round = 0; round < kRounds; ++round) {
      auto r =
          nodes.node(i).commit_file(commit(t, admin, "hot", 10 + i, CommitMode::kCreateOrReplace));
      std::lock_guard lock(mu);
      if (r) {
        versions.push_back(r->file.version);
      } else {
        failures.push_back(describe(r.error()));
      }
    }
  });
  EXPECT_THAT(failures, ::testing::IsEmpty());
  std::sort(versions.begin(), versions.end());
  std::vector<std::int64_t> expected(kThreads * kRounds);
  for (std::size_t i = 0; i < expected.size(); ++i) expected[i] = static_cast<std::int64_t>(i + 1);
  EXPECT_EQ(versions, expected);
  auto final_view = nodes.b->find_file_by_path(t.id, "hot", "");
  ASSERT_TRUE(final_view);
  EXPECT_EQ(final_view->file.version, kThreads * kRounds);
  auto usage = nodes.a->get_tenant(t.id);
  EXPECT_EQ(usage->used_files, 1);
  EXPECT_EQ(usage->used_bytes, final_view->file.size);
  // Every replaced object is queued exactly once.
  pt::RawSession raw(nodes.db.url);
  EXPECT_EQ(raw.scalar("SELECT count(DISTINCT object_key) FROM deletions"),
            std::to_string(kThreads * kRounds - 1));
  EXPECT_EQ(raw.scalar("SELECT count(*) FROM deletions"), std::to_string(kThreads * kRounds - 1));
}

TEST(PgTwoNodes, ConcurrentCommitsNeverExceedTheQuotaAndUsageStaysExact) {
  TwoNodes nodes;
  constexpr std::int64_t kQuota = 1000;
  constexpr std::int64_t kSize = 7;
  auto t = tenant_record("acme", kQuota, /*quota_files=*/125);
  auto admin = user_of(t, "admin");
  ASSERT_TRUE(nodes.a->create_tenant(t, admin));
  constexpr int kThreads = 8;
  constexpr int kPerThread = 20;  // 160 attempts: more than either quota admits
  std::atomic<int> created{0};
  std::atomic<int> replaced{0};
  std::mutex mu;
  std::vector<std::string> unexpected;
  race(kThreads, [&](int i) {
    for (int j = 0; j < kPerThread; ++j) {
      // New files, and overwrites that grow an existing one by kSize.
      bool overwrite = j % 4 == 3;
      std::string path = overwrite ? "grow-" + std::to_string(i)
                                   : "f-" + std::to_string(i) + "-" + std::to_string(j);
      std::int64_t size = kSize;
      if (overwrite) {
        auto current = nodes.node(i).find_file_by_path(t.id, path, "");
        size = current ? current->file.size + kSize : kSize;
      }
      auto r = nodes.node(i).commit_file(commit(
          t, admin, path, size, overwrite ? CommitMode::kCreateOrReplace : CommitMode::kCreate));
      if (r) {
        (r->created ? created : replaced)++;
      } else if (r.error().code != ErrorCode::kQuotaExceeded) {
        std::lock_guard lock(mu);
        unexpected.push_back(describe(r.error()));
      }
    }
  });
  EXPECT_THAT(unexpected, ::testing::IsEmpty());
  pt::RawSession raw(nodes.db.url);
  const std::int64_t bytes = std::stoll(raw.scalar("SELECT coalesce(sum(size), 0) FROM files"));
  const std::int64_t files = std::stoll(raw.scalar("SELECT count(*) FROM files"));
  auto usage = nodes.b->get_tenant(t.id);
  ASSERT_TRUE(usage);
  EXPECT_EQ(usage->used_bytes, bytes);
  EXPECT_EQ(usage->used_files, files);
  EXPECT_EQ(files, created.load());
  EXPECT_LE(bytes, kQuota);
  EXPECT_LE(files, 125);
  // The quota filled up: no room for another file of kSize bytes, or no file left.
  EXPECT_TRUE(bytes + kSize > kQuota || files == 125) << bytes << " bytes, " << files << " files";
  EXPECT_GT(replaced.load(), 0);
}

TEST(PgTwoNodes, CollectorsOnTwoNodesNeverClaimTheSameRow) {
  TwoNodes nodes;
  auto t = tenant_record("acme");
  ASSERT_TRUE(nodes.a->create_tenant(t, user_of(t, "admin")));
  constexpr int kRows = 150;
  for (int i = 0; i < kRows; ++i) {
    UploadIntent in;
    in.id = new_id();
    in.tenant_id = t.id;
    in.object_key = t.id + "/" + in.id;
    in.created_at = kT0;
    in.expires_at = kT0 + seconds(i % 10);
    ASSERT_TRUE(nodes.a->create_intent(in));
    ASSERT_TRUE(nodes.b->enqueue_deletion(t.id + "/d" + std::to_string(i), kT0 + seconds(i % 7)));
  }
  constexpr int kThreads = 6;
  std::mutex mu;
  std::vector<std::string> intents;
  std::vector<std::int64_t> deletions;
  std::vector<std::string> failures;
  race(kThreads, [&](int i) {
    MetadataStore& store = nodes.node(i);
    while (true) {
      auto ci = store.claim_expired_intents(kT0 + seconds(100), kT0 + seconds(3600), 7);
      auto cd = store.claim_deletions(kT0 + seconds(100), kT0 + seconds(3600), 7);
      std::lock_guard lock(mu);
      if (!ci || !cd) {
        failures.push_back(describe(!ci ? ci.error() : cd.error()));
        return;
      }
      for (const auto& in : *ci) intents.push_back(in.id);
      for (const auto& d : *cd) deletions.push_back(d.id);
      if (ci->empty() && cd->empty()) return;
    }
  });
  EXPECT_THAT(failures, ::testing::IsEmpty());
  EXPECT_EQ(intents.size(), static_cast<std::size_t>(kRows));
  EXPECT_EQ(std::set<std::string>(intents.begin(), intents.end()).size(), intents.size())
      << "an intent was claimed twice";
  EXPECT_EQ(deletions.size(), static_cast<std::size_t>(kRows));
  EXPECT_EQ(std::set<std::int64_t>(deletions.begin(), deletions.end()).size(), deletions.size())
      << "a deletion was claimed twice";
}

TEST(PgTwoNodes, OfConcurrentCreatesAndDeletesOnTwoNodesExactlyOneWins) {
  TwoNodes nodes;
  auto t = tenant_record("acme");
  auto admin = user_of(t, "admin");
  ASSERT_TRUE(nodes.a->create_tenant(t, admin));
  constexpr int kThreads = 10;
  for (int round = 0; round < 5; ++round) {
    std::string path = "race-" + std::to_string(round);
    std::atomic<int> created{0};
    std::atomic<int> conflicts{0};
    race(kThreads, [&](int i) {
      auto r = nodes.node(i).commit_file(commit(t, admin, path, 3));
      if (r) {
        ++created;
      } else if (r.error().code == ErrorCode::kConflict) {
        ++conflicts;
      }
    });
    EXPECT_EQ(created.load(), 1);
    EXPECT_EQ(conflicts.load(), kThreads - 1);

    auto file = nodes.a->find_file_by_path(t.id, path, "");
    ASSERT_TRUE(file);
    std::atomic<int> deleted{0};
    std::atomic<int> not_found{0};
    race(kThreads, [&](int i) {
      auto r = nodes.node(i).delete_file(t.id, file->file.id, admin.id, {}, {}, kT0);
      if (r) {
        ++deleted;
      } else if (r.error().code == ErrorCode::kNotFound) {
        ++not_found;
      }
    });
    EXPECT_EQ(deleted.load(), 1);
    EXPECT_EQ(not_found.load(), kThreads - 1);
  }
  auto usage = nodes.b->get_tenant(t.id);
  EXPECT_EQ(usage->used_bytes, 0);
  EXPECT_EQ(usage->used_files, 0);
}

TEST(PgTwoNodes, TheLastAdminRuleHoldsAgainstChangesOnTwoNodes) {
  TwoNodes nodes;
  for (int round = 0; round < 10; ++round) {
    auto t = tenant_record("t" + std::to_string(round));
    auto first = user_of(t, "first");
    ASSERT_TRUE(nodes.a->create_tenant(t, first));
    auto second = user_of(t, "second");
    ASSERT_TRUE(nodes.a->create_user(second));
    auto ed = user_of(t, "ed", TenantRole::kEditor);
    ASSERT_TRUE(nodes.a->create_user(ed));
    // Each node takes a different admin away, in a different way.
    std::vector<Result<void>> results(2, Ok());
    race(2, [&](int i) {
      if (i == 0) {
        UserPatch disable;
        disable.disabled = true;
        auto r = nodes.a->update_user(t.id, first.id, disable);
        results[0] = r ? Ok() : Result<void>(r.error());
      } else if (round % 2 == 0) {
        UserPatch demote;
        demote.role = TenantRole::kViewer;
        auto r = nodes.b->update_user(t.id, second.id, demote);
        results[1] = r ? Ok() : Result<void>(r.error());
      } else {
        results[1] = nodes.b->delete_user(t.id, second.id, ed.id);
      }
    });
    int succeeded = 0;
    for (const auto& r : results) {
      if (r) {
        ++succeeded;
      } else {
        EXPECT_EQ(r.error().code, ErrorCode::kConflict) << describe(r.error());
      }
    }
    EXPECT_EQ(succeeded, 1) << "round " << round;
    pt::RawSession raw(nodes.db.url);
    EXPECT_EQ(raw.scalar("SELECT count(*) FROM users WHERE tenant_id = '" + t.id +
                         "' AND role = 'admin' AND NOT disabled"),
              "1")
        << "round " << round;
  }
}

TEST(PgTwoNodes, GrantsAndRevokesOnTwoNodesNeverFail) {
  TwoNodes nodes;
  auto t = tenant_record("acme");
  auto admin = user_of(t, "admin");
  ASSERT_TRUE(nodes.a->create_tenant(t, admin));
  auto bob = user_of(t, "bob", TenantRole::kEditor);
  ASSERT_TRUE(nodes.a->create_user(bob));
  auto f = nodes.a->commit_file(commit(t, admin, "shared"));
  ASSERT_TRUE(f);
  std::mutex mu;
  std::vector<std::string> failures;
  race(8, [&](int i) {
    for (int round = 0; round < 25; ++round) {
      Result<void> r = Ok();
      if ((i + round) % 2 == 0) {
        GrantRecord g;
        g.file_id = f->file.id;
        g.tenant_id = t.id;
        g.principal = round % 3 == 0 ? Principal::kTenant : Principal::kUser;
        g.user_id = bob.id;
        g.role = round % 2 == 0 ? FileRole::kViewer : FileRole::kEditor;
        g.granted_by = admin.id;
        g.granted_at = kT0;
        auto put = nodes.node(i).put_grant(g, {});
        if (!put) r = put.error();
      } else {
        r = nodes.node(i).remove_grant(t.id, f->file.id, Principal::kUser, bob.id, admin.id, {});
      }
      if (!r) {
        std::lock_guard lock(mu);
        failures.push_back(describe(r.error()));
      }
    }
  });
  EXPECT_THAT(failures, ::testing::IsEmpty());
}

TEST(PgTwoNodes, AFileCommittedOnOneNodeIsSeenByTheOtherAtOnce) {
  TwoNodes nodes;
  auto t = tenant_record("acme");
  auto admin = user_of(t, "admin");
  ASSERT_TRUE(nodes.a->create_tenant(t, admin));
  for (int i = 0; i < 20; ++i) {
    auto path = "f" + std::to_string(i);
    auto c = nodes.node(i).commit_file(commit(t, admin, path));
    ASSERT_TRUE(c);
    auto seen = nodes.node(i + 1).get_file(t.id, c->file.id, admin.id);
    ASSERT_TRUE(seen) << path;
    EXPECT_EQ(seen->file.object_key, c->file.object_key);
  }
}

// --- errors ---

TEST(PgStore, ErrorsNeverCarryTheUrlOrItsPassword) {
  auto db = pt::fresh_database();
  // Trust authentication ignores the password; it is in the URL all the same.
  std::string url = db.url;
  url.replace(url.find("coffer@"), 7, "coffer:hunter2secret@");
  auto store = pt::open_migrated(url);
  auto t = tenant_record("acme");
  ASSERT_TRUE(store->create_tenant(t, user_of(t, "admin")));
  auto dup = store->create_tenant(tenant_record("acme"), user_of(t, "x"));
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, ErrorCode::kConflict);
  EXPECT_THAT(dup.error().detail, HasSubstr("23505"));
  // A statement the server refuses (a path that is not UTF-8) is kInternal with its detail.
  auto bad = store->find_file_by_path(t.id, "\xff\xfe", "");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kInternal);
  EXPECT_THAT(bad.error().detail, HasSubstr("22021"));
  for (const Error& e : {dup.error(), bad.error()}) {
    EXPECT_THAT(e.message + e.detail, Not(HasSubstr("hunter2secret")));
    EXPECT_THAT(e.message + e.detail, Not(HasSubstr("postgresql://")));
  }
  // The failed statements left the pooled connections usable.
  EXPECT_TRUE(store->ping());
  EXPECT_TRUE(store->get_tenant(t.id));
}

TEST(PgStore, ACheckThatThrowsRollsBackAndLeavesTheStoreUsable) {
  auto db = pt::fresh_database();
  auto store = pt::open_migrated(db.url, pt::test_options(/*pool_size=*/1));
  auto t = tenant_record("acme");
  auto admin = user_of(t, "admin");
  ASSERT_TRUE(store->create_tenant(t, admin));
  ASSERT_TRUE(store->commit_file(commit(t, admin, "a")));
  auto req = commit(t, admin, "a", 1, CommitMode::kCreateOrReplace);
  req.check = [](const FileView&) -> Result<void> { throw std::logic_error("bug"); };
  EXPECT_THROW((void)store->commit_file(req), std::logic_error);
  // The tenant row lock went with the rollback: the next commit does not wait for it.
  EXPECT_EQ(store->find_file_by_path(t.id, "a", "")->file.version, 1);
  req.check = {};
  auto r = store->commit_file(req);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->file.version, 2);
  EXPECT_EQ(store->open_connections(), 1);
}

TEST(PgStore, OnePooledConnectionServesManyThreads) {
  auto db = pt::fresh_database();
  auto store = pt::open_migrated(db.url, pt::test_options(/*pool_size=*/1));
  auto t = tenant_record("acme");
  auto admin = user_of(t, "admin");
  ASSERT_TRUE(store->create_tenant(t, admin));
  std::atomic<int> failures{0};
  race(8, [&](int i) {
    for (int j = 0; j < 10; ++j) {
      auto path = "t" + std::to_string(i) + "/" + std::to_string(j);
      if (!store->commit_file(commit(t, admin, path))) ++failures;
      if (!store->find_file_by_path(t.id, path, admin.id)) ++failures;
      if (!store->scan_files({t.id, admin.id, true}, "", false, "", 5)) ++failures;
    }
  });
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(store->get_tenant(t.id)->used_files, 80);
  EXPECT_EQ(store->open_connections(), 1);
}

TEST(PgStore, ConnectionsAreOpenedOnDemandUpToThePoolSize) {
  auto db = pt::fresh_database();
  auto store = PgStore::open(db.url, pt::test_options(/*pool_size=*/3)).value();
  EXPECT_EQ(store->open_connections(), 0);
  ASSERT_TRUE(store->migrate());
  EXPECT_EQ(store->open_connections(), 1);
  race(12, [&](int) {
    for (int j = 0; j < 5; ++j) EXPECT_TRUE(store->ping());
  });
  EXPECT_LE(store->open_connections(), 3);
  EXPECT_GE(store->open_connections(), 1);
}

TEST(PgStore, ATransactionChosenAsADeadlockVictimIsRetried) {
  auto db = pt::fresh_database();
  auto options = pt::test_options(/*pool_size=*/1);
  auto store = pt::open_migrated(db.url, options);
  options.max_attempts = 1;
  auto single_attempt = pt::open_migrated(db.url, options);
  auto t = tenant_record("acme");
  auto admin = user_of(t, "admin");
  ASSERT_TRUE(store->create_tenant(t, admin));
  auto first = store->commit_file(commit(t, admin, "a"));
  ASSERT_TRUE(first);

  // Another session holds the file row; the store's replace takes the tenant row, then waits
  // for the file. The other session then asks for the tenant row: a deadlock. The store's
  // backend has waited longer, so it finds the cycle (after deadlock_timeout) and is aborted.
  auto deadlocked_replace = [&](PgStore& s, std::int64_t size) {
    pt::RawSession other(db.url);
    other.exec("BEGIN");
    other.exec("SELECT 1 FROM files WHERE id = '" + first->file.id + "' FOR UPDATE");
    Result<CommitResult> replaced = Error::Internal("not run");
    std::thread writer([&] {
      replaced = s.commit_file(commit(t, admin, "a", size, CommitMode::kCreateOrReplace));
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    // Returns once the store's transaction has been aborted: this session won the deadlock.
    EXPECT_NO_THROW(other.exec("SELECT 1 FROM tenants WHERE id = '" + t.id + "' FOR UPDATE"));
    other.exec("COMMIT");
    writer.join();
    return replaced;
  };

  // Retried: the second attempt ran after the other session was done.
  auto replaced = deadlocked_replace(*store, 2);
  ASSERT_TRUE(replaced) << describe(replaced.error());
  EXPECT_EQ(replaced->file.version, 2);
  EXPECT_EQ(store->get_tenant(t.id)->used_bytes, 2);

  // Out of attempts: "retry later", not an internal error.
  auto gave_up = deadlocked_replace(*single_attempt, 3);
  ASSERT_FALSE(gave_up);
  EXPECT_EQ(gave_up.error().code, ErrorCode::kStorageUnavailable);
  EXPECT_THAT(gave_up.error().detail, HasSubstr("40P01"));
  EXPECT_EQ(store->get_tenant(t.id)->used_bytes, 2);
}

TEST(PgStore, AStatementPastTheStatementTimeoutIsStorageUnavailable) {
  auto db = pt::fresh_database();
  auto options = pt::test_options(/*pool_size=*/1);
  options.statement_timeout = std::chrono::milliseconds(300);
  auto store = pt::open_migrated(db.url, options);
  auto t = tenant_record("acme");
  auto admin = user_of(t, "admin");
  ASSERT_TRUE(store->create_tenant(t, admin));
  // Another session holds the tenant row: the commit waits for it, then gives up.
  pt::RawSession other(db.url);
  other.exec("BEGIN");
  other.exec("SELECT 1 FROM tenants WHERE id = '" + t.id + "' FOR UPDATE");
  auto started = std::chrono::steady_clock::now();
  auto blocked = store->commit_file(commit(t, admin, "a"));
  auto took = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(blocked);
  EXPECT_EQ(blocked.error().code, ErrorCode::kStorageUnavailable) << describe(blocked.error());
  EXPECT_THAT(blocked.error().detail, HasSubstr("57014"));
  EXPECT_LT(took, std::chrono::seconds(3));
  EXPECT_TRUE(store->get_tenant(t.id)) << "plain reads are not blocked by the row lock";
  other.exec("COMMIT");
  EXPECT_TRUE(store->commit_file(commit(t, admin, "a")));
}

}  // namespace
}  // namespace coffer::meta
