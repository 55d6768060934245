#include "meta/metadata_store_contract.h"

#include <gmock/gmock.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <latch>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "core/ids.h"

namespace coffer::meta::contract {
namespace {

using std::chrono::seconds;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;
using ::testing::UnorderedElementsAreArray;

const SystemTime kT0 = from_unix_seconds(1'800'000'000);

template <class T>
::testing::AssertionResult ok(const Result<T>& r) {
  if (r) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "error " << static_cast<int>(r.error().code) << ": "
                                       << r.error().message << " (" << r.error().detail << ")";
}

template <class T>
::testing::AssertionResult fails_with(const Result<T>& r, ErrorCode code) {
  if (r) {
    return ::testing::AssertionFailure()
           << "succeeded; expected error code " << static_cast<int>(code);
  }
  if (r.error().code != code) {
    return ::testing::AssertionFailure()
           << "error code " << static_cast<int>(r.error().code) << " (" << r.error().message << ": "
           << r.error().detail << "); expected " << static_cast<int>(code);
  }
  return ::testing::AssertionSuccess();
}

std::vector<std::string> paths_of(const std::vector<FileView>& views) {
  std::vector<std::string> out;
  for (const auto& v : views) out.push_back(v.file.path);
  return out;
}

std::vector<std::string> keys_of(const std::vector<Deletion>& ds) {
  std::vector<std::string> out;
  for (const auto& d : ds) out.push_back(d.object_key);
  return out;
}

std::vector<std::string> ids_of(const std::vector<UploadIntent>& is) {
  std::vector<std::string> out;
  for (const auto& i : is) out.push_back(i.id);
  return out;
}

// A FileCheck that records what it saw and answers `answer`.
struct RecordingCheck {
  std::optional<FileView> seen;
  Result<void> answer = Ok();

  FileCheck fn() {
    return [this](const FileView& v) -> Result<void> {
      seen = v;
      return answer;
    };
  }
};

}  // namespace

// --- fixture ---

void MetadataStoreContract::SetUp() {
  store_ = GetParam().make_store();
  // A backend whose server is missing fails: make test starts every server its tests need.
  ASSERT_TRUE(store_) << GetParam().name << " backend is not configured here";
}

TenantIds MetadataStoreContract::make_tenant(const std::string& slug,
                                             std::optional<std::int64_t> quota_bytes,
                                             std::optional<std::int64_t> quota_files) {
  TenantRecord t;
  t.id = new_id();
  t.slug = slug;
  t.name = "Tenant " + slug;
  t.quota_bytes = quota_bytes;
  t.quota_files = quota_files;
  t.created_at = kT0;
  UserRecord admin;
  admin.id = new_id();
  admin.tenant_id = t.id;
  admin.username = "admin";
  admin.role = TenantRole::kAdmin;
  admin.password_hash = "$argon2id$admin";
  admin.created_at = kT0;
  store_->create_tenant(t, admin).value();
  return {t.id, admin.id};
}

UserRecord MetadataStoreContract::make_user(const std::string& tenant_id,
                                            const std::string& username, TenantRole role,
                                            bool disabled) {
  UserRecord u;
  u.id = new_id();
  u.tenant_id = tenant_id;
  u.username = username;
  u.role = role;
  u.password_hash = "$argon2id$" + username;
  u.disabled = disabled;
  u.created_at = kT0;
  store_->create_user(u).value();
  return u;
}

CommitRequest MetadataStoreContract::commit_request(const std::string& tenant_id,
                                                    const std::string& user_id,
                                                    const std::string& path, std::int64_t size,
                                                    CommitMode mode) {
  CommitRequest r;
  r.tenant_id = tenant_id;
  r.new_file_id = new_id();
  r.path = path;
  r.size = size;
  r.content_type = "application/octet-stream";
  std::string id = new_id();
  r.sha256 = (id + id + id).substr(0, 64);
  r.object_key = tenant_id + "/" + new_id();
  r.user_id = user_id;
  r.mode = mode;
  r.now = kT0;
  r.replaced_not_before = kT0 + seconds(60);
  return r;
}

FileRecord MetadataStoreContract::put_file(const std::string& tenant_id, const std::string& user_id,
                                           const std::string& path, std::int64_t size) {
  return store_->commit_file(commit_request(tenant_id, user_id, path, size)).value().file;
}

GrantRecord MetadataStoreContract::grant(const std::string& tenant_id, const std::string& file_id,
                                         Principal principal, const std::string& user_id,
                                         FileRole role, const std::string& granted_by) {
  GrantRecord g;
  g.file_id = file_id;
  g.tenant_id = tenant_id;
  g.principal = principal;
  g.user_id = user_id;
  g.role = role;
  g.granted_by = granted_by;
  g.granted_at = kT0;
  return g;
}

UploadIntent MetadataStoreContract::intent(const std::string& tenant_id, SystemTime expires_at) {
  UploadIntent i;
  i.id = new_id();
  i.tenant_id = tenant_id;
  i.object_key = tenant_id + "/" + new_id();
  i.kind = IntentKind::kStream;
  i.created_at = kT0;
  i.expires_at = expires_at;
  return i;
}

// --- schema and health ---

TEST_P(MetadataStoreContract, MigrateTwiceIsHarmlessAndKeepsData) {
  auto t = make_tenant("acme");
  ASSERT_TRUE(ok(store_->migrate()));
  ASSERT_TRUE(ok(store_->migrate()));
  auto found = store_->find_tenant_by_slug("acme");
  ASSERT_TRUE(ok(found));
  EXPECT_EQ(found->id, t.id);
}

TEST_P(MetadataStoreContract, PingAnswers) { EXPECT_TRUE(ok(store_->ping())); }

// --- tenants ---

TEST_P(MetadataStoreContract, CreateTenantStoresTheTenantAndItsAdmin) {
  TenantRecord t;
  t.id = new_id();
  t.slug = "acme";
  t.name = "Acme Inc.";
  t.quota_bytes = 1000;
  t.quota_files = 7;
  t.used_bytes = 55;  // ignored: a new tenant has no files
  t.used_files = 3;
  t.created_at = kT0;
  UserRecord admin;
  admin.id = new_id();
  admin.tenant_id = t.id;
  admin.username = "root";
  admin.role = TenantRole::kAdmin;
  admin.password_hash = "$argon2id$x";
  admin.created_at = kT0 + seconds(1);
  ASSERT_TRUE(ok(store_->create_tenant(t, admin)));

  auto got = store_->get_tenant(t.id);
  ASSERT_TRUE(ok(got));
  EXPECT_EQ(got->id, t.id);
  EXPECT_EQ(got->slug, "acme");
  EXPECT_EQ(got->name, "Acme Inc.");
  EXPECT_EQ(got->quota_bytes, 1000);
  EXPECT_EQ(got->quota_files, 7);
  EXPECT_EQ(got->used_bytes, 0);
  EXPECT_EQ(got->used_files, 0);
  EXPECT_EQ(got->created_at, kT0);

  auto by_slug = store_->find_tenant_by_slug("acme");
  ASSERT_TRUE(ok(by_slug));
  EXPECT_EQ(by_slug->id, t.id);

  auto user = store_->get_user(t.id, admin.id);
  ASSERT_TRUE(ok(user));
  EXPECT_EQ(user->username, "root");
  EXPECT_EQ(user->tenant_id, t.id);
  EXPECT_EQ(user->role, TenantRole::kAdmin);
  EXPECT_EQ(user->password_hash, "$argon2id$x");
  EXPECT_FALSE(user->disabled);
  EXPECT_EQ(user->created_at, kT0 + seconds(1));
}

TEST_P(MetadataStoreContract, UnlimitedQuotasRoundTripAsNullopt) {
  auto t = make_tenant("acme");
  auto got = store_->get_tenant(t.id);
  ASSERT_TRUE(ok(got));
  EXPECT_EQ(got->quota_bytes, std::nullopt);
  EXPECT_EQ(got->quota_files, std::nullopt);
}

TEST_P(MetadataStoreContract, TakenSlugConflictsAndCreatesNothing) {
  make_tenant("acme");
  TenantRecord t;
  t.id = new_id();
  t.slug = "acme";
  t.name = "Other";
  t.created_at = kT0;
  UserRecord admin;
  admin.id = new_id();
  admin.tenant_id = t.id;
  admin.username = "admin";
  admin.role = TenantRole::kAdmin;
  admin.created_at = kT0;
  EXPECT_TRUE(fails_with(store_->create_tenant(t, admin), ErrorCode::kConflict));
  EXPECT_TRUE(fails_with(store_->get_tenant(t.id), ErrorCode::kNotFound));
  EXPECT_TRUE(fails_with(store_->get_user(t.id, admin.id), ErrorCode::kNotFound));
}

TEST_P(MetadataStoreContract, UnknownTenantIsNotFound) {
  EXPECT_TRUE(fails_with(store_->get_tenant(new_id()), ErrorCode::kNotFound));
  EXPECT_TRUE(fails_with(store_->find_tenant_by_slug("nope"), ErrorCode::kNotFound));
  TenantPatch patch;
  patch.name = "x";
  EXPECT_TRUE(fails_with(store_->update_tenant(new_id(), patch), ErrorCode::kNotFound));
  EXPECT_TRUE(fails_with(store_->delete_tenant(new_id(), kT0), ErrorCode::kNotFound));
}

TEST_P(MetadataStoreContract, ListTenantsIsOrderedBySlugAfterTheCursor) {
  for (const char* slug : {"cc", "a", "b-b", "b", "d"}) make_tenant(slug);
  auto page = store_->list_tenants("", 3);
  ASSERT_TRUE(ok(page));
  std::vector<std::string> slugs;
  for (const auto& t : *page) slugs.push_back(t.slug);
  EXPECT_THAT(slugs, ElementsAre("a", "b", "b-b"));

  page = store_->list_tenants("b-b", 10);
  ASSERT_TRUE(ok(page));
  slugs.clear();
  for (const auto& t : *page) slugs.push_back(t.slug);
  EXPECT_THAT(slugs, ElementsAre("cc", "d"));

  page = store_->list_tenants("d", 10);
  ASSERT_TRUE(ok(page));
  EXPECT_THAT(*page, IsEmpty());
}

TEST_P(MetadataStoreContract, UpdateTenantChangesOnlyTheGivenFields) {
  auto t = make_tenant("acme", 100, 5);
  TenantPatch rename;
  rename.name = "Renamed";
  auto r = store_->update_tenant(t.id, rename);
  ASSERT_TRUE(ok(r));
  EXPECT_EQ(r->name, "Renamed");
  EXPECT_EQ(r->quota_bytes, 100);
  EXPECT_EQ(r->quota_files, 5);

  TenantPatch quotas;
  quotas.quota_bytes = std::optional<std::int64_t>();  // unlimited
  quotas.quota_files = std::optional<std::int64_t>(9);
  r = store_->update_tenant(t.id, quotas);
  ASSERT_TRUE(ok(r));
  EXPECT_EQ(r->quota_bytes, std::nullopt);
  EXPECT_EQ(r->quota_files, 9);

  auto got = store_->get_tenant(t.id);
  ASSERT_TRUE(ok(got));
  EXPECT_EQ(got->name, "Renamed");
  EXPECT_EQ(got->slug, "acme");
  EXPECT_EQ(got->quota_bytes, std::nullopt);
  EXPECT_EQ(got->quota_files, 9);
}

TEST_P(MetadataStoreContract, DeleteTenantRemovesAllItsRowsAndQueuesEveryObject) {
  auto a = make_tenant("a");
  auto b = make_tenant("b");
  auto alice = make_user(a.id, "alice", TenantRole::kEditor);
  auto f1 = put_file(a.id, alice.id, "one", 10);
  auto f2 = put_file(a.id, a.admin_id, "two", 20);
  ASSERT_TRUE(ok(store_->put_grant(
      grant(a.id, f2.id, Principal::kUser, alice.id, FileRole::kViewer, a.admin_id), {})));
  auto in_flight = intent(a.id, kT0 + seconds(3600));
  ASSERT_TRUE(ok(store_->create_intent(in_flight)));
  auto fb = put_file(b.id, b.admin_id, "one", 7);

  ASSERT_TRUE(ok(store_->delete_tenant(a.id, kT0 + seconds(5))));

  EXPECT_TRUE(fails_with(store_->get_tenant(a.id), ErrorCode::kNotFound));
  EXPECT_TRUE(fails_with(store_->find_tenant_by_slug("a"), ErrorCode::kNotFound));
  EXPECT_TRUE(fails_with(store_->get_user(a.id, alice.id), ErrorCode::kNotFound));
  EXPECT_TRUE(fails_with(store_->get_user(a.id, a.admin_id), ErrorCode::kNotFound));
  EXPECT_TRUE(fails_with(store_->get_file(a.id, f1.id, alice.id), ErrorCode::kNotFound));
  EXPECT_TRUE(fails_with(store_->get_intent(a.id, in_flight.id), ErrorCode::kNotFound));
  auto grants = store_->grants_for_user(a.id, alice.id);
  ASSERT_TRUE(ok(grants));
  EXPECT_THAT(*grants, IsEmpty());

  // Queued at `now`, not before.
  auto early = store_->claim_deletions(kT0 + seconds(4), kT0 + seconds(100), 100);
  ASSERT_TRUE(ok(early));
  EXPECT_THAT(*early, IsEmpty());
  auto due = store_->claim_deletions(kT0 + seconds(5), kT0 + seconds(100), 100);
  ASSERT_TRUE(ok(due));
  EXPECT_THAT(keys_of(*due),
              UnorderedElementsAre(f1.object_key, f2.object_key, in_flight.object_key));

  // The other tenant is untouched.
  auto other = store_->get_file(b.id, fb.id, b.admin_id);
  ASSERT_TRUE(ok(other));
  auto tb = store_->get_tenant(b.id);
  ASSERT_TRUE(ok(tb));
  EXPECT_EQ(tb->used_bytes, 7);
  EXPECT_EQ(tb->used_files, 1);

  EXPECT_TRUE(fails_with(store_->delete_tenant(a.id, kT0), ErrorCode::kNotFound));
  make_tenant("a");  // the slug is free again
}

// --- users ---

TEST_P(MetadataStoreContract, CreateUserAndReadItBack) {
  auto t = make_tenant("acme");
  auto u = make_user(t.id, "alice@example.com", TenantRole::kEditor, /*disabled=*/true);
  auto got = store_->get_user(t.id, u.id);
  ASSERT_TRUE(ok(got));
  EXPECT_EQ(got->id, u.id);
  EXPECT_EQ(got->tenant_id, t.id);
  EXPECT_EQ(got->username, "alice@example.com");
  EXPECT_EQ(got->role, TenantRole::kEditor);
  EXPECT_EQ(got->password_hash, u.password_hash);
  EXPECT_TRUE(got->disabled);
  EXPECT_EQ(got->created_at, kT0);

  auto by_name = store_->find_user_by_name(t.id, "alice@example.com");
  ASSERT_TRUE(ok(by_name));
  EXPECT_EQ(by_name->id, u.id);
  EXPECT_TRUE(
      fails_with(store_->find_user_by_name(t.id, "Alice@example.com"), ErrorCode::kNotFound));
}

TEST_P(MetadataStoreContract, UsersAreInvisibleFromAnotherTenant) {
  auto a = make_tenant("a");
  auto b = make_tenant("b");
  auto u = make_user(a.id, "alice", TenantRole::kViewer);
  EXPECT_TRUE(fails_with(store_->get_user(b.id, u.id), ErrorCode::kNotFound));
  EXPECT_TRUE(fails_with(store_->find_user_by_name(b.id, "alice"), ErrorCode::kNotFound));
  UserPatch patch;
  patch.disabled = true;
  EXPECT_TRUE(fails_with(store_->update_user(b.id, u.id, patch), ErrorCode::kNotFound));
  EXPECT_TRUE(fails_with(store_->delete_user(b.id, u.id, b.admin_id), ErrorCode::kNotFound));
}

TEST_P(MetadataStoreContract, TakenUsernameConflictsWithinATenantOnly) {
  auto a = make_tenant("a");
  auto b = make_tenant("b");
  make_user(a.id, "alice", TenantRole::kViewer);
  UserRecord dup;
  dup.id = new_id();
  dup.tenant_id = a.id;
  dup.username = "alice";
  dup.created_at = kT0;
  EXPECT_TRUE(fails_with(store_->create_user(dup), ErrorCode::kConflict));
  EXPECT_TRUE(fails_with(store_->get_user(a.id, dup.id), ErrorCode::kNotFound));
  dup.tenant_id = b.id;
  EXPECT_TRUE(ok(store_->create_user(dup)));
}

TEST_P(MetadataStoreContract, CreateUserInAnUnknownTenantIsNotFound) {
  UserRecord u;
  u.id = new_id();
  u.tenant_id = new_id();
  u.username = "alice";
  u.created_at = kT0;
  EXPECT_TRUE(fails_with(store_->create_user(u), ErrorCode::kNotFound));
}

TEST_P(MetadataStoreContract, ListUsersIsOrderedByUsernameAfterTheCursor) {
  auto t = make_tenant("acme");
  auto other = make_tenant("other");
  for (const char* name : {"bob", "carol", "alice", "Zed"})
    make_user(t.id, name, TenantRole::kViewer);
  make_user(other.id, "aaron", TenantRole::kViewer);
  auto page = store_->list_users(t.id, "", 3);
  ASSERT_TRUE(ok(page));
  std::vector<std::string> names;
  for (const auto& u : *page) names.push_back(u.username);
  EXPECT_THAT(names, ElementsAre("Zed", "admin", "alice"));  // bytewise: 'Z' < 'a'

  page = store_->list_users(t.id, "alice", 10);
  ASSERT_TRUE(ok(page));
  names.clear();
  for (const auto& u : *page) names.push_back(u.username);
  EXPECT_THAT(names, ElementsAre("bob", "carol"));
}

TEST_P(MetadataStoreContract, UpdateUserChangesOnlyTheGivenFields) {
  auto t = make_tenant("acme");
  auto u = make_user(t.id, "alice", TenantRole::kViewer);
  UserPatch role;
  role.role = TenantRole::kEditor;
  auto r = store_->update_user(t.id, u.id, role);
  ASSERT_TRUE(ok(r));
  EXPECT_EQ(r->role, TenantRole::kEditor);
  EXPECT_FALSE(r->disabled);
  EXPECT_EQ(r->password_hash, u.password_hash);

  UserPatch rest;
  rest.disabled = true;
  rest.password_hash = "$argon2id$new";
  r = store_->update_user(t.id, u.id, rest);
  ASSERT_TRUE(ok(r));
  auto got = store_->get_user(t.id, u.id);
  ASSERT_TRUE(ok(got));
  EXPECT_EQ(got->role, TenantRole::kEditor);
  EXPECT_TRUE(got->disabled);
  EXPECT_EQ(got->password_hash, "$argon2id$new");
  EXPECT_EQ(got->username, "alice");

  EXPECT_TRUE(fails_with(store_->update_user(t.id, new_id(), role), ErrorCode::kNotFound));
}

TEST_P(MetadataStoreContract, TheLastEnabledAdminCannotBeDemoted) {
  auto t = make_tenant("acme");
  make_user(t.id, "ed", TenantRole::kEditor);
  UserPatch demote;
  demote.role = TenantRole::kEditor;
  EXPECT_TRUE(fails_with(store_->update_user(t.id, t.admin_id, demote), ErrorCode::kConflict));
  EXPECT_EQ(store_->get_user(t.id, t.admin_id)->role, TenantRole::kAdmin);
}

TEST_P(MetadataStoreContract, TheLastEnabledAdminCannotBeDisabled) {
  auto t = make_tenant("acme");
  UserPatch disable;
  disable.disabled = true;
  EXPECT_TRUE(fails_with(store_->update_user(t.id, t.admin_id, disable), ErrorCode::kConflict));
  EXPECT_FALSE(store_->get_user(t.id, t.admin_id)->disabled);
}

TEST_P(MetadataStoreContract, TheLastEnabledAdminCannotBeDeleted) {
  auto t = make_tenant("acme");
  auto ed = make_user(t.id, "ed", TenantRole::kEditor);
  EXPECT_TRUE(fails_with(store_->delete_user(t.id, t.admin_id, ed.id), ErrorCode::kConflict));
  EXPECT_TRUE(ok(store_->get_user(t.id, t.admin_id)));
}

TEST_P(MetadataStoreContract, ADisabledAdminDoesNotCountAsTheRemainingAdmin) {
  auto t = make_tenant("acme");
  auto second = make_user(t.id, "second", TenantRole::kAdmin, /*disabled=*/true);
  UserPatch demote;
  demote.role = TenantRole::kViewer;
  EXPECT_TRUE(fails_with(store_->update_user(t.id, t.admin_id, demote), ErrorCode::kConflict));

  UserPatch enable;
  enable.disabled = false;
  ASSERT_TRUE(ok(store_->update_user(t.id, second.id, enable)));
  EXPECT_TRUE(ok(store_->update_user(t.id, t.admin_id, demote)));
  // Now `second` is the only one left.
  UserPatch disable;
  disable.disabled = true;
  EXPECT_TRUE(fails_with(store_->update_user(t.id, second.id, disable), ErrorCode::kConflict));
}

TEST_P(MetadataStoreContract, AnAdminMayGoWhileAnotherEnabledAdminRemains) {
  auto t = make_tenant("acme");
  auto second = make_user(t.id, "second", TenantRole::kAdmin);
  UserPatch disable;
  disable.disabled = true;
  EXPECT_TRUE(ok(store_->update_user(t.id, t.admin_id, disable)));
  EXPECT_TRUE(ok(store_->delete_user(t.id, t.admin_id, second.id)));
  EXPECT_TRUE(fails_with(store_->delete_user(t.id, second.id, second.id), ErrorCode::kConflict));
}

TEST_P(MetadataStoreContract, ChangesThatKeepAnAdminAreNeverRefused) {
  auto t = make_tenant("acme");
  auto ed = make_user(t.id, "ed", TenantRole::kEditor);
  UserPatch password;
  password.password_hash = "$argon2id$rotated";
  EXPECT_TRUE(ok(store_->update_user(t.id, t.admin_id, password)));
  UserPatch still_admin;
  still_admin.role = TenantRole::kAdmin;
  still_admin.disabled = false;
  EXPECT_TRUE(ok(store_->update_user(t.id, t.admin_id, still_admin)));
  UserPatch disable;
  disable.disabled = true;
  EXPECT_TRUE(ok(store_->update_user(t.id, ed.id, disable)));
  EXPECT_TRUE(ok(store_->delete_user(t.id, ed.id, t.admin_id)));
}

TEST_P(MetadataStoreContract, DeleteUserPassesFilesOnAndRemovesTheGrantsTheyHeld) {
  auto t = make_tenant("acme");
  auto alice = make_user(t.id, "alice", TenantRole::kEditor);
  auto bob = make_user(t.id, "bob", TenantRole::kEditor);
  auto a1 = put_file(t.id, alice.id, "a1");
  auto a2 = put_file(t.id, alice.id, "a2");
  auto b1 = put_file(t.id, bob.id, "b1");
  // Held by alice: removed with her.
  ASSERT_TRUE(ok(store_->put_grant(
      grant(t.id, b1.id, Principal::kUser, alice.id, FileRole::kEditor, bob.id), {})));
  // Made by alice: they stay.
  ASSERT_TRUE(ok(store_->put_grant(
      grant(t.id, a1.id, Principal::kUser, bob.id, FileRole::kViewer, alice.id), {})));
  ASSERT_TRUE(ok(store_->put_grant(
      grant(t.id, a1.id, Principal::kTenant, "", FileRole::kViewer, alice.id), {})));

  ASSERT_TRUE(ok(store_->delete_user(t.id, alice.id, t.admin_id)));

  EXPECT_TRUE(fails_with(store_->get_user(t.id, alice.id), ErrorCode::kNotFound));
  EXPECT_TRUE(fails_with(store_->find_user_by_name(t.id, "alice"), ErrorCode::kNotFound));
  EXPECT_EQ(store_->get_file(t.id, a1.id, "")->file.owner_id, t.admin_id);
  EXPECT_EQ(store_->get_file(t.id, a2.id, "")->file.owner_id, t.admin_id);
  EXPECT_EQ(store_->get_file(t.id, b1.id, "")->file.owner_id, bob.id);
  EXPECT_THAT(*store_->grants_for_user(t.id, alice.id), IsEmpty());
  EXPECT_THAT(*store_->grants_for_file(t.id, b1.id), IsEmpty());
  auto kept = store_->grants_for_file(t.id, a1.id);
  ASSERT_TRUE(ok(kept));
  ASSERT_EQ(kept->size(), 2u);
  for (const auto& g : *kept) EXPECT_EQ(g.granted_by, alice.id);

  make_user(t.id, "alice", TenantRole::kViewer);  // the username is free again
}

TEST_P(MetadataStoreContract, DeleteUserNeedsTheUserAndTheNewOwner) {
  auto t = make_tenant("acme");
  auto alice = make_user(t.id, "alice", TenantRole::kEditor);
  EXPECT_TRUE(fails_with(store_->delete_user(t.id, new_id(), t.admin_id), ErrorCode::kNotFound));
  EXPECT_TRUE(fails_with(store_->delete_user(t.id, alice.id, new_id()), ErrorCode::kNotFound));
  EXPECT_TRUE(ok(store_->get_user(t.id, alice.id)));
}

// --- commit ---

TEST_P(MetadataStoreContract, CommitCreatesVersionOneOwnedByTheCommitter) {
  auto t = make_tenant("acme");
  auto alice = make_user(t.id, "alice", TenantRole::kEditor);
  auto req = commit_request(t.id, alice.id, "docs/report.pdf", 123);
  req.content_type = "application/pdf";
  auto r = store_->commit_file(req);
  ASSERT_TRUE(ok(r));
  EXPECT_TRUE(r->created);
  const FileRecord& f = r->file;
  EXPECT_EQ(f.id, req.new_file_id);
  EXPECT_EQ(f.tenant_id, t.id);
  EXPECT_EQ(f.path, "docs/report.pdf");
  EXPECT_EQ(f.size, 123);
  EXPECT_EQ(f.content_type, "application/pdf");
  EXPECT_EQ(f.sha256, req.sha256);
  EXPECT_EQ(f.object_key, req.object_key);
  EXPECT_EQ(f.version, 1);
  EXPECT_EQ(f.owner_id, alice.id);
  EXPECT_EQ(f.created_at, kT0);
  EXPECT_EQ(f.updated_at, kT0);

  for (auto got : {store_->get_file(t.id, f.id, alice.id),
                   store_->find_file_by_path(t.id, "docs/report.pdf", alice.id)}) {
    ASSERT_TRUE(ok(got));
    EXPECT_EQ(got->file.id, f.id);
    EXPECT_EQ(got->file.path, f.path);
    EXPECT_EQ(got->file.size, 123);
    EXPECT_EQ(got->file.content_type, "application/pdf");
    EXPECT_EQ(got->file.sha256, f.sha256);
    EXPECT_EQ(got->file.object_key, f.object_key);
    EXPECT_EQ(got->file.version, 1);
    EXPECT_EQ(got->file.owner_id, alice.id);
    EXPECT_EQ(got->file.created_at, kT0);
    EXPECT_EQ(got->file.updated_at, kT0);
    EXPECT_EQ(file_etag(got->file), file_etag(f));
    EXPECT_EQ(got->user_grant, FileRole::kNone);
    EXPECT_EQ(got->tenant_grant, FileRole::kNone);
  }
  auto usage = store_->get_tenant(t.id);
  EXPECT_EQ(usage->used_bytes, 123);
  EXPECT_EQ(usage->used_files, 1);
}

TEST_P(MetadataStoreContract, CreateOnATakenPathConflictsAndChangesNothing) {
  auto t = make_tenant("acme");
  auto f = put_file(t.id, t.admin_id, "a", 10);
  RecordingCheck check;
  auto req = commit_request(t.id, t.admin_id, "a", 99);
  req.check = check.fn();
  EXPECT_TRUE(fails_with(store_->commit_file(req), ErrorCode::kConflict));
  auto got = store_->get_file(t.id, f.id, t.admin_id);
  EXPECT_EQ(got->file.version, 1);
  EXPECT_EQ(got->file.object_key, f.object_key);
  EXPECT_EQ(store_->get_tenant(t.id)->used_bytes, 10);
  EXPECT_EQ(store_->get_tenant(t.id)->used_files, 1);
  auto refs = store_->referenced_keys({req.object_key});
  EXPECT_THAT(*refs, IsEmpty());
}

TEST_P(MetadataStoreContract, ReplaceKeepsTheFilesIdentityAndBumpsItsVersion) {
  auto t = make_tenant("acme");
  auto alice = make_user(t.id, "alice", TenantRole::kEditor);
  auto bob = make_user(t.id, "bob", TenantRole::kEditor);
  auto f = put_file(t.id, alice.id, "a", 10);

  auto req = commit_request(t.id, bob.id, "a", 30, CommitMode::kCreateOrReplace);
  req.content_type = "text/plain";
  req.now = kT0 + seconds(10);
  req.replaced_not_before = kT0 + seconds(70);
  auto r = store_->commit_file(req);
  ASSERT_TRUE(ok(r));
  EXPECT_FALSE(r->created);
  EXPECT_EQ(r->file.id, f.id);
  EXPECT_EQ(r->file.owner_id, alice.id);
  EXPECT_EQ(r->file.created_at, kT0);
  EXPECT_EQ(r->file.updated_at, kT0 + seconds(10));
  EXPECT_EQ(r->file.version, 2);
  EXPECT_EQ(r->file.size, 30);
  EXPECT_EQ(r->file.content_type, "text/plain");
  EXPECT_EQ(r->file.sha256, req.sha256);
  EXPECT_EQ(r->file.object_key, req.object_key);
  EXPECT_NE(file_etag(r->file), file_etag(f));

  auto got = store_->get_file(t.id, f.id, alice.id);
  ASSERT_TRUE(ok(got));
  EXPECT_EQ(got->file.version, 2);
  EXPECT_EQ(got->file.object_key, req.object_key);
  EXPECT_EQ(got->file.owner_id, alice.id);
  EXPECT_EQ(got->file.created_at, kT0);
  EXPECT_EQ(got->file.updated_at, kT0 + seconds(10));

  auto usage = store_->get_tenant(t.id);
  EXPECT_EQ(usage->used_bytes, 30);
  EXPECT_EQ(usage->used_files, 1);

  // The replaced object is queued, due at replaced_not_before.
  EXPECT_THAT(*store_->claim_deletions(kT0 + seconds(69), kT0 + seconds(200), 10), IsEmpty());
  auto due = store_->claim_deletions(kT0 + seconds(70), kT0 + seconds(200), 10);
  ASSERT_TRUE(ok(due));
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].object_key, f.object_key);
  EXPECT_EQ((*due)[0].not_before, kT0 + seconds(70));
}

