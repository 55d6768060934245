// access::decide against API.md "Roles and permissions", over every combination of tenant role ×
// owner or not × user grant × tenant grant × action, plus cross-tenant cases and the grant cap.
#include "access/decide.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <tuple>

namespace coffer::access {
namespace {

const TenantRole kTenantRoles[] = {TenantRole::kViewer, TenantRole::kEditor, TenantRole::kAdmin};
const FileRole kGrants[] = {FileRole::kNone, FileRole::kViewer, FileRole::kEditor, FileRole::kAdmin};
const FileAction kActions[] = {FileAction::kRead,   FileAction::kReadAcl, FileAction::kOverwrite,
                               FileAction::kRename, FileAction::kDelete,  FileAction::kGrant};

// API.md's rule, written out step by step as the document words it.
FileRole spec_effective_role(TenantRole tenant_role, bool owner, FileRole user_grant,
                             FileRole tenant_grant, bool same_tenant) {
  if (!same_tenant) return FileRole::kNone;                      // 1.
  if (tenant_role == TenantRole::kAdmin) return FileRole::kAdmin;  // 2.
  int highest = 0;                                               // 3.
  if (owner) highest = 3;
  highest = std::max({highest, static_cast<int>(user_grant), static_cast<int>(tenant_grant)});
  if (tenant_role == TenantRole::kViewer) highest = std::min(highest, 1);
  return static_cast<FileRole>(highest);
}

// The API.md table: viewer reads (metadata, list, download, ACL); editor also overwrites and
// renames; admin also deletes and grants.
int spec_needed(FileAction a) {
  switch (a) {
    case FileAction::kRead:
    case FileAction::kReadAcl: return 1;
    case FileAction::kOverwrite:
    case FileAction::kRename: return 2;
    case FileAction::kDelete:
    case FileAction::kGrant: return 3;
  }
  return 99;
}

Decision spec_decide(FileRole role, FileAction a) {
  if (role == FileRole::kNone) return Decision::kNotFound;  // 4. no role: it does not exist
  return static_cast<int>(role) >= spec_needed(a) ? Decision::kAllow : Decision::kForbidden;
}

TEST(Decide, EveryCombinationFollowsApiMd) {
  int cases = 0;
  for (TenantRole tr : kTenantRoles) {
    for (bool owner : {false, true}) {
      for (FileRole ug : kGrants) {
        for (FileRole tg : kGrants) {
          for (bool same_tenant : {true, false}) {
            Principal who{"tenant-a", "user-1", tr};
            FileFacts file{same_tenant ? "tenant-a" : "tenant-b", owner ? "user-1" : "user-2", ug, tg};
            FileRole expected_role = spec_effective_role(tr, owner, ug, tg, same_tenant);
            ASSERT_EQ(effective_role(who, file), expected_role);
            for (FileAction a : kActions) {
              ASSERT_EQ(decide(who, a, file), spec_decide(expected_role, a))
                  << "tenant role " << to_string(tr) << " owner " << owner << " user grant "
                  << to_string(ug) << " tenant grant " << to_string(tg) << " same tenant "
                  << same_tenant << " action " << static_cast<int>(a);
              ++cases;
            }
          }
        }
      }
    }
  }
  EXPECT_EQ(cases, 3 * 2 * 4 * 4 * 2 * 6);
}

TEST(Decide, AnotherTenantsFileDoesNotExistEvenForItsAdmins) {
  Principal admin{"tenant-b", "admin-b", TenantRole::kAdmin};
  FileFacts file{"tenant-a", "admin-b", FileRole::kAdmin, FileRole::kAdmin};  // same ids, other tenant
  for (FileAction a : kActions) EXPECT_EQ(decide(admin, a, file), Decision::kNotFound);
  EXPECT_EQ(decide_grant(admin, file, FileRole::kViewer), Decision::kNotFound);
}

TEST(Decide, AnEmptyPrincipalHasNoRole) {
  Principal nobody{"", "", TenantRole::kAdmin};
  FileFacts file{"", "", FileRole::kAdmin, FileRole::kAdmin};
  EXPECT_EQ(effective_role(nobody, file), FileRole::kNone);
}

TEST(Decide, ViewerTenantRoleIsCappedEvenWhenOwningTheFile) {
  Principal viewer{"t", "u", TenantRole::kViewer};
  FileFacts own{"t", "u", FileRole::kAdmin, FileRole::kEditor};
  EXPECT_EQ(effective_role(viewer, own), FileRole::kViewer);
  EXPECT_EQ(decide(viewer, FileAction::kRead, own), Decision::kAllow);
  EXPECT_EQ(decide(viewer, FileAction::kOverwrite, own), Decision::kForbidden);
}

TEST(DecideGrant, NobodyGrantsAboveTheirOwnRole) {
  for (TenantRole tr : kTenantRoles) {
    for (bool owner : {false, true}) {
      for (FileRole ug : kGrants) {
        for (FileRole tg : kGrants) {
          Principal who{"t", "u", tr};
          FileFacts file{"t", owner ? "u" : "x", ug, tg};
          FileRole mine = spec_effective_role(tr, owner, ug, tg, true);
          for (FileRole wanted : {FileRole::kViewer, FileRole::kEditor, FileRole::kAdmin}) {
            Decision expected;
            if (mine == FileRole::kNone) {
              expected = Decision::kNotFound;
            } else if (mine < FileRole::kAdmin || wanted > mine) {
              expected = Decision::kForbidden;  // granting needs admin, and never above it
            } else {
              expected = Decision::kAllow;
            }
            EXPECT_EQ(decide_grant(who, file, wanted), expected);
          }
        }
      }
    }
  }
}

TEST(TenantActions, FollowTheTenantRole) {
  struct Case {
    TenantRole role;
    TenantAction action;
    Decision expected;
  };
  const Case cases[] = {
      {TenantRole::kViewer, TenantAction::kCreateFile, Decision::kForbidden},
      {TenantRole::kEditor, TenantAction::kCreateFile, Decision::kAllow},
      {TenantRole::kAdmin, TenantAction::kCreateFile, Decision::kAllow},
      {TenantRole::kViewer, TenantAction::kListUsers, Decision::kAllow},
      {TenantRole::kViewer, TenantAction::kReadUser, Decision::kAllow},
      {TenantRole::kViewer, TenantAction::kManageUsers, Decision::kForbidden},
      {TenantRole::kEditor, TenantAction::kManageUsers, Decision::kForbidden},
      {TenantRole::kAdmin, TenantAction::kManageUsers, Decision::kAllow},
      {TenantRole::kEditor, TenantAction::kReadOwnTenant, Decision::kForbidden},
      {TenantRole::kAdmin, TenantAction::kReadOwnTenant, Decision::kAllow},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(decide(Principal{"t", "u", c.role}, c.action), c.expected)
        << to_string(c.role) << " " << static_cast<int>(c.action);
  }
  EXPECT_EQ(decide(Principal{"", "", TenantRole::kAdmin}, TenantAction::kCreateFile),
            Decision::kForbidden);
}

TEST(Roles, ParseAndPrint) {
  for (TenantRole r : kTenantRoles) EXPECT_EQ(parse_tenant_role(to_string(r)), r);
  for (FileRole r : {FileRole::kViewer, FileRole::kEditor, FileRole::kAdmin}) {
    EXPECT_EQ(parse_file_role(to_string(r)), r);
  }
  EXPECT_FALSE(parse_file_role("none").has_value());
  EXPECT_FALSE(parse_tenant_role("Admin").has_value());
}

}  // namespace
}  // namespace coffer::access
