#include "auth/external_issuer.h"

#include <algorithm>

namespace coffer::auth {
namespace {

Error bad_issuer(const std::string& issuer, std::string detail) {
  return Error{ErrorCode::kBadRequest, "trusted issuer " + issuer + ": invalid configuration",
               std::move(detail)};
}

// Whether `token` names a kid that `keys` lacks (so newer keys might verify it).
bool names_unknown_kid(std::string_view token, const KeySet& keys) {
  auto parts = parse_compact(token);
  if (!parts || !parts->kid) return false;
  const auto& all = keys.keys();
  return std::none_of(all.begin(), all.end(),
                      [&](const BoundKey& k) { return k.kid() == *parts->kid; });
}

}  // namespace

Result<std::vector<JwsAlg>> trusted_algorithms(const TrustedIssuer& config) {
  if (config.algorithms.empty()) return bad_issuer(config.issuer, "no algorithms");
  std::vector<JwsAlg> out;
  for (const std::string& name : config.algorithms) {
    auto alg = jws_alg_from_name(name);
    if (!alg || (*alg != JwsAlg::kRs256 && *alg != JwsAlg::kEs256)) {
      return bad_issuer(config.issuer, "algorithm " + name + " is not RS256 or ES256");
    }
    if (std::find(out.begin(), out.end(), *alg) == out.end()) out.push_back(*alg);
  }
  return out;
}

namespace {

// The checks of JwksIssuer::make that need no keys, and the verifier configuration they give.
Result<VerifierConfig> issuer_verifier_config(const TrustedIssuer& config,
                                              std::chrono::seconds leeway) {
  if (config.issuer.empty()) return bad_issuer(config.issuer, "empty issuer");
  if (config.user_claim.empty() || config.tenant_claim.empty()) {
    return bad_issuer(config.issuer, "empty user_claim or tenant_claim");
  }
  if (leeway.count() < 0) return bad_issuer(config.issuer, "negative leeway");
  COFFER_TRY_VOID(trusted_algorithms(config));
  VerifierConfig vc;
  vc.issuer = config.issuer;
  if (!config.audience.empty()) vc.audience = config.audience;
  vc.leeway = leeway;
  return vc;
}

}  // namespace

Result<std::shared_ptr<JwksIssuer>> JwksIssuer::make(const TrustedIssuer& config,
                                                     std::chrono::seconds leeway,
                                                     std::shared_ptr<JwksSource> keys) {
  COFFER_TRY(VerifierConfig vc, issuer_verifier_config(config, leeway));
  if (!keys) return bad_issuer(config.issuer, "no key source");
  return std::shared_ptr<JwksIssuer>(new JwksIssuer(config, std::move(vc), std::move(keys)));
}

Result<std::shared_ptr<const JwksIssuer::Loaded>> JwksIssuer::loaded_for(
    std::shared_ptr<const KeySet> keys) const {
  std::shared_ptr<const Loaded> loaded;
  {
    std::lock_guard lock(loaded_mu_);
    loaded = loaded_;
  }
  if (loaded && loaded->keys == keys) return loaded;
  // Rebuilt once per key set; two threads racing here build two equal verifiers, harmlessly.
  COFFER_TRY(Verifier verifier, Verifier::make(*keys, verifier_config_));
  auto fresh = std::make_shared<const Loaded>(Loaded{std::move(keys), std::move(verifier)});
  std::shared_ptr<const Loaded> replaced = fresh;
  {
    std::lock_guard lock(loaded_mu_);
    loaded_.swap(replaced);
  }  // the previous verifier is freed outside the lock
  return fresh;
}

Result<TokenSubject> JwksIssuer::verify(std::string_view token, SystemTime now) const {
  auto refuse = [&](const std::string& why) {
    return Error::Unauthenticated("issuer " + issuer_ + ": " + why);
  };
  std::shared_ptr<const KeySet> keys = source_->keys();
  if (!keys) {
    keys = source_->keys_for_unknown_kid(nullptr);
    if (!keys) return refuse("no keys loaded (JWKS not fetched yet)");
  }
  auto loaded = loaded_for(keys);
  if (!loaded) return refuse(loaded.error().detail);
  Result<Claims> claims = (*loaded)->verifier.verify(token, now);
  if (!claims && token.size() <= verifier_config_.max_token_bytes &&
      names_unknown_kid(token, *keys)) {
    if (std::shared_ptr<const KeySet> newer = source_->keys_for_unknown_kid(keys.get())) {
      loaded = loaded_for(std::move(newer));
      if (!loaded) return refuse(loaded.error().detail);
      claims = (*loaded)->verifier.verify(token, now);
    }
  }
  if (!claims) return refuse(claims.error().detail);

  std::optional<std::string_view> tenant = claims->string_claim(tenant_claim_);
  std::optional<std::string_view> user = claims->string_claim(user_claim_);
  if (!tenant || tenant->empty()) {
    return refuse("claim " + tenant_claim_ + " missing, empty or not a string");
  }
  if (!user || user->empty()) {
    return refuse("claim " + user_claim_ + " missing, empty or not a string");
  }
  TokenSubject subject;
  subject.kind = TokenSubject::Kind::kUser;  // whatever "role" the token claims
  subject.by_name = true;
  subject.tenant = std::string(*tenant);
  subject.user = std::string(*user);
  return subject;
}

Result<std::shared_ptr<const ExternalIssuer>> make_external_issuer(const TrustedIssuer& config,
                                                                   const AuthConfig& auth) {
  auto leeway = std::chrono::duration_cast<std::chrono::seconds>(auth.leeway);
  COFFER_TRY_VOID(issuer_verifier_config(config, leeway));  // before any file or network access
  COFFER_TRY(std::vector<JwsAlg> allowed, trusted_algorithms(config));
  auto source = open_jwks_source(config, auth, allowed);
  if (!source) {
    return Error{ErrorCode::kBadRequest,
                 "trusted issuer " + config.issuer + ": " + source.error().message,
                 source.error().detail};
  }
  COFFER_TRY(std::shared_ptr<JwksIssuer> issuer, JwksIssuer::make(config, leeway, *source));
  return std::shared_ptr<const ExternalIssuer>(std::move(issuer));
}

}  // namespace coffer::auth
