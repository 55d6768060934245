#include "meta/store_rules.h"

#include <gtest/gtest.h>

namespace coffer::meta {
namespace {

const SystemTime kT0 = from_unix_seconds(1'800'000'000);
const SystemTime kT1 = from_unix_seconds(1'800'000'100);

TenantRecord tenant(std::optional<std::int64_t> quota_bytes = std::nullopt,
                    std::optional<std::int64_t> quota_files = std::nullopt) {
  TenantRecord t;
  t.id = "t";
  t.used_bytes = 100;
  t.used_files = 2;
  t.quota_bytes = quota_bytes;
  t.quota_files = quota_files;
  return t;
}

FileView existing_file() {
  FileView v;
  v.file.id = "f";
  v.file.tenant_id = "t";
  v.file.path = "a/b";
  v.file.size = 40;
  v.file.sha256 = std::string(64, 'a');
  v.file.object_key = "t/old";
  v.file.version = 3;
  v.file.owner_id = "owner";
  v.file.created_at = kT0;
  v.file.updated_at = kT0;
  return v;
}

CommitRequest request(CommitMode mode, std::int64_t size = 10) {
  CommitRequest r;
  r.tenant_id = "t";
  r.new_file_id = "new";
  r.path = "a/b";
  r.size = size;
  r.content_type = "text/plain";
  r.sha256 = std::string(64, 'b');
  r.object_key = "t/new";
  r.user_id = "committer";
  r.mode = mode;
  r.now = kT1;
  return r;
}

TEST(PlanCommit, ACreateMakesVersionOneOwnedByTheCommitter) {
  auto plan = plan_commit(request(CommitMode::kCreate), tenant(), std::nullopt);
  ASSERT_TRUE(plan);
  const FileRecord& f = plan->result.file;
  EXPECT_TRUE(plan->result.created);
  EXPECT_EQ(f.id, "new");
  EXPECT_EQ(f.version, 1);
  EXPECT_EQ(f.owner_id, "committer");
  EXPECT_EQ(f.created_at, kT1);
  EXPECT_EQ(f.object_key, "t/new");
  EXPECT_EQ(plan->bytes_delta, 10);
  EXPECT_EQ(plan->files_delta, 1);
}

TEST(PlanCommit, AnOverwriteKeepsIdOwnerAndCreationAndCountsTheSizeDifference) {
  auto plan = plan_commit(request(CommitMode::kCreateOrReplace), tenant(), existing_file());
  ASSERT_TRUE(plan);
  const FileRecord& f = plan->result.file;
  EXPECT_FALSE(plan->result.created);
  EXPECT_EQ(f.id, "f");
  EXPECT_EQ(f.version, 4);
  EXPECT_EQ(f.owner_id, "owner");
  EXPECT_EQ(f.created_at, kT0);
  EXPECT_EQ(f.updated_at, kT1);
  EXPECT_EQ(f.size, 10);
  EXPECT_EQ(plan->bytes_delta, -30);
  EXPECT_EQ(plan->files_delta, 0);
}

TEST(PlanCommit, RefusesWhatTheRulesRefuse) {
  struct Case {
    const char* name;
    CommitRequest r;
    TenantRecord t;
    std::optional<FileView> existing;
    ErrorCode code;
  };
  CommitRequest reused = request(CommitMode::kCreateOrReplace);
  reused.object_key = "t/old";
  CommitRequest stale = request(CommitMode::kCreateOrReplace);
  stale.if_match = "\"not-the-etag\"";
  CommitRequest nothing_to_match = request(CommitMode::kCreateOrReplace);
  nothing_to_match.if_match = "*";
  CommitRequest checked = request(CommitMode::kCreateOrReplace);
  checked.check = [](const FileView&) -> Result<void> { return Error::Forbidden("no"); };
  const Case cases[] = {
      {"create over a file", request(CommitMode::kCreate), tenant(), existing_file(),
       ErrorCode::kConflict},
      {"object key reused", reused, tenant(), existing_file(), ErrorCode::kInternal},
      {"stale If-Match", stale, tenant(), existing_file(), ErrorCode::kPreconditionFailed},
      {"If-Match without a file", nothing_to_match, tenant(), std::nullopt,
       ErrorCode::kPreconditionFailed},
      {"the check refuses", checked, tenant(), existing_file(), ErrorCode::kForbidden},
      {"byte quota", request(CommitMode::kCreate, 11), tenant(110), std::nullopt,
       ErrorCode::kQuotaExceeded},
      {"file quota", request(CommitMode::kCreate), tenant(std::nullopt, 2), std::nullopt,
       ErrorCode::kQuotaExceeded},
  };
  for (const Case& c : cases) {
    auto plan = plan_commit(c.r, c.t, c.existing);
    ASSERT_FALSE(plan) << c.name;
    EXPECT_EQ(plan.error().code, c.code) << c.name;
  }
}

TEST(PlanCommit, FillsAQuotaExactlyAndShrinksBackUnderIt) {
  EXPECT_TRUE(plan_commit(request(CommitMode::kCreate, 10), tenant(110, 3), std::nullopt));
  // Over quota already (100 of 80), an overwrite that brings the usage back under it goes through.
  EXPECT_TRUE(
      plan_commit(request(CommitMode::kCreateOrReplace, 10), tenant(80, 2), existing_file()));
}

TEST(CheckExisting, IfMatchIsTheExactEtagOrAStar) {
  const FileView v = existing_file();
  EXPECT_TRUE(check_existing(v, nullptr, std::nullopt));
  EXPECT_TRUE(check_existing(v, nullptr, std::string("*")));
  EXPECT_TRUE(check_existing(v, nullptr, file_etag(v.file)));
  EXPECT_FALSE(check_existing(v, nullptr, std::string("W/") + file_etag(v.file)));
}

TEST(Patched, SetsOnlyTheGivenFields) {
  UserRecord u;
  u.role = TenantRole::kAdmin;
  u.password_hash = "h";
  UserPatch p;
  p.disabled = true;
  const UserRecord after = patched(u, p);
  EXPECT_EQ(after.role, TenantRole::kAdmin);
  EXPECT_TRUE(after.disabled);
  EXPECT_EQ(after.password_hash, "h");
  EXPECT_TRUE(is_enabled_admin(u));
  EXPECT_FALSE(is_enabled_admin(after));
}

}  // namespace
}  // namespace coffer::meta