TEST_P(MetadataStoreContract, CreateOrReplaceOnAFreePathCreates) {
  auto t = make_tenant("acme");
  RecordingCheck check;
  auto req = commit_request(t.id, t.admin_id, "new", 5, CommitMode::kCreateOrReplace);
  req.check = check.fn();
  auto r = store_->commit_file(req);
  ASSERT_TRUE(ok(r));
  EXPECT_TRUE(r->created);
  EXPECT_EQ(r->file.version, 1);
  EXPECT_EQ(r->file.id, req.new_file_id);
  EXPECT_FALSE(check.seen.has_value()) << "check runs only on an existing file";
}

TEST_P(MetadataStoreContract, CommitCheckSeesTheCurrentFileAndCanAbort) {
  auto t = make_tenant("acme");
  auto alice = make_user(t.id, "alice", TenantRole::kEditor);
  auto bob = make_user(t.id, "bob", TenantRole::kEditor);
  auto f = put_file(t.id, alice.id, "a", 10);
  ASSERT_TRUE(ok(store_->put_grant(
      grant(t.id, f.id, Principal::kUser, bob.id, FileRole::kEditor, alice.id), {})));
  ASSERT_TRUE(ok(store_->put_grant(
      grant(t.id, f.id, Principal::kTenant, "", FileRole::kViewer, alice.id), {})));
  auto upload = intent(t.id, kT0 + seconds(600));
  ASSERT_TRUE(ok(store_->create_intent(upload)));

  RecordingCheck check;
  check.answer = Error::Forbidden();
  auto req = commit_request(t.id, bob.id, "a", 50, CommitMode::kCreateOrReplace);
  req.intent_id = upload.id;
  req.check = check.fn();
  EXPECT_TRUE(fails_with(store_->commit_file(req), ErrorCode::kForbidden));
  ASSERT_TRUE(check.seen.has_value());
  EXPECT_EQ(check.seen->file.id, f.id);
  EXPECT_EQ(check.seen->file.version, 1);
  EXPECT_EQ(check.seen->file.owner_id, alice.id);
  EXPECT_EQ(check.seen->user_grant, FileRole::kEditor);
  EXPECT_EQ(check.seen->tenant_grant, FileRole::kViewer);

  // Rolled back: nothing changed, the intent is still there.
  EXPECT_EQ(store_->get_file(t.id, f.id, bob.id)->file.version, 1);
  EXPECT_EQ(store_->get_tenant(t.id)->used_bytes, 10);
  EXPECT_TRUE(ok(store_->get_intent(t.id, upload.id)));

  check.answer = Ok();
  auto r = store_->commit_file(req);
  ASSERT_TRUE(ok(r));
  EXPECT_EQ(r->file.version, 2);
}

