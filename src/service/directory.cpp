#include "service/directory.h"

#include "core/ids.h"
#include "core/log.h"
#include "service/names.h"

namespace coffer::service {
namespace {

Result<void> check_quota(const std::optional<std::int64_t>& q, const char* name) {
  if (q && *q < 0) return Error::BadRequest(std::string(name) + " must not be negative");
  return Ok();
}

}  // namespace

std::string tenant_prefix(const std::string& tenant_id) { return tenant_id + "/"; }

Result<std::string> Directory::hash_password(const std::optional<std::string>& password) {
  if (!password) return std::string();
  COFFER_TRY_VOID(auth::check_password_policy(*password));
  return hasher_.hash(*password);
}

Result<std::pair<meta::TenantRecord, meta::UserRecord>> Directory::create_tenant(
    const Caller& caller, const NewTenant& request) {
  COFFER_TRY_VOID(require_operator(caller));
  COFFER_TRY_VOID(check_slug(request.slug));
  COFFER_TRY_VOID(check_username(request.admin_username));
  COFFER_TRY_VOID(check_quota(request.quota_bytes, "quota_bytes"));
  COFFER_TRY_VOID(check_quota(request.quota_files, "quota_files"));
  if (!request.name.empty()) COFFER_TRY_VOID(check_tenant_name(request.name));
  COFFER_TRY(std::string hash, hash_password(request.admin_password));

  const SystemTime now = clock_.now();
  meta::TenantRecord tenant;
  tenant.id = new_id();
  tenant.slug = request.slug;
  tenant.name = request.name.empty() ? request.slug : request.name;
  tenant.quota_bytes = request.quota_bytes;
  tenant.quota_files = request.quota_files;
  tenant.created_at = now;
  meta::UserRecord admin;
  admin.id = new_id();
  admin.tenant_id = tenant.id;
  admin.username = request.admin_username;
  admin.role = access::TenantRole::kAdmin;
  admin.password_hash = std::move(hash);
  admin.created_at = now;
  auto created = db_.create_tenant(tenant, admin);
  if (!created) {
    if (created.error().code == ErrorCode::kConflict) return Error::Conflict("slug is taken");
    return created.error();
  }
  return std::make_pair(std::move(tenant), std::move(admin));
}

Result<meta::TenantRecord> Directory::get_tenant(const Caller& caller, const std::string& id) {
  if (!caller.is_operator) {
    // A user sees only its own tenant, and only as its admin.
    if (id != caller.tenant_id()) return Error::NotFound("tenant not found");
    COFFER_TRY_VOID(
        allow(access::decide(caller.principal, access::TenantAction::kReadOwnTenant), "tenant"));
  }
  COFFER_TRY_VOID(require_id_shape(id, "tenant"));
  return db_.get_tenant(id);
}

Result<meta::TenantRecord> Directory::own_tenant(const Caller& caller) {
  COFFER_TRY_VOID(require_user(caller));
  return db_.get_tenant(caller.tenant_id());
}

Result<std::vector<meta::TenantRecord>> Directory::list_tenants(const Caller& caller,
                                                                const std::string& after_slug,
                                                                int limit) {
  COFFER_TRY_VOID(require_operator(caller));
  return db_.list_tenants(after_slug, limit);
}

Result<meta::TenantRecord> Directory::update_tenant(const Caller& caller, const std::string& id,
                                                    const meta::TenantPatch& patch) {
  COFFER_TRY_VOID(require_operator(caller));
  if (patch.name) COFFER_TRY_VOID(check_tenant_name(*patch.name));
  if (patch.quota_bytes) COFFER_TRY_VOID(check_quota(*patch.quota_bytes, "quota_bytes"));
  if (patch.quota_files) COFFER_TRY_VOID(check_quota(*patch.quota_files, "quota_files"));
  COFFER_TRY_VOID(require_id_shape(id, "tenant"));
  return db_.update_tenant(id, patch);
}

Result<void> Directory::delete_tenant(const Caller& caller, const std::string& id) {
  COFFER_TRY_VOID(require_operator(caller));
  COFFER_TRY_VOID(require_id_shape(id, "tenant"));
  auto deleted = db_.delete_tenant(id, clock_.now());
  forget_cached_users();
  COFFER_TRY_VOID(deleted);
  // The rows are gone and every referenced key is queued for the collector. Objects that no row
  // named (an upload in flight, a crash's leftovers) are swept from the prefix now; whatever this
  // sweep misses, `coffer gc` finds, since nothing references it any more.
  const std::string prefix = tenant_prefix(id);
  std::string token;
  for (;;) {
    auto page = store_.list(prefix, token, 1000);
    if (!page) {
      log::app().warn("tenant {} deleted; its objects are left to gc: {}", id, page.error().detail);
      break;
    }
    std::vector<std::string> keys;
    for (auto& o : page->objects) keys.push_back(std::move(o.key));
    if (!keys.empty()) {
      if (auto removed = store_.remove_many(keys); !removed) {
        log::app().warn("tenant {} deleted; its objects are left to gc: {}", id,
                        removed.error().detail);
        break;
      }
    }
    if (page->next_token.empty()) break;
    token = page->next_token;
  }
  return Ok();
}

Result<meta::UserRecord> Directory::insert_user(const std::string& tenant_id,
                                                const NewUser& request) {
  COFFER_TRY_VOID(check_username(request.username));
  COFFER_TRY(std::string hash, hash_password(request.password));
  meta::UserRecord user;
  user.id = new_id();
  user.tenant_id = tenant_id;
  user.username = request.username;
  user.role = request.role;
  user.password_hash = std::move(hash);
  user.created_at = clock_.now();
  auto created = db_.create_user(user);
  if (!created) {
    if (created.error().code == ErrorCode::kConflict) return Error::Conflict("username is taken");
    return created.error();
  }
  return user;
}

Result<meta::UserRecord> Directory::create_user(const Caller& caller, const NewUser& request) {
  COFFER_TRY_VOID(require_user(caller));
  COFFER_TRY_VOID(
      allow(access::decide(caller.principal, access::TenantAction::kManageUsers), "user"));
  return insert_user(caller.tenant_id(), request);
}

Result<meta::UserRecord> Directory::create_user_in(const std::string& tenant_slug,
                                                   const NewUser& request) {
  COFFER_TRY(meta::TenantRecord tenant, db_.find_tenant_by_slug(tenant_slug));
  return insert_user(tenant.id, request);
}

Result<meta::UserRecord> Directory::get_user(const Caller& caller, const std::string& id) {
  COFFER_TRY_VOID(require_user(caller));
  COFFER_TRY_VOID(allow(access::decide(caller.principal, access::TenantAction::kReadUser), "user"));
  COFFER_TRY_VOID(require_id_shape(id, "user"));
  auto user = db_.get_user(caller.tenant_id(), id);
  if (!user && user.error().code == ErrorCode::kNotFound) return Error::NotFound("user not found");
  return user;
}

Result<std::vector<meta::UserRecord>> Directory::list_users(const Caller& caller,
                                                            const std::string& after_username,
                                                            int limit) {
  COFFER_TRY_VOID(require_user(caller));
  COFFER_TRY_VOID(
      allow(access::decide(caller.principal, access::TenantAction::kListUsers), "user"));
  return db_.list_users(caller.tenant_id(), after_username, limit);
}

Result<meta::UserRecord> Directory::update_user(const Caller& caller, const std::string& id,
                                                const UserChange& change) {
  COFFER_TRY_VOID(require_user(caller));
  // Whether the user exists is told before whether the caller may change it: both are visible to
  // every user of the tenant anyway.
  COFFER_TRY_VOID(get_user(caller, id));
  COFFER_TRY_VOID(
      allow(access::decide(caller.principal, access::TenantAction::kManageUsers), "user"));
  meta::UserPatch patch;
  patch.role = change.role;
  patch.disabled = change.disabled;
  if (change.password) {
    COFFER_TRY(std::string hash, hash_password(change.password));
    patch.password_hash = std::move(hash);
  }
  auto updated = db_.update_user(caller.tenant_id(), id, patch);
  forget_cached_users();
  if (!updated && updated.error().code == ErrorCode::kConflict) {
    return Error::Conflict("a tenant must keep at least one enabled admin");
  }
  return updated;
}

Result<void> Directory::delete_user(const Caller& caller, const std::string& id) {
  COFFER_TRY_VOID(require_user(caller));
  COFFER_TRY_VOID(get_user(caller, id));
  COFFER_TRY_VOID(
      allow(access::decide(caller.principal, access::TenantAction::kManageUsers), "user"));
  if (id == caller.user_id()) return Error::Conflict("an admin cannot delete themself");
  auto deleted = db_.delete_user(caller.tenant_id(), id, caller.user_id());
  forget_cached_users();
  if (!deleted && deleted.error().code == ErrorCode::kConflict) {
    return Error::Conflict("a tenant must keep at least one enabled admin");
  }
  return deleted;
}

}  // namespace coffer::service
