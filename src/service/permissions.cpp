#include "service/permissions.h"

namespace coffer::service {
namespace {

// Missing files and files of other tenants look the same.
Error file_not_found() { return Error::NotFound("file not found"); }

Result<meta::FileView> load_file(meta::MetadataStore& db, const Caller& caller,
                                 const std::string& file_id) {
  COFFER_TRY_VOID(require_id_shape(file_id, "file"));
  auto view = db.get_file(caller.tenant_id(), file_id, caller.user_id());
  if (!view && view.error().code == ErrorCode::kNotFound) return file_not_found();
  return view;
}

}  // namespace

access::FileFacts facts_of(const meta::FileView& view) {
  return {view.file.tenant_id, view.file.owner_id, view.user_grant, view.tenant_grant};
}

Result<FileAcl> Permissions::for_file(const Caller& caller, const std::string& file_id) {
  COFFER_TRY_VOID(require_user(caller));
  COFFER_TRY(meta::FileView view, load_file(db_, caller, file_id));
  COFFER_TRY_VOID(allow(access::decide(caller.principal, access::FileAction::kReadAcl, facts_of(view)), "file"));
  COFFER_TRY(auto grants, db_.grants_for_file(caller.tenant_id(), file_id));
  return FileAcl{view.file.id, view.file.owner_id, std::move(grants)};
}

Result<std::vector<meta::GrantRecord>> Permissions::for_user(const Caller& caller,
                                                             const std::string& user_id) {
  COFFER_TRY_VOID(require_user(caller));
  COFFER_TRY_VOID(require_id_shape(user_id, "user"));
  auto user = db_.get_user(caller.tenant_id(), user_id);
  if (!user) {
    if (user.error().code == ErrorCode::kNotFound) return Error::NotFound("user not found");
    return user.error();
  }
  if (user_id != caller.user_id()) {
    COFFER_TRY_VOID(allow(access::decide(caller.principal, access::TenantAction::kManageUsers), "user"));
  }
  return db_.grants_for_user(caller.tenant_id(), user_id);
}

Result<std::optional<meta::GrantRecord>> Permissions::set(const Caller& caller,
                                                          const GrantChange& change) {
  COFFER_TRY_VOID(require_user(caller));
  if (change.role == access::FileRole::kNone) {
    COFFER_TRY_VOID(revoke(caller, change.file_id, change.principal, change.user_id));
    return std::optional<meta::GrantRecord>();
  }
  // Decide before looking at the grantee, so that nothing about users is told to a caller who
  // may not grant on this file.
  COFFER_TRY(meta::FileView view, load_file(db_, caller, change.file_id));
  COFFER_TRY_VOID(allow(access::decide_grant(caller.principal, facts_of(view), change.role), "file"));
  if (change.principal == meta::Principal::kUser) {
    COFFER_TRY_VOID(require_id_shape(change.user_id, "user"));
    auto user = db_.get_user(caller.tenant_id(), change.user_id);
    if (!user) {
      if (user.error().code == ErrorCode::kNotFound) return Error::NotFound("user not found");
      return user.error();
    }
  }
  meta::GrantRecord grant;
  grant.file_id = change.file_id;
  grant.tenant_id = caller.tenant_id();
  grant.principal = change.principal;
  grant.user_id = change.principal == meta::Principal::kUser ? change.user_id : std::string();
  grant.role = change.role;
  grant.granted_by = caller.user_id();
  grant.granted_at = clock_.now();
  const access::Principal who = caller.principal;
  const access::FileRole role = change.role;
  // Decided again inside the transaction, on the file as it is then.
  auto stored = db_.put_grant(grant, [who, role](const meta::FileView& current) -> Result<void> {
    return allow(access::decide_grant(who, facts_of(current), role), "file");
  });
  if (!stored) {
    if (stored.error().code == ErrorCode::kNotFound) return file_not_found();
    return stored.error();
  }
  return std::optional<meta::GrantRecord>(std::move(*stored));
}

Result<void> Permissions::revoke(const Caller& caller, const std::string& file_id,
                                 meta::Principal principal, const std::string& user_id) {
  COFFER_TRY_VOID(require_user(caller));
  COFFER_TRY(meta::FileView view, load_file(db_, caller, file_id));
  COFFER_TRY_VOID(allow(access::decide(caller.principal, access::FileAction::kGrant, facts_of(view)), "file"));
  // A user id of another shape holds no grant: there is nothing to revoke.
  if (principal == meta::Principal::kUser && !looks_like_id(user_id)) return Ok();
  const access::Principal who = caller.principal;
  auto removed = db_.remove_grant(caller.tenant_id(), file_id, principal,
                                  principal == meta::Principal::kUser ? user_id : std::string(),
                                  caller.user_id(), [who](const meta::FileView& current) {
                                    return allow(access::decide(who, access::FileAction::kGrant,
                                                                facts_of(current)),
                                                 "file");
                                  });
  if (!removed && removed.error().code == ErrorCode::kNotFound) return file_not_found();
  return removed;
}

}  // namespace coffer::service