TEST_P(MetadataStoreContract, CommitHonoursIfMatch) {
  auto t = make_tenant("acme");
  auto f = put_file(t.id, t.admin_id, "a", 10);
  auto req = commit_request(t.id, t.admin_id, "a", 20, CommitMode::kCreateOrReplace);
  req.if_match = "\"not-the-etag\"";
  EXPECT_TRUE(fails_with(store_->commit_file(req), ErrorCode::kPreconditionFailed));
  EXPECT_EQ(store_->get_file(t.id, f.id, "")->file.version, 1);
  EXPECT_EQ(store_->get_tenant(t.id)->used_bytes, 10);

  req.if_match = file_etag(f);
  auto r = store_->commit_file(req);
  ASSERT_TRUE(ok(r));
  EXPECT_EQ(r->file.version, 2);

  // The old ETag no longer matches.
  auto again = commit_request(t.id, t.admin_id, "a", 30, CommitMode::kCreateOrReplace);
  again.if_match = file_etag(f);
  EXPECT_TRUE(fails_with(store_->commit_file(again), ErrorCode::kPreconditionFailed));
  // "*" matches any existing file.
  again.if_match = "*";
  EXPECT_TRUE(ok(store_->commit_file(again)));
}

TEST_P(MetadataStoreContract, IfMatchOnAFreePathFails) {
  auto t = make_tenant("acme");
  auto req = commit_request(t.id, t.admin_id, "free", 20, CommitMode::kCreateOrReplace);
  req.if_match = "*";
  EXPECT_TRUE(fails_with(store_->commit_file(req), ErrorCode::kPreconditionFailed));
  EXPECT_TRUE(fails_with(store_->find_file_by_path(t.id, "free", ""), ErrorCode::kNotFound));
}

