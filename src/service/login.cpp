#include "service/login.h"

#include "service/names.h"

namespace coffer::service {

Result<IssuedToken> Login::login(const std::string& tenant_slug, const std::string& username,
                                 const std::string& password) {
  const std::string key = tenant_slug + '\n' + username;
  COFFER_TRY_VOID(throttle_.check(key, clock_.now()));

  // Names that cannot exist are never looked up: PostgreSQL would cut "alice\0x" at the NUL and
  // find alice, under a throttle key of its own for every such spelling.
  Result<meta::TenantRecord> tenant = Error::NotFound("tenant not found");
  if (is_valid_slug(tenant_slug) && is_valid_username(username)) {
    tenant = db_.find_tenant_by_slug(tenant_slug);
  }
  Result<meta::UserRecord> user = Error::Unauthenticated();
  if (tenant) {
    user = db_.find_user_by_name(tenant->id, username);
  } else if (tenant.error().code == ErrorCode::kStorageUnavailable) {
    return tenant.error();
  }
  if (!user && user.error().code == ErrorCode::kStorageUnavailable) return user.error();

  bool ok;
  if (user && !user->disabled && !user->password_hash.empty()) {
    ok = hasher_.verify(password, user->password_hash);
  } else {
    hasher_.verify_dummy(password);  // the same cost whatever was wrong
    ok = false;
  }
  if (!ok) {
    throttle_.record_failure(key, clock_.now());
    return Error::Unauthenticated("login failed");
  }
  throttle_.record_success(key);
  COFFER_TRY(std::string token, tokens_.issue_user_token(user->tenant_id, user->id, ttl_));
  return IssuedToken{std::move(token), ttl_};
}

}  // namespace coffer::service
