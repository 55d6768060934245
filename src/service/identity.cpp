#include "service/identity.h"

#include "service/names.h"

namespace coffer::service {
namespace {

// The user a token names by id, from the cache when it holds them.
Result<meta::UserRecord> user_by_id(meta::MetadataStore& db, const UserCache* users,
                                    const std::string& tenant_id, const std::string& user_id) {
  if (!users) return db.get_user(tenant_id, user_id);
  const auto now = UserCache::Clock::now();
  if (auto known = users->find(tenant_id, user_id, now)) return std::move(*known);
  const std::uint64_t seen = users->generation();
  auto user = db.get_user(tenant_id, user_id);
  if (user) users->remember(seen, *user, now);
  return user;
}

// A lookup failure other than the database being down counts as a bad token.
Error unauthenticated_unless_unavailable(const Error& e, const char* why) {
  if (e.code == ErrorCode::kStorageUnavailable) return e;
  return Error::Unauthenticated(why);
}

}  // namespace

Result<Caller> Identity::authenticate(std::optional<std::string_view> authorization) const {
  if (!authorization) return Error::Unauthenticated("no Authorization header");
  COFFER_TRY(auth::TokenSubject subject, tokens_.authenticate(*authorization));
  if (subject.kind == auth::TokenSubject::Kind::kOperator) return Caller::operator_caller();

  Result<meta::UserRecord> user = Error::Unauthenticated();
  if (subject.by_name) {
    // An external issuer's claims name no one unless they are a slug and a username.
    if (!is_valid_slug(subject.tenant) || !is_valid_username(subject.user)) {
      return Error::Unauthenticated("unknown user");
    }
    auto tenant = db_.find_tenant_by_slug(subject.tenant);
    if (!tenant) return unauthenticated_unless_unavailable(tenant.error(), "unknown tenant");
    user = db_.find_user_by_name(tenant->id, subject.user);
  } else {
    if (!looks_like_id(subject.tenant) || !looks_like_id(subject.user)) {
      return Error::Unauthenticated("unknown user");
    }
    user = user_by_id(db_, users_, subject.tenant, subject.user);
  }
  if (!user) return unauthenticated_unless_unavailable(user.error(), "unknown user");
  if (user->disabled) return Error::Unauthenticated("user is disabled");
  COFFER_TRY_VOID(limiter_.acquire(user->tenant_id));
  Caller caller;
  caller.principal = {user->tenant_id, user->id, user->role};
  caller.user = std::move(*user);
  return caller;
}

}  // namespace coffer::service
