// Tokens of one trusted external identity provider (API.md "Authentication"): RS256 and/or
// ES256, verified with the keys of its JWKS, naming a tenant by slug and a user by username in
// claims whose names are configured. Nothing else in the token is used: roles, and whether the
// user exists and is enabled, come from Coffer's database (service/identity.cpp).
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "auth/jwks_source.h"
#include "auth/jwt_verifier.h"
#include "auth/token_authority.h"
#include "core/config.h"
#include "core/error.h"

namespace coffer::auth {

// The JWS algorithms of a trusted issuer's configuration. Errors (kBadRequest): none given, or
// one other than RS256 and ES256.
Result<std::vector<JwsAlg>> trusted_algorithms(const TrustedIssuer& config);

class JwksIssuer final : public ExternalIssuer {
 public:
  // `config.issuer` is the exact `iss` required; `config.audience`, when not empty, a value
  // `aud` must hold; `leeway` the clock skew allowed for exp, nbf and iat. Errors (kBadRequest):
  // an empty issuer or claim name, bad algorithms (trusted_algorithms), a negative leeway.
  // The jwks_file / jwks_url of `config` are not looked at: keys come from `keys`, which must
  // hold only keys bound to the configured algorithms (see open_jwks_source).
  static Result<std::shared_ptr<JwksIssuer>> make(const TrustedIssuer& config,
                                                  std::chrono::seconds leeway,
                                                  std::shared_ptr<JwksSource> keys);

  const std::string& issuer() const override { return issuer_; }

  // The subject {kind kUser, by_name, tenant = <tenant_claim>, user = <user_claim>} when `token`
  // verifies at `now` under the source's current keys (Verifier::verify's rules with this
  // issuer's iss, aud and leeway) and both claims are non-empty strings. A token whose kid the
  // keys lack asks the source once for newer keys (keys_for_unknown_kid) and is then checked
  // against those. Every failure is kUnauthenticated, the reason in `detail`.
  Result<TokenSubject> verify(std::string_view token, SystemTime now) const override;

 private:
  // A verifier built for one key set; rebuilt when the source's key set changes.
  struct Loaded {
    std::shared_ptr<const KeySet> keys;
    Verifier verifier;
  };

  JwksIssuer(const TrustedIssuer& config, VerifierConfig verifier_config,
             std::shared_ptr<JwksSource> keys)
      : issuer_(config.issuer),
        user_claim_(config.user_claim),
        tenant_claim_(config.tenant_claim),
        verifier_config_(std::move(verifier_config)),
        source_(std::move(keys)) {}

  Result<std::shared_ptr<const Loaded>> loaded_for(std::shared_ptr<const KeySet> keys) const;

  const std::string issuer_;
  const std::string user_claim_;
  const std::string tenant_claim_;
  const VerifierConfig verifier_config_;
  const std::shared_ptr<JwksSource> source_;
  mutable std::mutex loaded_mu_;  // held only to copy or replace loaded_
  mutable std::shared_ptr<const Loaded> loaded_;
};

// The issuer that `config` describes, with its keys from open_jwks_source (a file is read now;
// a URL is fetched now and refreshed in the background) and auth.leeway. Errors are start-up
// errors (kBadRequest) naming the issuer.
Result<std::shared_ptr<const ExternalIssuer>> make_external_issuer(const TrustedIssuer& config,
                                                                   const AuthConfig& auth);

}  // namespace coffer::auth
