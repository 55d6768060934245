// Tenants (operator) and users (tenant admins): API.md "Tenants (operator)" and "Users".
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "auth/password.h"
#include "core/clock.h"
#include "meta/metadata_store.h"
#include "service/caller.h"
#include "service/user_cache.h"
#include "storage/object_store.h"

namespace coffer::service {

struct NewUser {
  std::string username;
  access::TenantRole role = access::TenantRole::kViewer;
  std::optional<std::string> password;  // none: the user cannot log in with a password
};

struct NewTenant {
  std::string slug;
  std::string name;
  std::optional<std::int64_t> quota_bytes;
  std::optional<std::int64_t> quota_files;
  std::string admin_username;
  std::optional<std::string> admin_password;
};

struct UserChange {
  std::optional<access::TenantRole> role;
  std::optional<bool> disabled;
  std::optional<std::string> password;
};

class Directory {
 public:
  // `users_changed`, when given, is emptied after every change to a user or a tenant.
  Directory(meta::MetadataStore& db, storage::ObjectStore& store, auth::PasswordHasher& hasher,
            const Clock& clock, UserCache* users_changed = nullptr)
      : db_(db), store_(store), hasher_(hasher), clock_(clock), users_changed_(users_changed) {}

  // --- tenants: the operator's; a tenant admin may read its own tenant ---
  Result<std::pair<meta::TenantRecord, meta::UserRecord>> create_tenant(const Caller& caller,
                                                                        const NewTenant& request);
  Result<meta::TenantRecord> get_tenant(const Caller& caller, const std::string& id);
  // The caller's own tenant, for GET /me (any user).
  Result<meta::TenantRecord> own_tenant(const Caller& caller);
  Result<std::vector<meta::TenantRecord>> list_tenants(const Caller& caller,
                                                       const std::string& after_slug, int limit);
  Result<meta::TenantRecord> update_tenant(const Caller& caller, const std::string& id,
                                           const meta::TenantPatch& patch);
  // Removes the tenant's metadata at once and its objects (now, and through the collector).
  Result<void> delete_tenant(const Caller& caller, const std::string& id);

  // --- users of the caller's tenant: any user reads, admins write ---
  Result<meta::UserRecord> create_user(const Caller& caller, const NewUser& request);
  Result<meta::UserRecord> get_user(const Caller& caller, const std::string& id);
  Result<std::vector<meta::UserRecord>> list_users(const Caller& caller,
                                                   const std::string& after_username, int limit);
  Result<meta::UserRecord> update_user(const Caller& caller, const std::string& id,
                                       const UserChange& change);
  Result<void> delete_user(const Caller& caller, const std::string& id);

  // Bootstrap without HTTP (coffer user create): as a tenant admin of the tenant `slug` would.
  Result<meta::UserRecord> create_user_in(const std::string& tenant_slug, const NewUser& request);

 private:
  Result<meta::UserRecord> insert_user(const std::string& tenant_id, const NewUser& request);
  Result<std::string> hash_password(const std::optional<std::string>& password);

  meta::MetadataStore& db_;
  storage::ObjectStore& store_;
  auth::PasswordHasher& hasher_;
  const Clock& clock_;
  UserCache* users_changed_;

  void forget_cached_users() {
    if (users_changed_) users_changed_->forget_all();
  }
};

// Objects live under "<tenant_id>/": the prefix of everything a tenant stores.
std::string tenant_prefix(const std::string& tenant_id);

}  // namespace coffer::service