TEST_P(MetadataStoreContract, CommitDropsItsIntent) {
  auto t = make_tenant("acme");
  auto upload = intent(t.id, kT0 + seconds(600));
  ASSERT_TRUE(ok(store_->create_intent(upload)));
  auto req = commit_request(t.id, t.admin_id, "a", 10);
  req.intent_id = upload.id;
  req.object_key = upload.object_key;
  ASSERT_TRUE(ok(store_->commit_file(req)));
  EXPECT_TRUE(fails_with(store_->get_intent(t.id, upload.id), ErrorCode::kNotFound));
  EXPECT_THAT(*store_->referenced_keys({upload.object_key}), ElementsAre(upload.object_key));
}

TEST_P(MetadataStoreContract, CommitOfAGoneIntentIsNotFound) {
  auto t = make_tenant("acme");
  auto req = commit_request(t.id, t.admin_id, "a", 10);
  req.intent_id = new_id();
  EXPECT_TRUE(fails_with(store_->commit_file(req), ErrorCode::kNotFound));
  EXPECT_TRUE(fails_with(store_->find_file_by_path(t.id, "a", ""), ErrorCode::kNotFound));
}

TEST_P(MetadataStoreContract, CommitOfAnIntentClaimedByTheCollectorIsNotFound) {
  auto t = make_tenant("acme");
  auto upload = intent(t.id, kT0);
  ASSERT_TRUE(ok(store_->create_intent(upload)));
  auto claimed = store_->claim_expired_intents(kT0 + seconds(1), kT0 + seconds(60), 10);
  ASSERT_TRUE(ok(claimed));
  ASSERT_THAT(ids_of(*claimed), ElementsAre(upload.id));
  auto req = commit_request(t.id, t.admin_id, "a", 10);
  req.intent_id = upload.id;
  req.object_key = upload.object_key;
  EXPECT_TRUE(fails_with(store_->commit_file(req), ErrorCode::kNotFound));
  EXPECT_TRUE(fails_with(store_->find_file_by_path(t.id, "a", ""), ErrorCode::kNotFound));
}

TEST_P(MetadataStoreContract, CommitInAnUnknownTenantIsNotFound) {
  auto req = commit_request(new_id(), new_id(), "a", 10);
  EXPECT_TRUE(fails_with(store_->commit_file(req), ErrorCode::kNotFound));
}

// --- quotas and usage ---

TEST_P(MetadataStoreContract, ByteQuotaAdmitsUpToTheLimitAndNoFurther) {
  auto t = make_tenant("acme", /*quota_bytes=*/100);
  put_file(t.id, t.admin_id, "a", 60);
  EXPECT_TRUE(fails_with(store_->commit_file(commit_request(t.id, t.admin_id, "b", 41)),
                         ErrorCode::kQuotaExceeded));
  EXPECT_TRUE(fails_with(store_->find_file_by_path(t.id, "b", ""), ErrorCode::kNotFound));
  EXPECT_TRUE(ok(store_->commit_file(commit_request(t.id, t.admin_id, "b", 40))));
  auto usage = store_->get_tenant(t.id);
  EXPECT_EQ(usage->used_bytes, 100);
  EXPECT_EQ(usage->used_files, 2);
  EXPECT_TRUE(ok(store_->commit_file(commit_request(t.id, t.admin_id, "empty", 0))));
}

TEST_P(MetadataStoreContract, ReplacingCountsOnlyTheDifferenceAgainstTheByteQuota) {
  auto t = make_tenant("acme", /*quota_bytes=*/100);
  put_file(t.id, t.admin_id, "a", 60);
  put_file(t.id, t.admin_id, "b", 40);
  auto grow = commit_request(t.id, t.admin_id, "a", 61, CommitMode::kCreateOrReplace);
  EXPECT_TRUE(fails_with(store_->commit_file(grow), ErrorCode::kQuotaExceeded));
  EXPECT_EQ(store_->find_file_by_path(t.id, "a", "")->file.version, 1);
  EXPECT_TRUE(ok(store_->commit_file(
      commit_request(t.id, t.admin_id, "a", 60, CommitMode::kCreateOrReplace))));
  EXPECT_TRUE(ok(store_->commit_file(
      commit_request(t.id, t.admin_id, "a", 50, CommitMode::kCreateOrReplace))));
  EXPECT_TRUE(ok(store_->commit_file(
      commit_request(t.id, t.admin_id, "b", 50, CommitMode::kCreateOrReplace))));
  auto usage = store_->get_tenant(t.id);
  EXPECT_EQ(usage->used_bytes, 100);
  EXPECT_EQ(usage->used_files, 2);
}

TEST_P(MetadataStoreContract, FileQuotaCountsOnlyNewFiles) {
  auto t = make_tenant("acme", std::nullopt, /*quota_files=*/2);
  put_file(t.id, t.admin_id, "a", 1);
  auto b = put_file(t.id, t.admin_id, "b", 1);
  EXPECT_TRUE(fails_with(store_->commit_file(commit_request(t.id, t.admin_id, "c", 1)),
                         ErrorCode::kQuotaExceeded));
  EXPECT_TRUE(fails_with(
      store_->commit_file(commit_request(t.id, t.admin_id, "c", 1, CommitMode::kCreateOrReplace)),
      ErrorCode::kQuotaExceeded));
  EXPECT_TRUE(ok(
      store_->commit_file(commit_request(t.id, t.admin_id, "a", 5, CommitMode::kCreateOrReplace))));
  ASSERT_TRUE(ok(store_->delete_file(t.id, b.id, t.admin_id, {}, {}, kT0)));
  EXPECT_TRUE(ok(store_->commit_file(commit_request(t.id, t.admin_id, "c", 1))));
  EXPECT_EQ(store_->get_tenant(t.id)->used_files, 2);
}

TEST_P(MetadataStoreContract, AQuotaLoweredBelowUsageRefusesGrowth) {
  auto t = make_tenant("acme");
  put_file(t.id, t.admin_id, "a", 50);
  TenantPatch patch;
  patch.quota_bytes = std::optional<std::int64_t>(10);
  ASSERT_TRUE(ok(store_->update_tenant(t.id, patch)));
  EXPECT_TRUE(fails_with(store_->commit_file(commit_request(t.id, t.admin_id, "b", 1)),
                         ErrorCode::kQuotaExceeded));
}

TEST_P(MetadataStoreContract, UsageCountersStayExactThroughCreateReplaceAndDelete) {
  auto t = make_tenant("acme");
  auto other = make_tenant("other");
  auto expect_usage = [&](std::int64_t bytes, std::int64_t files) {
    auto got = store_->get_tenant(t.id);
    ASSERT_TRUE(ok(got));
    EXPECT_EQ(got->used_bytes, bytes);
    EXPECT_EQ(got->used_files, files);
  };
  auto a = put_file(t.id, t.admin_id, "a", 10);
  expect_usage(10, 1);
  auto b = put_file(t.id, t.admin_id, "b", 20);
  expect_usage(30, 2);
  put_file(other.id, other.admin_id, "a", 1000);
  expect_usage(30, 2);
  ASSERT_TRUE(ok(
      store_->commit_file(commit_request(t.id, t.admin_id, "a", 3, CommitMode::kCreateOrReplace))));
  expect_usage(23, 2);
  ASSERT_TRUE(ok(store_->rename_file(t.id, b.id, t.admin_id, "c", {}, {}, kT0)));
  expect_usage(23, 2);
  ASSERT_TRUE(ok(store_->delete_file(t.id, b.id, t.admin_id, {}, {}, kT0)));
  expect_usage(3, 1);
  ASSERT_TRUE(ok(store_->delete_file(t.id, a.id, t.admin_id, {}, {}, kT0)));
  expect_usage(0, 0);
  EXPECT_EQ(store_->get_tenant(other.id)->used_bytes, 1000);
}

// --- concurrency of commits and deletes ---

