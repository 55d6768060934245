// The permission engine (API.md "Roles and permissions"): pure functions of plain facts.
// Every access decision in Coffer goes through decide(); nothing else compares roles.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace coffer::access {

enum class TenantRole { kViewer, kEditor, kAdmin };
// Ordered: a higher role includes everything a lower one allows.
enum class FileRole { kNone = 0, kViewer = 1, kEditor = 2, kAdmin = 3 };

std::string_view to_string(TenantRole r);
std::string_view to_string(FileRole r);
std::optional<TenantRole> parse_tenant_role(std::string_view s);
// "viewer", "editor" or "admin" (not "none").
std::optional<FileRole> parse_file_role(std::string_view s);

// Who is asking: a user of a tenant, with the tenant role read from the database.
struct Principal {
  std::string tenant_id;
  std::string user_id;
  TenantRole role = TenantRole::kViewer;
};

// What is known about a file for one principal: the grants that concern them.
struct FileFacts {
  std::string tenant_id;
  std::string owner_id;
  FileRole user_grant = FileRole::kNone;    // the principal's own grant
  FileRole tenant_grant = FileRole::kNone;  // the grant to every user of the tenant
};

enum class FileAction {
  kRead,       // metadata, listing, download, presigned download
  kReadAcl,    // the file's grants
  kOverwrite,  // new content
  kRename,     // rename / move
  kDelete,
  kGrant,      // create, change or revoke grants
};

enum class TenantAction {
  kCreateFile,
  kListUsers,
  kReadUser,
  kManageUsers,  // create, change, delete users
  kReadOwnTenant,
};

enum class Decision { kAllow, kForbidden, kNotFound };

// The principal's effective role on the file (step 1–3 of API.md): kNone when the file is in
// another tenant or nothing gives the principal a role.
FileRole effective_role(const Principal& who, const FileFacts& file);

// The role an action needs on a file.
FileRole required_role(FileAction action);

// kNotFound when the principal has no role on the file (it "does not exist" for them), kForbidden
// when their role is too low, kAllow otherwise.
Decision decide(const Principal& who, FileAction action, const FileFacts& file);

// Whether the principal may grant `role` on the file: they need kGrant, and nobody may grant a
// role above their own effective role.
Decision decide_grant(const Principal& who, const FileFacts& file, FileRole role);

// Tenant-level actions within the principal's own tenant.
Decision decide(const Principal& who, TenantAction action);

}  // namespace coffer::access
