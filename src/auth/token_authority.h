// Issues Coffer's own tokens and turns any bearer token (own, or from a trusted external issuer)
// into a TokenSubject. Pure apart from the injected clock; the database is asked later, by the
// service layer, so that roles and the disabled flag are never taken from a token.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "auth/jwt_verifier.h"
#include "auth/signing_key.h"
#include "auth/token_subject.h"
#include "auth/verified_token_cache.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/error.h"

namespace coffer::auth {

// Tokens of one trusted external issuer (a JWKS-backed verifier; see external_issuer.h).
class ExternalIssuer {
 public:
  virtual ~ExternalIssuer() = default;
  virtual const std::string& issuer() const = 0;
  virtual Result<TokenSubject> verify(std::string_view token, SystemTime now) const = 0;
};

class TokenAuthority {
 public:
  TokenAuthority(SigningKey key, const AuthConfig& config, const Clock& clock);

  // A token for a user of a tenant (ids), valid for `ttl`.
  Result<std::string> issue_user_token(const std::string& tenant_id, const std::string& user_id,
                                       std::chrono::seconds ttl) const;
  // An operator token: no tenant, "role": "operator".
  Result<std::string> issue_operator_token(std::chrono::seconds ttl) const;

  // Verifies the value of an Authorization header ("Bearer <jwt>"). Every failure is
  // kUnauthenticated with the reason in `detail` only.
  Result<TokenSubject> authenticate(std::string_view authorization) const;

  // Trusts another issuer; called at start-up only.
  void add_external_issuer(std::shared_ptr<const ExternalIssuer> issuer);

 private:
  Result<std::string> issue(boost::json::object claims, std::chrono::seconds ttl) const;

  JwsSigner signer_;
  Verifier own_;
  std::string issuer_;
  std::string audience_;
  std::chrono::seconds leeway_;
  const Clock& clock_;
  std::vector<std::shared_ptr<const ExternalIssuer>> external_;
  std::unique_ptr<VerifiedTokenCache> verified_ = std::make_unique<VerifiedTokenCache>();
};

// The unverified "iss" of a compact JWT, to pick the verifier; "" when there is none.
std::string peek_issuer(std::string_view token);

// The token of "Bearer <token>" (scheme case-insensitive); empty when the header is not that.
std::string_view bearer_token(std::string_view authorization);

}  // namespace coffer::auth