TEST_P(MetadataStoreContract, ConcurrentReplacesEachGetTheirOwnVersion) {
  auto t = make_tenant("acme");
  auto first = put_file(t.id, t.admin_id, "hot", 1);
  constexpr int kThreads = 8;
  std::vector<CommitRequest> requests;
  for (int i = 0; i < kThreads; ++i) {
    requests.push_back(
        commit_request(t.id, t.admin_id, "hot", 100 + i, CommitMode::kCreateOrReplace));
  }
  std::vector<Result<CommitResult>> results(kThreads, Error::Internal("not run"));
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      results[i] = store_->commit_file(requests[i]);
    });
  }
  for (auto& th : threads) th.join();

  std::set<std::int64_t> versions{first.version};
  std::int64_t last_size = 0;
  std::string last_key;
  for (const auto& r : results) {
    ASSERT_TRUE(ok(r));
    EXPECT_FALSE(r->created);
    EXPECT_EQ(r->file.id, first.id);
    versions.insert(r->file.version);
    if (r->file.version == kThreads + 1) {
      last_size = r->file.size;
      last_key = r->file.object_key;
    }
  }
  EXPECT_EQ(versions, (std::set<std::int64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9}));

  auto now = store_->get_file(t.id, first.id, "");
  ASSERT_TRUE(ok(now));
  EXPECT_EQ(now->file.version, kThreads + 1);
  EXPECT_EQ(now->file.object_key, last_key);
  auto usage = store_->get_tenant(t.id);
  EXPECT_EQ(usage->used_bytes, last_size);
  EXPECT_EQ(usage->used_files, 1);

  // Every replaced object is queued exactly once; the live one is not.
  std::vector<std::string> replaced{first.object_key};
  for (const auto& r : requests) {
    if (r.object_key != last_key) replaced.push_back(r.object_key);
  }
  auto queued = store_->claim_deletions(kT0 + seconds(3600), kT0 + seconds(7200), 100);
  ASSERT_TRUE(ok(queued));
  EXPECT_THAT(keys_of(*queued), UnorderedElementsAreArray(replaced));
}

TEST_P(MetadataStoreContract, ConcurrentCreateOrReplaceOnAFreePathCreatesOnce) {
  auto t = make_tenant("acme");
  constexpr int kThreads = 9;
  std::vector<Result<CommitResult>> results(kThreads, Error::Internal("not run"));
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    auto req = commit_request(t.id, t.admin_id, "hot", 10, CommitMode::kCreateOrReplace);
    threads.emplace_back([&, i, req] {
      start.arrive_and_wait();
      results[i] = store_->commit_file(req);
    });
  }
  for (auto& th : threads) th.join();
  std::set<std::int64_t> versions;
  std::set<std::string> ids;
  int created = 0;
  for (const auto& r : results) {
    ASSERT_TRUE(ok(r));
    versions.insert(r->file.version);
    ids.insert(r->file.id);
    created += r->created ? 1 : 0;
  }
  EXPECT_EQ(versions, (std::set<std::int64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9}));
  EXPECT_EQ(ids.size(), 1u);
  EXPECT_EQ(created, 1);
  EXPECT_EQ(store_->get_tenant(t.id)->used_files, 1);
}

TEST_P(MetadataStoreContract, OfConcurrentCreatesOfOnePathExactlyOneWins) {
  auto t = make_tenant("acme");
  constexpr int kThreads = 16;
  std::vector<CommitRequest> requests;
  for (int i = 0; i < kThreads; ++i) {
    requests.push_back(commit_request(t.id, t.admin_id, "race", i + 1));
  }
  std::vector<Result<CommitResult>> results(kThreads, Error::Internal("not run"));
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      results[i] = store_->commit_file(requests[i]);
    });
  }
  for (auto& th : threads) th.join();
  int won = -1;
  int conflicts = 0;
  for (int i = 0; i < kThreads; ++i) {
    if (results[i]) {
      EXPECT_EQ(won, -1) << "two creates succeeded";
      won = i;
    } else {
      EXPECT_TRUE(fails_with(results[i], ErrorCode::kConflict));
      ++conflicts;
    }
  }
  ASSERT_NE(won, -1);
  EXPECT_EQ(conflicts, kThreads - 1);
  auto stored = store_->find_file_by_path(t.id, "race", "");
  ASSERT_TRUE(ok(stored));
  EXPECT_EQ(stored->file.id, requests[won].new_file_id);
  EXPECT_EQ(stored->file.version, 1);
  auto usage = store_->get_tenant(t.id);
  EXPECT_EQ(usage->used_files, 1);
  EXPECT_EQ(usage->used_bytes, won + 1);
}

TEST_P(MetadataStoreContract, OfConcurrentDeletesOfOneFileExactlyOneWins) {
  auto t = make_tenant("acme");
  auto f = put_file(t.id, t.admin_id, "doomed", 42);
  constexpr int kThreads = 8;
  std::vector<Result<FileRecord>> results(kThreads, Error::Internal("not run"));
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      results[i] = store_->delete_file(t.id, f.id, t.admin_id, {}, {}, kT0);
    });
  }
  for (auto& th : threads) th.join();
  int wins = 0;
  for (const auto& r : results) {
    if (r) {
      ++wins;
      EXPECT_EQ(r->id, f.id);
    } else {
      EXPECT_TRUE(fails_with(r, ErrorCode::kNotFound));
    }
  }
  EXPECT_EQ(wins, 1);
  auto usage = store_->get_tenant(t.id);
  EXPECT_EQ(usage->used_bytes, 0);
  EXPECT_EQ(usage->used_files, 0);
  auto queued = store_->claim_deletions(kT0, kT0 + seconds(60), 100);
  EXPECT_THAT(keys_of(*queued), ElementsAre(f.object_key));
}

// --- rename ---

TEST_P(MetadataStoreContract, RenameMovesTheFileAndKeepsItsContentAndGrants) {
  auto t = make_tenant("acme");
  auto bob = make_user(t.id, "bob", TenantRole::kViewer);
  auto f = put_file(t.id, t.admin_id, "old/name.txt", 10);
  ASSERT_TRUE(ok(store_->put_grant(
      grant(t.id, f.id, Principal::kUser, bob.id, FileRole::kEditor, t.admin_id), {})));
  auto r = store_->rename_file(t.id, f.id, bob.id, "new/dir/name.txt", {}, {}, kT0 + seconds(5));
  ASSERT_TRUE(ok(r));
  EXPECT_EQ(r->id, f.id);
  EXPECT_EQ(r->path, "new/dir/name.txt");
  EXPECT_EQ(r->version, f.version);
  EXPECT_EQ(r->object_key, f.object_key);
  EXPECT_EQ(file_etag(*r), file_etag(f));
  EXPECT_EQ(r->created_at, kT0);
  EXPECT_EQ(r->updated_at, kT0 + seconds(5));

  EXPECT_TRUE(
      fails_with(store_->find_file_by_path(t.id, "old/name.txt", bob.id), ErrorCode::kNotFound));
  auto moved = store_->find_file_by_path(t.id, "new/dir/name.txt", bob.id);
  ASSERT_TRUE(ok(moved));
  EXPECT_EQ(moved->file.id, f.id);
  EXPECT_EQ(moved->user_grant, FileRole::kEditor);
  EXPECT_EQ(moved->file.updated_at, kT0 + seconds(5));
  // Nothing to delete: bytes are never copied.
  EXPECT_THAT(*store_->claim_deletions(kT0 + seconds(3600), kT0 + seconds(7200), 10), IsEmpty());
  // The old path is free.
  EXPECT_TRUE(ok(store_->commit_file(commit_request(t.id, t.admin_id, "old/name.txt", 1))));
}

TEST_P(MetadataStoreContract, RenameOntoATakenPathConflicts) {
  auto t = make_tenant("acme");
  auto a = put_file(t.id, t.admin_id, "a");
  auto b = put_file(t.id, t.admin_id, "b");
  EXPECT_TRUE(fails_with(store_->rename_file(t.id, a.id, t.admin_id, "b", {}, {}, kT0),
                         ErrorCode::kConflict));
  EXPECT_EQ(store_->get_file(t.id, a.id, "")->file.path, "a");
  EXPECT_EQ(store_->get_file(t.id, b.id, "")->file.path, "b");
}

TEST_P(MetadataStoreContract, RenameToItsOwnPathChangesNothing) {
  auto t = make_tenant("acme");
  auto a = put_file(t.id, t.admin_id, "a");
  auto r = store_->rename_file(t.id, a.id, t.admin_id, "a", {}, {}, kT0 + seconds(9));
  ASSERT_TRUE(ok(r));
  EXPECT_EQ(r->path, "a");
  EXPECT_EQ(r->version, 1);
}

TEST_P(MetadataStoreContract, RenameOfAnAbsentFileIsNotFound) {
  auto a = make_tenant("a");
  auto b = make_tenant("b");
  auto f = put_file(a.id, a.admin_id, "x");
  EXPECT_TRUE(fails_with(store_->rename_file(a.id, new_id(), a.admin_id, "y", {}, {}, kT0),
                         ErrorCode::kNotFound));
  EXPECT_TRUE(fails_with(store_->rename_file(b.id, f.id, b.admin_id, "y", {}, {}, kT0),
                         ErrorCode::kNotFound));
}

TEST_P(MetadataStoreContract, RenameRunsTheCheckThenIfMatch) {
  auto t = make_tenant("acme");
  auto bob = make_user(t.id, "bob", TenantRole::kEditor);
  auto f = put_file(t.id, t.admin_id, "a");
  ASSERT_TRUE(ok(store_->put_grant(
      grant(t.id, f.id, Principal::kTenant, "", FileRole::kViewer, t.admin_id), {})));
  RecordingCheck check;
  check.answer = Error::Forbidden();
  EXPECT_TRUE(fails_with(store_->rename_file(t.id, f.id, bob.id, "b", {}, check.fn(), kT0),
                         ErrorCode::kForbidden));
  ASSERT_TRUE(check.seen.has_value());
  EXPECT_EQ(check.seen->file.path, "a");
  EXPECT_EQ(check.seen->tenant_grant, FileRole::kViewer);
  EXPECT_EQ(check.seen->user_grant, FileRole::kNone);

  check.answer = Ok();
  EXPECT_TRUE(fails_with(
      store_->rename_file(t.id, f.id, bob.id, "b", std::string("\"stale\""), check.fn(), kT0),
      ErrorCode::kPreconditionFailed));
  EXPECT_EQ(store_->get_file(t.id, f.id, "")->file.path, "a");
  EXPECT_TRUE(ok(store_->rename_file(t.id, f.id, bob.id, "b", file_etag(f), check.fn(), kT0)));
}

// --- delete ---

