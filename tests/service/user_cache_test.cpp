#include "service/user_cache.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace coffer::service {
namespace {

using std::chrono::milliseconds;

meta::UserRecord user(const std::string& id,
                      access::TenantRole role = access::TenantRole::kViewer) {
  meta::UserRecord u;
  u.id = id;
  u.tenant_id = "t1";
  u.username = std::string("name-").append(id);
  u.role = role;
  return u;
}

const UserCache::Clock::time_point kT0{};

TEST(UserCache, AnswersWithinTheTtlOnly) {
  UserCache cache(milliseconds(1000));
  cache.remember(cache.generation(), user("u1"), kT0);
  auto found = cache.find("t1", "u1", kT0 + milliseconds(999));
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->username, "name-u1");
  EXPECT_FALSE(cache.find("t1", "u1", kT0 + milliseconds(1000)).has_value());
  EXPECT_FALSE(cache.find("t2", "u1", kT0).has_value());  // the tenant is part of the key
}

TEST(UserCache, AChangeEmptiesItAtOnce) {
  UserCache cache;
  cache.remember(cache.generation(), user("u1"), kT0);
  cache.forget_all();
  EXPECT_FALSE(cache.find("t1", "u1", kT0).has_value());
}

TEST(UserCache, ARecordReadBeforeAChangeIsNotKept) {
  UserCache cache;
  const auto seen = cache.generation();  // a request starts reading the user...
  cache.forget_all();                    // ...while an admin changes it
  cache.remember(seen, user("u1", access::TenantRole::kAdmin), kT0);
  EXPECT_FALSE(cache.find("t1", "u1", kT0).has_value());
}

TEST(UserCache, AChangeReachesEveryThread) {
  UserCache cache;
  std::thread([&] {
    cache.remember(cache.generation(), user("u1"), kT0);
    EXPECT_TRUE(cache.find("t1", "u1", kT0).has_value());
  }).join();
  cache.forget_all();
  std::thread([&] { EXPECT_FALSE(cache.find("t1", "u1", kT0).has_value()); }).join();
}

TEST(UserCache, TwoCachesNeverAnswerWithEachOthersEntries) {
  // A thread keeps the entries of one cache (a process has one); a second cache used on the same
  // thread may evict them, but never answers with them.
  UserCache a;
  UserCache b;
  a.remember(a.generation(), user("u1", access::TenantRole::kViewer), kT0);
  EXPECT_FALSE(b.find("t1", "u1", kT0).has_value());
  b.remember(b.generation(), user("u1", access::TenantRole::kAdmin), kT0);
  auto from_b = b.find("t1", "u1", kT0);
  ASSERT_TRUE(from_b.has_value());
  EXPECT_EQ(from_b->role, access::TenantRole::kAdmin);
  auto from_a = a.find("t1", "u1", kT0);
  EXPECT_TRUE(!from_a || from_a->role == access::TenantRole::kViewer);
}

TEST(UserCache, StaysWithinItsCapacity) {
  UserCache cache(std::chrono::seconds(1), 8);
  std::vector<std::string> ids;
  for (int i = 0; i < 100; ++i) ids.push_back(std::to_string(1000 + i));
  for (const auto& id : ids) cache.remember(cache.generation(), user(id), kT0);
  int found = 0;
  for (const auto& id : ids) found += cache.find("t1", id, kT0).has_value();
  EXPECT_LE(found, 8);
  EXPECT_TRUE(cache.find("t1", ids.back(), kT0).has_value());
}

}  // namespace
}  // namespace coffer::service
