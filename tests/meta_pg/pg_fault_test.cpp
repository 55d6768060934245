// PgStore when the database goes away under it: restarted, stopped, killed mid-transaction,
// frozen. Each test starts a PostgreSQL of its own (scripts/pg-test-server.sh, a free port), so
// that stopping it disturbs no other test. What must hold: every call ends within a bounded time,
// with kStorageUnavailable while the database is away, and the same store serves calls again as
// soon as it is back, without being reopened.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <latch>
#include <thread>
#include <vector>

#include "core/ids.h"
#include "meta/postgres/pg_store.h"
#include "meta_pg/pg_test_env.h"

namespace coffer::meta {
namespace {

using postgres::PgStore;
using std::chrono::milliseconds;
using std::chrono::seconds;
using SteadyClock = std::chrono::steady_clock;
using ::testing::HasSubstr;
using ::testing::Not;
namespace pt = pg_testing;

const SystemTime kT0 = from_unix_seconds(1'800'000'000);

class PgFaults : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = pt::pg_server("PG_PORT=0", "start");
    // postgresql://coffer@127.0.0.1:<port>/coffer_test
    auto colon = url_.rfind(':');
    env_ = "PG_PORT=" + url_.substr(colon + 1, url_.rfind('/') - colon - 1);
  }
  void TearDown() override { pt::pg_server(env_, "stop"); }

  void server(const std::string& command) { pt::pg_server(env_, command); }

  postgres::PgOptions options(int pool_size) {
    auto o = pt::test_options(pool_size);
    o.connect_timeout = seconds(2);
    return o;
  }

  // A migrated store with a tenant and its admin.
  std::unique_ptr<PgStore> open_with_tenant(postgres::PgOptions o) {
    auto store = pt::open_migrated(url_, o);
    tenant_.id = new_id();
    tenant_.slug = "acme";
    tenant_.name = "acme";
    tenant_.created_at = kT0;
    admin_.id = new_id();
    admin_.tenant_id = tenant_.id;
    admin_.username = "admin";
    admin_.role = TenantRole::kAdmin;
    admin_.created_at = kT0;
    EXPECT_TRUE(store->create_tenant(tenant_, admin_));
    auto file = store->commit_file(commit("warm"));
    EXPECT_TRUE(file);
    if (file) file_id_ = file->file.id;
    return store;
  }

  CommitRequest commit(const std::string& path) {
    CommitRequest r;
    r.tenant_id = tenant_.id;
    r.new_file_id = new_id();
    r.path = path;
    r.size = 5;
    r.content_type = "text/plain";
    r.sha256 = std::string(64, 'a');
    r.object_key = tenant_.id + "/" + new_id();
    r.user_id = admin_.id;
    r.now = kT0;
    r.replaced_not_before = kT0;
    return r;
  }

  // Fills the pool: `n` connections at once (each call holds its connection until all `n` are
  // inside their transactions), all idle afterwards.
  void warm(PgStore& store, int n) {
    std::latch all_inside(n);
    auto wait_for_all = [&](const FileView&) -> Result<void> {
      all_inside.arrive_and_wait();
      return Ok();
    };
    std::vector<std::thread> threads;
    for (int i = 0; i < n; ++i) {
      threads.emplace_back([&] {
        // A share lock on the file: the n calls do not wait for each other in the database.
        EXPECT_TRUE(store.remove_grant(tenant_.id, file_id_, Principal::kTenant, "", admin_.id,
                                       wait_for_all));
      });
    }
    for (auto& th : threads) th.join();
  }