TEST_P(MetadataStoreContract, DeleteRemovesTheFileAndItsGrantsAndQueuesItsObject) {
  auto t = make_tenant("acme");
  auto bob = make_user(t.id, "bob", TenantRole::kViewer);
  auto f = put_file(t.id, t.admin_id, "a", 25);
  ASSERT_TRUE(ok(store_->put_grant(
      grant(t.id, f.id, Principal::kUser, bob.id, FileRole::kViewer, t.admin_id), {})));
  ASSERT_TRUE(ok(store_->put_grant(
      grant(t.id, f.id, Principal::kTenant, "", FileRole::kViewer, t.admin_id), {})));

  auto r = store_->delete_file(t.id, f.id, t.admin_id, {}, {}, kT0 + seconds(30));
  ASSERT_TRUE(ok(r));
  EXPECT_EQ(r->id, f.id);
  EXPECT_EQ(r->object_key, f.object_key);
  EXPECT_EQ(r->size, 25);

  EXPECT_TRUE(fails_with(store_->get_file(t.id, f.id, bob.id), ErrorCode::kNotFound));
  EXPECT_TRUE(fails_with(store_->find_file_by_path(t.id, "a", bob.id), ErrorCode::kNotFound));
  EXPECT_THAT(*store_->grants_for_file(t.id, f.id), IsEmpty());
  EXPECT_THAT(*store_->grants_for_user(t.id, bob.id), IsEmpty());
  EXPECT_EQ(store_->get_tenant(t.id)->used_bytes, 0);
  EXPECT_EQ(store_->get_tenant(t.id)->used_files, 0);
  EXPECT_THAT(*store_->referenced_keys({f.object_key}), ElementsAre(f.object_key));

  EXPECT_THAT(*store_->claim_deletions(kT0 + seconds(29), kT0 + seconds(100), 10), IsEmpty());
  auto due = store_->claim_deletions(kT0 + seconds(30), kT0 + seconds(100), 10);
  EXPECT_THAT(keys_of(*due), ElementsAre(f.object_key));

  // The path is free, and a new file there starts afresh.
  auto again = store_->commit_file(commit_request(t.id, t.admin_id, "a", 1));
  ASSERT_TRUE(ok(again));
  EXPECT_EQ(again->file.version, 1);
  EXPECT_NE(again->file.id, f.id);
  EXPECT_EQ(store_->get_file(t.id, again->file.id, bob.id)->tenant_grant, FileRole::kNone);
}

TEST_P(MetadataStoreContract, DeleteRunsTheCheckThenIfMatch) {
  auto t = make_tenant("acme");
  auto f = put_file(t.id, t.admin_id, "a", 5);
  RecordingCheck check;
  check.answer = Error::Forbidden();
  EXPECT_TRUE(fails_with(store_->delete_file(t.id, f.id, t.admin_id, {}, check.fn(), kT0),
                         ErrorCode::kForbidden));
  ASSERT_TRUE(check.seen.has_value());
  EXPECT_EQ(check.seen->file.id, f.id);
  check.answer = Ok();
  EXPECT_TRUE(fails_with(
      store_->delete_file(t.id, f.id, t.admin_id, std::string("\"stale\""), check.fn(), kT0),
      ErrorCode::kPreconditionFailed));
  EXPECT_TRUE(ok(store_->get_file(t.id, f.id, "")));
  EXPECT_EQ(store_->get_tenant(t.id)->used_files, 1);
  EXPECT_TRUE(ok(store_->delete_file(t.id, f.id, t.admin_id, file_etag(f), check.fn(), kT0)));
}

TEST_P(MetadataStoreContract, DeleteOfAnAbsentFileIsNotFound) {
  auto a = make_tenant("a");
  auto b = make_tenant("b");
  auto f = put_file(a.id, a.admin_id, "x");
  EXPECT_TRUE(fails_with(store_->delete_file(a.id, new_id(), a.admin_id, {}, {}, kT0),
                         ErrorCode::kNotFound));
  EXPECT_TRUE(
      fails_with(store_->delete_file(b.id, f.id, b.admin_id, {}, {}, kT0), ErrorCode::kNotFound));
  EXPECT_TRUE(ok(store_->get_file(a.id, f.id, "")));
}

// --- file views ---

TEST_P(MetadataStoreContract, AFileViewCarriesTheUsersGrantAndTheTenantGrant) {
  auto t = make_tenant("acme");
  auto bob = make_user(t.id, "bob", TenantRole::kEditor);
  auto carol = make_user(t.id, "carol", TenantRole::kViewer);
  auto dave = make_user(t.id, "dave", TenantRole::kViewer);
  auto f = put_file(t.id, t.admin_id, "a");
  auto plain = put_file(t.id, t.admin_id, "b");
  ASSERT_TRUE(ok(store_->put_grant(
      grant(t.id, f.id, Principal::kUser, bob.id, FileRole::kAdmin, t.admin_id), {})));
  ASSERT_TRUE(ok(store_->put_grant(
      grant(t.id, f.id, Principal::kUser, carol.id, FileRole::kViewer, t.admin_id), {})));
  ASSERT_TRUE(ok(store_->put_grant(
      grant(t.id, f.id, Principal::kTenant, "", FileRole::kEditor, t.admin_id), {})));

  struct Case {
    std::string user;
    FileRole user_grant;
  };
  for (const auto& c : {Case{bob.id, FileRole::kAdmin}, Case{carol.id, FileRole::kViewer},
                        Case{dave.id, FileRole::kNone}, Case{"", FileRole::kNone}}) {
    for (auto v :
         {store_->get_file(t.id, f.id, c.user), store_->find_file_by_path(t.id, "a", c.user)}) {
      ASSERT_TRUE(ok(v));
      EXPECT_EQ(v->user_grant, c.user_grant) << c.user;
      EXPECT_EQ(v->tenant_grant, FileRole::kEditor) << c.user;
    }
  }
  auto v = store_->get_file(t.id, plain.id, bob.id);
  ASSERT_TRUE(ok(v));
  EXPECT_EQ(v->user_grant, FileRole::kNone);
  EXPECT_EQ(v->tenant_grant, FileRole::kNone);
}

TEST_P(MetadataStoreContract, FilesAreInvisibleFromAnotherTenant) {
  auto a = make_tenant("a");
  auto b = make_tenant("b");
  auto f = put_file(a.id, a.admin_id, "same/path");
  EXPECT_TRUE(fails_with(store_->get_file(b.id, f.id, b.admin_id), ErrorCode::kNotFound));
  EXPECT_TRUE(
      fails_with(store_->find_file_by_path(b.id, "same/path", b.admin_id), ErrorCode::kNotFound));
  auto other = store_->commit_file(commit_request(b.id, b.admin_id, "same/path", 1));
  ASSERT_TRUE(ok(other));
  EXPECT_TRUE(other->created);
}

// --- scan ---

TEST_P(MetadataStoreContract, ScanOrdersPathsByTheirUtf8Bytes) {
  auto t = make_tenant("acme");
  const std::string nfc = "caf\xC3\xA9";   // café, precomposed
  const std::string nfd = "cafe\xCC\x81";  // café, e + combining acute
  const std::string emoji = "\xF0\x9F\x98\x80";
  const std::string kanji = "\xE6\x97\xA5";
  for (const std::string& p :
       {std::string("b"), std::string("a/b"), std::string("a"), std::string("B"), nfc, nfd, kanji,
        std::string("~"), std::string("a.b"), std::string("a0"), emoji}) {
    ASSERT_TRUE(ok(store_->commit_file(commit_request(t.id, t.admin_id, p, 1)))) << p;
  }
  ListFilter all{t.id, t.admin_id, true};
  auto r = store_->scan_files(all, "", false, "", 100);
  ASSERT_TRUE(ok(r));
  EXPECT_THAT(paths_of(*r),
              ElementsAre("B", "a", "a.b", "a/b", "a0", "b", nfd, nfc, "~", kanji, emoji));
  // NFC and NFD are different paths.
  EXPECT_NE(store_->find_file_by_path(t.id, nfc, "")->file.id,
            store_->find_file_by_path(t.id, nfd, "")->file.id);
}

TEST_P(MetadataStoreContract, ScanHonoursBoundsAndLimit) {
  auto t = make_tenant("acme");
  for (const char* p : {"f/0", "f/1", "f/2", "f/3", "f/4", "f/5", "f0", "g", "e"}) {
    put_file(t.id, t.admin_id, p);
  }
  ListFilter all{t.id, t.admin_id, true};
  auto scan = [&](const std::string& lower, bool inclusive, const std::string& upper, int limit) {
    auto r = store_->scan_files(all, lower, inclusive, upper, limit);
    EXPECT_TRUE(ok(r));
    return r ? paths_of(*r) : std::vector<std::string>{};
  };
  EXPECT_THAT(scan("", false, "", 100),
              ElementsAre("e", "f/0", "f/1", "f/2", "f/3", "f/4", "f/5", "f0", "g"));
  EXPECT_THAT(scan("f/2", false, "", 3), ElementsAre("f/3", "f/4", "f/5"));
  EXPECT_THAT(scan("f/2", true, "", 3), ElementsAre("f/2", "f/3", "f/4"));
  EXPECT_THAT(scan("f/2", true, "f/4", 100), ElementsAre("f/2", "f/3"));
  // A prefix scan: "f/" <= path < "f0" ('0' follows '/').
  EXPECT_THAT(scan("f/", true, "f0", 100), ElementsAre("f/0", "f/1", "f/2", "f/3", "f/4", "f/5"));
  EXPECT_THAT(scan("f/", true, "f0", 2), ElementsAre("f/0", "f/1"));
  EXPECT_THAT(scan("g", false, "", 100), IsEmpty());
  EXPECT_THAT(scan("", false, "e", 100), IsEmpty());
}

TEST_P(MetadataStoreContract, ScanForANonAdminReturnsOnlyFilesTheyHaveARoleOn) {
  auto t = make_tenant("acme");
  auto alice = make_user(t.id, "alice", TenantRole::kEditor);
  auto bob = make_user(t.id, "bob", TenantRole::kEditor);
  auto carol = make_user(t.id, "carol", TenantRole::kViewer);
  put_file(t.id, alice.id, "a-owned");
  auto granted = put_file(t.id, bob.id, "b-granted");
  auto shared = put_file(t.id, bob.id, "c-tenant");
  auto others = put_file(t.id, bob.id, "d-other-users-grant");
  put_file(t.id, bob.id, "e-nothing");
  ASSERT_TRUE(ok(store_->put_grant(
      grant(t.id, granted.id, Principal::kUser, alice.id, FileRole::kViewer, bob.id), {})));
  ASSERT_TRUE(ok(store_->put_grant(
      grant(t.id, shared.id, Principal::kTenant, "", FileRole::kEditor, bob.id), {})));
  ASSERT_TRUE(ok(store_->put_grant(
      grant(t.id, others.id, Principal::kUser, carol.id, FileRole::kAdmin, bob.id), {})));

  ListFilter mine{t.id, alice.id, false};
  auto r = store_->scan_files(mine, "", false, "", 100);
  ASSERT_TRUE(ok(r));
  ASSERT_THAT(paths_of(*r), ElementsAre("a-owned", "b-granted", "c-tenant"));
  EXPECT_EQ((*r)[0].user_grant, FileRole::kNone);
  EXPECT_EQ((*r)[1].user_grant, FileRole::kViewer);
  EXPECT_EQ((*r)[2].tenant_grant, FileRole::kEditor);

  // The limit counts what is returned, not what is skipped.
  r = store_->scan_files(mine, "a-owned", false, "", 2);
  ASSERT_TRUE(ok(r));
  EXPECT_THAT(paths_of(*r), ElementsAre("b-granted", "c-tenant"));

  ListFilter carols{t.id, carol.id, false};
  r = store_->scan_files(carols, "", false, "", 100);
  ASSERT_TRUE(ok(r));
  ASSERT_THAT(paths_of(*r), ElementsAre("c-tenant", "d-other-users-grant"));
  EXPECT_EQ((*r)[1].user_grant, FileRole::kAdmin);

  // An admin sees everything, still with their own grants in the views.
  ListFilter admin{t.id, alice.id, true};
  r = store_->scan_files(admin, "", false, "", 100);
  ASSERT_TRUE(ok(r));
  EXPECT_EQ(r->size(), 5u);
  EXPECT_EQ((*r)[1].user_grant, FileRole::kViewer);
}

