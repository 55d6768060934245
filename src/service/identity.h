// Authentication: a bearer token becomes a Caller. The user is read from the database (or from a
// UserCache, which every change through this node empties), so a role change or a disabled user
// takes effect at once.
#pragma once

#include <optional>
#include <string_view>

#include "auth/token_authority.h"
#include "meta/metadata_store.h"
#include "service/caller.h"
#include "service/rate_limiter.h"
#include "service/user_cache.h"

namespace coffer::service {

class Identity {
 public:
  Identity(const auth::TokenAuthority& tokens, meta::MetadataStore& db, TenantRateLimiter& limiter,
           const UserCache* users = nullptr)
      : tokens_(tokens), db_(db), limiter_(limiter), users_(users) {}

  // kUnauthenticated for a missing or bad token, and for a user who does not exist, is disabled
  // or is not in the token's tenant (one answer for all); kStorageUnavailable when the database
  // cannot be asked; kRateLimited when the user's tenant is over its request rate.
  Result<Caller> authenticate(std::optional<std::string_view> authorization) const;

 private:
  const auth::TokenAuthority& tokens_;
  meta::MetadataStore& db_;
  TenantRateLimiter& limiter_;
  const UserCache* users_;
};

}  // namespace coffer::service