  std::string url_;
  std::string env_;
  std::string file_id_;  // a file of the tenant, for warm()
  TenantRecord tenant_;
  UserRecord admin_;
};

// Expects kStorageUnavailable that says the database is unavailable and gives nothing away.
void expect_unavailable(const Error& e, const std::string& url) {
  EXPECT_EQ(e.code, ErrorCode::kStorageUnavailable) << e.message << " (" << e.detail << ")";
  EXPECT_THAT(e.message, HasSubstr("database is unavailable"));
  EXPECT_THAT(e.message + e.detail, Not(HasSubstr(url)));
  EXPECT_THAT(e.message + e.detail, Not(HasSubstr("postgresql://")));
  EXPECT_GT(e.retry_after_seconds, 0);
}

TEST_F(PgFaults, AfterARestartTheSameStoreServesCallsAtOnceAndCallsDuringItFailFast) {
  auto store = open_with_tenant(options(/*pool_size=*/3));
  warm(*store, 3);
  ASSERT_EQ(store->open_connections(), 3);

  // Nobody calls during the restart: every pooled connection is stale afterwards. They are
  // noticed when handed out and replaced, so not one call fails.
  server("restart");
  for (int i = 0; i < 10; ++i) {
    auto t = store->get_tenant(tenant_.id);
    ASSERT_TRUE(t) << t.error().detail;
    EXPECT_EQ(t->slug, "acme");
  }
  warm(*store, 3);
  auto c = store->commit_file(commit("after-restart"));
  ASSERT_TRUE(c) << c.error().detail;
  EXPECT_EQ(c->file.version, 1);

  // A caller keeps going through a restart: each call ends quickly, fails only as
  // "unavailable", and the calls after the restart succeed.
  std::atomic<bool> restarting{true};
  std::atomic<int> calls{0};
  std::atomic<int> other_failures{0};
  std::atomic<long> slowest_ms{0};
  std::thread caller([&] {
    while (restarting.load()) {
      auto started = SteadyClock::now();
      auto r = store->get_tenant(tenant_.id);
      long ms = std::chrono::duration_cast<milliseconds>(SteadyClock::now() - started).count();
      slowest_ms = std::max(slowest_ms.load(), ms);
      ++calls;
      if (!r && r.error().code != ErrorCode::kStorageUnavailable) ++other_failures;
      std::this_thread::sleep_for(milliseconds(20));
    }
  });
  server("restart");
  restarting = false;
  caller.join();
  EXPECT_EQ(other_failures.load(), 0);
  EXPECT_LT(slowest_ms.load(), 5000);
  EXPECT_GT(calls.load(), 0);
  for (int i = 0; i < 10; ++i) {
    auto t = store->get_tenant(tenant_.id);
    ASSERT_TRUE(t) << t.error().detail;
  }
  EXPECT_TRUE(store->commit_file(commit("after-second-restart")));
}

TEST_F(PgFaults, WhileTheDatabaseIsDownCallsFailFastAndSucceedOnceItIsBack) {
  auto store = open_with_tenant(options(/*pool_size=*/2));
  warm(*store, 2);
  server("halt");

  for (int i = 0; i < 5; ++i) {
    auto started = SteadyClock::now();
    auto r = store->get_tenant(tenant_.id);
    auto took = SteadyClock::now() - started;
    ASSERT_FALSE(r);
    expect_unavailable(r.error(), url_);
    EXPECT_LT(took, seconds(3)) << "a refused connection is not waited for";
  }
  auto c = store->commit_file(commit("while-down"));
  ASSERT_FALSE(c);
  expect_unavailable(c.error(), url_);
  auto ping = store->ping();
  ASSERT_FALSE(ping);
  expect_unavailable(ping.error(), url_);
  EXPECT_EQ(store->open_connections(), 0) << "failed connections are not kept";

  server("resume");
  auto t = store->get_tenant(tenant_.id);
  ASSERT_TRUE(t) << t.error().detail;
  EXPECT_TRUE(store->ping());
  auto again = store->commit_file(commit("while-down"));
  ASSERT_TRUE(again) << again.error().detail;
  EXPECT_TRUE(again->created) << "the failed commit left nothing behind";
}

TEST_F(PgFaults, ADatabaseStoppedInsideATransactionFailsThatCallAndCommitsNothing) {
  auto store = open_with_tenant(options(/*pool_size=*/1));
  auto first = store->commit_file(commit("a"));
  ASSERT_TRUE(first);

  // The check runs inside the commit's transaction, with the tenant row locked: the server
  // stops right then, and the transaction's next statement finds the connection gone.
  auto replace = commit("a");
  replace.mode = CommitMode::kCreateOrReplace;
  replace.check = [&](const FileView&) -> Result<void> {
    server("halt");
    return Ok();
  };
  auto started = SteadyClock::now();
  auto r = store->commit_file(replace);
  ASSERT_FALSE(r);
  expect_unavailable(r.error(), url_);
  EXPECT_LT(SteadyClock::now() - started, seconds(15));

  server("resume");
  auto a = store->find_file_by_path(tenant_.id, "a", "");
  ASSERT_TRUE(a) << a.error().detail;
  EXPECT_EQ(a->file.version, 1) << "the interrupted replace was rolled back";
  EXPECT_EQ(a->file.object_key, first->file.object_key);
  auto usage = store->get_tenant(tenant_.id);
  ASSERT_TRUE(usage);
  EXPECT_EQ(usage->used_bytes, 10);
  EXPECT_EQ(usage->used_files, 2);
  replace.check = {};
  auto retried = store->commit_file(replace);
  ASSERT_TRUE(retried) << retried.error().detail;
  EXPECT_EQ(retried->file.version, 2);
}

TEST_F(PgFaults, AFrozenDatabaseFailsCallsWithinTheTimeoutsInsteadOfHanging) {
  auto o = options(/*pool_size=*/1);
  o.statement_timeout = milliseconds(500);
  o.response_timeout = milliseconds(1500);
  auto store = open_with_tenant(o);
  ASSERT_TRUE(store->ping());
  server("freeze");

  // The pooled connection: the server never answers; the client gives up after
  // response_timeout and drops the connection.
  auto started = SteadyClock::now();
  auto r = store->get_tenant(tenant_.id);
  auto took = SteadyClock::now() - started;
  ASSERT_FALSE(r);
  expect_unavailable(r.error(), url_);
  EXPECT_GE(took, milliseconds(1400));
  EXPECT_LT(took, seconds(4));
  EXPECT_THAT(r.error().detail, HasSubstr("no answer"));

  // A new connection: the server never completes the login; connect_timeout ends it.
  started = SteadyClock::now();
  r = store->get_tenant(tenant_.id);
  took = SteadyClock::now() - started;
  ASSERT_FALSE(r);
  expect_unavailable(r.error(), url_);
  EXPECT_LT(took, seconds(6));

  server("thaw");
  Result<TenantRecord> back = Error::Internal("not run");
  // The postmaster first works through the logins abandoned while it was frozen.
  auto deadline = SteadyClock::now() + seconds(10);
  while (!(back = store->get_tenant(tenant_.id)) && SteadyClock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(100));
  }
  ASSERT_TRUE(back) << back.error().detail;
  EXPECT_TRUE(store->commit_file(commit("thawed")));
}

}  // namespace
}  // namespace coffer::meta