TEST_P(MetadataStoreContract, ScanStaysInsideTheTenant) {
  auto a = make_tenant("a");
  auto b = make_tenant("b");
  put_file(a.id, a.admin_id, "x");
  put_file(b.id, b.admin_id, "y");
  auto r = store_->scan_files(ListFilter{a.id, a.admin_id, true}, "", false, "", 100);
  ASSERT_TRUE(ok(r));
  EXPECT_THAT(paths_of(*r), ElementsAre("x"));
}

// --- grants ---

TEST_P(MetadataStoreContract, PutGrantCreatesThenReplaces) {
  auto t = make_tenant("acme");
  auto bob = make_user(t.id, "bob", TenantRole::kEditor);
  auto carol = make_user(t.id, "carol", TenantRole::kAdmin);
  auto f = put_file(t.id, t.admin_id, "a");

  auto g = grant(t.id, f.id, Principal::kUser, bob.id, FileRole::kViewer, t.admin_id);
  auto r = store_->put_grant(g, {});
  ASSERT_TRUE(ok(r));
  EXPECT_EQ(r->role, FileRole::kViewer);

  g.role = FileRole::kEditor;
  g.granted_by = carol.id;
  g.granted_at = kT0 + seconds(7);
  r = store_->put_grant(g, {});
  ASSERT_TRUE(ok(r));

  auto grants = store_->grants_for_file(t.id, f.id);
  ASSERT_TRUE(ok(grants));
  ASSERT_EQ(grants->size(), 1u);
  const GrantRecord& stored = (*grants)[0];
  EXPECT_EQ(stored.file_id, f.id);
  EXPECT_EQ(stored.tenant_id, t.id);
  EXPECT_EQ(stored.principal, Principal::kUser);
  EXPECT_EQ(stored.user_id, bob.id);
  EXPECT_EQ(stored.role, FileRole::kEditor);
  EXPECT_EQ(stored.granted_by, carol.id);
  EXPECT_EQ(stored.granted_at, kT0 + seconds(7));
  EXPECT_EQ(store_->get_file(t.id, f.id, bob.id)->user_grant, FileRole::kEditor);
}

TEST_P(MetadataStoreContract, TheTenantGrantHasNoUser) {
  auto t = make_tenant("acme");
  auto bob = make_user(t.id, "bob", TenantRole::kEditor);
  auto f = put_file(t.id, t.admin_id, "a");
  ASSERT_TRUE(ok(store_->put_grant(
      grant(t.id, f.id, Principal::kUser, bob.id, FileRole::kViewer, t.admin_id), {})));
  auto r = store_->put_grant(
      grant(t.id, f.id, Principal::kTenant, "", FileRole::kViewer, t.admin_id), {});
  ASSERT_TRUE(ok(r));
  EXPECT_EQ(r->principal, Principal::kTenant);
  EXPECT_EQ(r->user_id, "");
  ASSERT_TRUE(ok(store_->put_grant(
      grant(t.id, f.id, Principal::kTenant, "", FileRole::kEditor, t.admin_id), {})));

  auto grants = store_->grants_for_file(t.id, f.id);
  ASSERT_TRUE(ok(grants));
  ASSERT_EQ(grants->size(), 2u);
  int tenant_grants = 0;
  for (const auto& g : *grants) {
    if (g.principal == Principal::kTenant) {
      ++tenant_grants;
      EXPECT_EQ(g.user_id, "");
      EXPECT_EQ(g.role, FileRole::kEditor);
    }
  }
  EXPECT_EQ(tenant_grants, 1);
  // Tenant grants are not a user's own grants.
  EXPECT_THAT(*store_->grants_for_user(t.id, ""), IsEmpty());
}

TEST_P(MetadataStoreContract, PutGrantNeedsTheFileAndTheUserInTheTenant) {
  auto a = make_tenant("a");
  auto b = make_tenant("b");
  auto bob = make_user(a.id, "bob", TenantRole::kEditor);
  auto stranger = make_user(b.id, "stranger", TenantRole::kEditor);
  auto f = put_file(a.id, a.admin_id, "x");
  auto fb = put_file(b.id, b.admin_id, "x");
  EXPECT_TRUE(fails_with(
      store_->put_grant(
          grant(a.id, new_id(), Principal::kUser, bob.id, FileRole::kViewer, a.admin_id), {}),
      ErrorCode::kNotFound));
  EXPECT_TRUE(fails_with(
      store_->put_grant(grant(a.id, fb.id, Principal::kUser, bob.id, FileRole::kViewer, a.admin_id),
                        {}),
      ErrorCode::kNotFound));
  EXPECT_TRUE(fails_with(
      store_->put_grant(
          grant(a.id, f.id, Principal::kUser, stranger.id, FileRole::kViewer, a.admin_id), {}),
      ErrorCode::kNotFound));
  EXPECT_TRUE(fails_with(
      store_->put_grant(
          grant(a.id, f.id, Principal::kUser, new_id(), FileRole::kViewer, a.admin_id), {}),
      ErrorCode::kNotFound));
  EXPECT_THAT(*store_->grants_for_file(a.id, f.id), IsEmpty());
}

TEST_P(MetadataStoreContract, GrantChecksSeeTheFileWithTheActingUsersGrants) {
  auto t = make_tenant("acme");
  auto bob = make_user(t.id, "bob", TenantRole::kEditor);
  auto carol = make_user(t.id, "carol", TenantRole::kEditor);
  auto f = put_file(t.id, t.admin_id, "a");
  ASSERT_TRUE(ok(store_->put_grant(
      grant(t.id, f.id, Principal::kUser, carol.id, FileRole::kEditor, t.admin_id), {})));

  RecordingCheck check;
  check.answer = Error::Forbidden();
  auto by_carol = grant(t.id, f.id, Principal::kUser, bob.id, FileRole::kAdmin, carol.id);
  EXPECT_TRUE(fails_with(store_->put_grant(by_carol, check.fn()), ErrorCode::kForbidden));
  ASSERT_TRUE(check.seen.has_value());
  EXPECT_EQ(check.seen->file.id, f.id);
  EXPECT_EQ(check.seen->user_grant, FileRole::kEditor);
  EXPECT_THAT(*store_->grants_for_user(t.id, bob.id), IsEmpty());

  check.seen.reset();
  EXPECT_TRUE(
      fails_with(store_->remove_grant(t.id, f.id, Principal::kUser, carol.id, carol.id, check.fn()),
                 ErrorCode::kForbidden));
  ASSERT_TRUE(check.seen.has_value());
  EXPECT_EQ(check.seen->user_grant, FileRole::kEditor);
  EXPECT_EQ(store_->grants_for_user(t.id, carol.id)->size(), 1u);
}

TEST_P(MetadataStoreContract, RemoveGrantRemovesAndIsIdempotent) {
  auto t = make_tenant("acme");
  auto bob = make_user(t.id, "bob", TenantRole::kEditor);
  auto f = put_file(t.id, t.admin_id, "a");
  ASSERT_TRUE(ok(store_->put_grant(
      grant(t.id, f.id, Principal::kUser, bob.id, FileRole::kViewer, t.admin_id), {})));
  ASSERT_TRUE(ok(store_->put_grant(
      grant(t.id, f.id, Principal::kTenant, "", FileRole::kViewer, t.admin_id), {})));

  EXPECT_TRUE(ok(store_->remove_grant(t.id, f.id, Principal::kUser, bob.id, t.admin_id, {})));
  EXPECT_TRUE(ok(store_->remove_grant(t.id, f.id, Principal::kUser, bob.id, t.admin_id, {})));
  auto grants = store_->grants_for_file(t.id, f.id);
  ASSERT_EQ(grants->size(), 1u);
  EXPECT_EQ((*grants)[0].principal, Principal::kTenant);

  EXPECT_TRUE(ok(store_->remove_grant(t.id, f.id, Principal::kTenant, "", t.admin_id, {})));
  EXPECT_THAT(*store_->grants_for_file(t.id, f.id), IsEmpty());
  EXPECT_TRUE(
      fails_with(store_->remove_grant(t.id, new_id(), Principal::kUser, bob.id, t.admin_id, {}),
                 ErrorCode::kNotFound));
}

TEST_P(MetadataStoreContract, GrantsForUserListsThatUsersGrantsInTheTenant) {
  auto t = make_tenant("acme");
  auto bob = make_user(t.id, "bob", TenantRole::kEditor);
  auto carol = make_user(t.id, "carol", TenantRole::kEditor);
  auto f1 = put_file(t.id, t.admin_id, "1");
  auto f2 = put_file(t.id, t.admin_id, "2");
  ASSERT_TRUE(ok(store_->put_grant(
      grant(t.id, f1.id, Principal::kUser, bob.id, FileRole::kViewer, t.admin_id), {})));
  ASSERT_TRUE(ok(store_->put_grant(
      grant(t.id, f2.id, Principal::kUser, bob.id, FileRole::kAdmin, t.admin_id), {})));
  ASSERT_TRUE(ok(store_->put_grant(
      grant(t.id, f2.id, Principal::kUser, carol.id, FileRole::kAdmin, t.admin_id), {})));
  ASSERT_TRUE(ok(store_->put_grant(
      grant(t.id, f1.id, Principal::kTenant, "", FileRole::kViewer, t.admin_id), {})));
  auto grants = store_->grants_for_user(t.id, bob.id);
  ASSERT_TRUE(ok(grants));
  std::vector<std::string> files;
  for (const auto& g : *grants) {
    EXPECT_EQ(g.user_id, bob.id);
    EXPECT_EQ(g.principal, Principal::kUser);
    files.push_back(g.file_id);
  }
  EXPECT_THAT(files, UnorderedElementsAre(f1.id, f2.id));
  auto other = make_tenant("other");
  EXPECT_THAT(*store_->grants_for_user(other.id, bob.id), IsEmpty());
}

