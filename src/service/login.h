// POST /api/v1/auth/token: a password login that answers one and the same 401 for a wrong
// tenant, user or password, and takes as long for each.
#pragma once

#include <chrono>
#include <string>

#include "auth/password.h"
#include "auth/token_authority.h"
#include "meta/metadata_store.h"
#include "service/login_throttle.h"

namespace coffer::service {

struct IssuedToken {
  std::string access_token;
  std::chrono::seconds expires_in;
};

class Login {
 public:
  Login(meta::MetadataStore& db, auth::PasswordHasher& hasher, const auth::TokenAuthority& tokens,
        LoginThrottle& throttle, const Clock& clock, std::chrono::seconds ttl)
      : db_(db), hasher_(hasher), tokens_(tokens), throttle_(throttle), clock_(clock), ttl_(ttl) {}

  Result<IssuedToken> login(const std::string& tenant_slug, const std::string& username,
                            const std::string& password);

 private:
  meta::MetadataStore& db_;
  auth::PasswordHasher& hasher_;
  const auth::TokenAuthority& tokens_;
  LoginThrottle& throttle_;
  const Clock& clock_;
  std::chrono::seconds ttl_;
};

}  // namespace coffer::service
