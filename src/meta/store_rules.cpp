#include "meta/store_rules.h"

namespace coffer::meta {

Error conflict_as(Error e, const char* message) {
  if (e.code == ErrorCode::kConflict) e.message = message;
  return e;
}

Error last_admin_conflict() {
  return Error::Conflict("a tenant must keep at least one enabled admin");
}

bool is_enabled_admin(const UserRecord& u) { return u.role == TenantRole::kAdmin && !u.disabled; }

UserRecord patched(UserRecord u, const UserPatch& patch) {
  if (patch.role) u.role = *patch.role;
  if (patch.disabled) u.disabled = *patch.disabled;
  if (patch.password_hash) u.password_hash = *patch.password_hash;
  return u;
}

std::string_view principal_name(Principal p) { return p == Principal::kTenant ? "tenant" : "user"; }

Result<void> check_existing(const FileView& view, const FileCheck& check,
                            const std::optional<std::string>& if_match) {
  if (check) COFFER_TRY_VOID(check(view));
  if (if_match && *if_match != "*" && *if_match != file_etag(view.file)) {
    return Error::PreconditionFailed();
  }
  return Ok();
}

Result<CommitPlan> plan_commit(const CommitRequest& r, const TenantRecord& tenant,
                               const std::optional<FileView>& existing) {
  if (existing) {
    if (r.mode == CommitMode::kCreate) return Error::Conflict("path already exists");
    COFFER_TRY_VOID(check_existing(*existing, r.check, r.if_match));
    if (existing->file.object_key == r.object_key) {
      return Error::Internal("commit_file: object key reused: " + r.object_key);
    }
  } else if (r.if_match) {
    return Error::PreconditionFailed();
  }

  CommitPlan plan;
  const bool created = !existing;
  plan.bytes_delta = r.size - (created ? 0 : existing->file.size);
  plan.files_delta = created ? 1 : 0;
  if (tenant.quota_bytes && tenant.used_bytes + plan.bytes_delta > *tenant.quota_bytes) {
    return Error::QuotaExceeded("the tenant's byte quota would be exceeded");
  }
  if (tenant.quota_files && tenant.used_files + plan.files_delta > *tenant.quota_files) {
    return Error::QuotaExceeded("the tenant's file quota would be exceeded");
  }

  plan.result.created = created;
  FileRecord& f = plan.result.file;
  if (created) {
    f.id = r.new_file_id;
    f.tenant_id = r.tenant_id;
    f.path = r.path;
    f.version = 1;
    f.owner_id = r.user_id;
    f.created_at = r.now;
  } else {
    f = existing->file;
    f.version += 1;
  }
  f.size = r.size;
  f.content_type = r.content_type;
  f.sha256 = r.sha256;
  f.object_key = r.object_key;
  f.updated_at = r.now;
  return plan;
}

}  // namespace coffer::meta