TEST_P(MetadataStoreContract, ConcurrentGrantsAndRevokesNeverFail) {
  auto t = make_tenant("acme");
  auto bob = make_user(t.id, "bob", TenantRole::kEditor);
  auto f = put_file(t.id, t.admin_id, "a");
  constexpr int kThreads = 8;
  constexpr int kRounds = 20;
  std::atomic<int> failures{0};
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      for (int round = 0; round < kRounds; ++round) {
        bool put = (i + round) % 2 == 0;
        Result<void> r = Ok();
        if (put) {
          auto g = store_->put_grant(
              grant(t.id, f.id, Principal::kUser, bob.id, FileRole::kEditor, t.admin_id), {});
          if (!g) r = g.error();
        } else {
          r = store_->remove_grant(t.id, f.id, Principal::kUser, bob.id, t.admin_id, {});
        }
        if (!r) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_LE(store_->grants_for_file(t.id, f.id)->size(), 1u);
}

// --- upload intents ---

TEST_P(MetadataStoreContract, AnIntentRoundTrips) {
  auto t = make_tenant("acme");
  UploadIntent i = intent(t.id, kT0 + seconds(900));
  i.kind = IntentKind::kPresigned;
  i.user_id = t.admin_id;
  i.path = "big/file.bin";
  i.size = 1 << 30;
  i.content_type = "application/zip";
  i.sha256 = std::string(64, 'a');
  i.overwrite = true;
  i.multipart_id = "mp-123";
  i.part_size = 8 << 20;
  ASSERT_TRUE(ok(store_->create_intent(i)));
  auto got = store_->get_intent(t.id, i.id);
  ASSERT_TRUE(ok(got));
  EXPECT_EQ(got->id, i.id);
  EXPECT_EQ(got->tenant_id, t.id);
  EXPECT_EQ(got->object_key, i.object_key);
  EXPECT_EQ(got->kind, IntentKind::kPresigned);
  EXPECT_EQ(got->created_at, kT0);
  EXPECT_EQ(got->expires_at, kT0 + seconds(900));
  EXPECT_EQ(got->user_id, t.admin_id);
  EXPECT_EQ(got->path, "big/file.bin");
  EXPECT_EQ(got->size, 1 << 30);
  EXPECT_EQ(got->content_type, "application/zip");
  EXPECT_EQ(got->sha256, i.sha256);
  EXPECT_TRUE(got->overwrite);
  EXPECT_EQ(got->multipart_id, "mp-123");
  EXPECT_EQ(got->part_size, 8 << 20);

  auto other = make_tenant("other");
  EXPECT_TRUE(fails_with(store_->get_intent(other.id, i.id), ErrorCode::kNotFound));
  EXPECT_TRUE(fails_with(store_->get_intent(t.id, new_id()), ErrorCode::kNotFound));
}

TEST_P(MetadataStoreContract, DeleteIntentSucceedsOnceThenNotFound) {
  auto t = make_tenant("acme");
  auto i = intent(t.id, kT0 + seconds(60));
  ASSERT_TRUE(ok(store_->create_intent(i)));
  EXPECT_TRUE(ok(store_->delete_intent(i.id)));
  EXPECT_TRUE(fails_with(store_->delete_intent(i.id), ErrorCode::kNotFound));
  EXPECT_TRUE(fails_with(store_->get_intent(t.id, i.id), ErrorCode::kNotFound));
  EXPECT_THAT(*store_->referenced_keys({i.object_key}), IsEmpty());
}

// The collector aborts a direct upload's store upload before removing its object: a claimed
// intent carries what that takes.
TEST_P(MetadataStoreContract, AClaimedIntentCarriesItsKeyAndStoreUpload) {
  auto t = make_tenant("acme");
  UploadIntent i = intent(t.id, kT0);
  i.kind = IntentKind::kPresigned;
  i.user_id = t.admin_id;
  i.path = "abandoned.bin";
  i.size = 12345;
  i.multipart_id = "2~mp-upload-id";
  i.part_size = 5 << 20;
  ASSERT_TRUE(ok(store_->create_intent(i)));
  auto claimed = store_->claim_expired_intents(kT0 + seconds(1), kT0 + seconds(60), 10);
  ASSERT_TRUE(ok(claimed));
  ASSERT_EQ(claimed->size(), 1u);
  EXPECT_EQ(claimed->front().id, i.id);
  EXPECT_EQ(claimed->front().object_key, i.object_key);
  EXPECT_EQ(claimed->front().kind, IntentKind::kPresigned);
  EXPECT_EQ(claimed->front().multipart_id, "2~mp-upload-id");
}

TEST_P(MetadataStoreContract, ExpiredIntentsAreLeasedToOneCollectorAtATime) {
  auto t = make_tenant("acme");
  auto i1 = intent(t.id, kT0);
  auto i2 = intent(t.id, kT0 + seconds(10));
  auto i3 = intent(t.id, kT0 + seconds(100));
  for (const auto& i : {i1, i2, i3}) ASSERT_TRUE(ok(store_->create_intent(i)));

  auto first = store_->claim_expired_intents(kT0 + seconds(10), kT0 + seconds(70), 10);
  ASSERT_TRUE(ok(first));
  EXPECT_THAT(ids_of(*first), UnorderedElementsAre(i1.id, i2.id));
  for (const auto& i : *first) EXPECT_EQ(i.tenant_id, t.id);

  // Leased: nobody else gets them until the lease ends.
  auto during = store_->claim_expired_intents(kT0 + seconds(69), kT0 + seconds(200), 10);
  ASSERT_TRUE(ok(during));
  EXPECT_THAT(*during, IsEmpty());

  // The collector finished i1 but died before i2: i2 comes back after the lease.
  ASSERT_TRUE(ok(store_->delete_intent(i1.id)));
  auto after = store_->claim_expired_intents(kT0 + seconds(70), kT0 + seconds(130), 10);
  ASSERT_TRUE(ok(after));
  EXPECT_THAT(ids_of(*after), ElementsAre(i2.id));

  auto limited = store_->claim_expired_intents(kT0 + seconds(1000), kT0 + seconds(1060), 1);
  ASSERT_TRUE(ok(limited));
  EXPECT_EQ(limited->size(), 1u);
}

TEST_P(MetadataStoreContract, ConcurrentCollectorsClaimEachIntentOnce) {
  auto t = make_tenant("acme");
  std::vector<std::string> all;
  for (int i = 0; i < 10; ++i) {
    auto in = intent(t.id, kT0);
    ASSERT_TRUE(ok(store_->create_intent(in)));
    all.push_back(in.id);
  }
  constexpr int kThreads = 4;
  std::mutex mu;
  std::vector<std::string> claimed;
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      start.arrive_and_wait();
      auto r = store_->claim_expired_intents(kT0 + seconds(1), kT0 + seconds(60), 3);
      ASSERT_TRUE(ok(r));
      std::lock_guard lock(mu);
      for (const auto& in : *r) claimed.push_back(in.id);
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_THAT(claimed, UnorderedElementsAreArray(all));
}

// --- deletion queue ---

TEST_P(MetadataStoreContract, DueDeletionsAreLeasedUntilCompleted) {
  ASSERT_TRUE(ok(store_->enqueue_deletion("t/k1", kT0)));
  ASSERT_TRUE(ok(store_->enqueue_deletion("t/k2", kT0 + seconds(10))));
  ASSERT_TRUE(ok(store_->enqueue_deletion("t/k3", kT0 + seconds(100))));

  EXPECT_THAT(*store_->claim_deletions(kT0 - seconds(1), kT0 + seconds(40), 10), IsEmpty());
  auto first = store_->claim_deletions(kT0 + seconds(10), kT0 + seconds(40), 10);
  ASSERT_TRUE(ok(first));
  ASSERT_THAT(keys_of(*first), UnorderedElementsAre("t/k1", "t/k2"));
  for (const auto& d : *first) {
    EXPECT_EQ(d.not_before, d.object_key == "t/k1" ? kT0 : kT0 + seconds(10));
  }
  EXPECT_NE((*first)[0].id, (*first)[1].id);

  EXPECT_THAT(*store_->claim_deletions(kT0 + seconds(39), kT0 + seconds(80), 10), IsEmpty());

  std::int64_t k1 = (*first)[0].object_key == "t/k1" ? (*first)[0].id : (*first)[1].id;
  ASSERT_TRUE(ok(store_->complete_deletions({k1})));
  EXPECT_THAT(*store_->referenced_keys({"t/k1", "t/k2"}), ElementsAre("t/k2"));

  auto again = store_->claim_deletions(kT0 + seconds(40), kT0 + seconds(80), 10);
  ASSERT_TRUE(ok(again));
  EXPECT_THAT(keys_of(*again), ElementsAre("t/k2"));

  auto limited = store_->claim_deletions(kT0 + seconds(500), kT0 + seconds(600), 1);
  ASSERT_TRUE(ok(limited));
  EXPECT_EQ(limited->size(), 1u);

  std::vector<std::int64_t> rest;
  for (const auto& d : *store_->claim_deletions(kT0 + seconds(700), kT0 + seconds(800), 10)) {
    rest.push_back(d.id);
  }
  EXPECT_EQ(rest.size(), 2u);
  ASSERT_TRUE(ok(store_->complete_deletions(rest)));
  ASSERT_TRUE(ok(store_->complete_deletions(rest)));  // completing twice is harmless
  EXPECT_THAT(*store_->claim_deletions(kT0 + seconds(9000), kT0 + seconds(9100), 10), IsEmpty());
}

TEST_P(MetadataStoreContract, ConcurrentCollectorsClaimEachDeletionOnce) {
  std::vector<std::string> all;
  for (int i = 0; i < 10; ++i) {
    all.push_back("t/" + std::to_string(i));
    ASSERT_TRUE(ok(store_->enqueue_deletion(all.back(), kT0)));
  }
  constexpr int kThreads = 4;
  std::mutex mu;
  std::vector<std::string> claimed;
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      start.arrive_and_wait();
      auto r = store_->claim_deletions(kT0, kT0 + seconds(60), 3);
      ASSERT_TRUE(ok(r));
      std::lock_guard lock(mu);
      for (const auto& d : *r) claimed.push_back(d.object_key);
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_THAT(claimed, UnorderedElementsAreArray(all));
}

// --- referenced keys ---

TEST_P(MetadataStoreContract, ReferencedKeysAreThoseOfFilesIntentsAndTheQueue) {
  auto t = make_tenant("acme");
  auto live = put_file(t.id, t.admin_id, "live", 1);
  auto replaced = put_file(t.id, t.admin_id, "replaced", 1);
  auto replacement = commit_request(t.id, t.admin_id, "replaced", 2, CommitMode::kCreateOrReplace);
  ASSERT_TRUE(ok(store_->commit_file(replacement)));
  auto upload = intent(t.id, kT0 + seconds(60));
  ASSERT_TRUE(ok(store_->create_intent(upload)));
  ASSERT_TRUE(ok(store_->enqueue_deletion("t/queued", kT0)));

  auto refs = store_->referenced_keys({"t/unknown", live.object_key, replaced.object_key,
                                       replacement.object_key, upload.object_key, "t/queued",
                                       "t/other-unknown"});
  ASSERT_TRUE(ok(refs));
  EXPECT_THAT(*refs, UnorderedElementsAre(live.object_key, replaced.object_key,
                                          replacement.object_key, upload.object_key, "t/queued"));
  EXPECT_THAT(*store_->referenced_keys({}), IsEmpty());
}

}  // namespace coffer::meta::contract
