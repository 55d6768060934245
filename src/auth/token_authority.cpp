#include "auth/token_authority.h"

#include <boost/json.hpp>

#include "core/crypto.h"
#include "core/encoding.h"
#include "core/strict_json.h"

namespace coffer::auth {
namespace {

namespace json = boost::json;

Verifier make_own_verifier(const SigningKey& key, const AuthConfig& config) {
  VerifierConfig vc;
  if (!config.issuer.empty()) vc.issuer = config.issuer;
  if (!config.audience.empty()) vc.audience = config.audience;
  vc.leeway = std::chrono::duration_cast<std::chrono::seconds>(config.leeway);
  auto verifier = Verifier::make(key.verify_keys, vc);
  if (!verifier) throw std::runtime_error("token verifier: " + verifier.error().detail);
  return std::move(*verifier);
}

}  // namespace

TokenAuthority::TokenAuthority(SigningKey key, const AuthConfig& config, const Clock& clock)
    : signer_(key.signer),
      own_(make_own_verifier(key, config)),
      issuer_(config.issuer),
      audience_(config.audience),
      leeway_(std::chrono::duration_cast<std::chrono::seconds>(config.leeway)),
      clock_(clock) {}

Result<std::string> TokenAuthority::issue(json::object claims, std::chrono::seconds ttl) const {
  const std::int64_t now = to_unix_seconds(clock_.now());
  if (!issuer_.empty()) claims["iss"] = issuer_;
  if (!audience_.empty()) claims["aud"] = audience_;
  claims["iat"] = now;
  claims["exp"] = now + ttl.count();
  claims["jti"] = base64url_encode(random_bytes(12));
  return signer_.sign_claims(claims);
}

Result<std::string> TokenAuthority::issue_user_token(const std::string& tenant_id,
                                                     const std::string& user_id,
                                                     std::chrono::seconds ttl) const {
  return issue(json::object{{"sub", user_id}, {"tenant_id", tenant_id}}, ttl);
}

Result<std::string> TokenAuthority::issue_operator_token(std::chrono::seconds ttl) const {
  return issue(json::object{{"sub", "operator"}, {"role", "operator"}}, ttl);
}

void TokenAuthority::add_external_issuer(std::shared_ptr<const ExternalIssuer> issuer) {
  external_.push_back(std::move(issuer));
}

Result<TokenSubject> TokenAuthority::authenticate(std::string_view authorization) const {
  std::string_view token = bearer_token(authorization);
  if (token.empty()) return Error::Unauthenticated("no bearer token");
  const SystemTime now = clock_.now();
  if (auto known = verified_->find(token, now)) return std::move(*known);
  if (!external_.empty()) {
    std::string iss = peek_issuer(token);
    for (const auto& external : external_) {
      if (!iss.empty() && iss == external->issuer()) return external->verify(token, now);
    }
  }
  COFFER_TRY(Claims claims, own_.verify(token, now));
  TokenSubject subject;
  if (claims.role == "operator") {
    if (claims.tenant_id) return Error::Unauthenticated("operator token names a tenant");
    subject.kind = TokenSubject::Kind::kOperator;
    verified_->remember(token, subject, from_unix_seconds(claims.exp) + leeway_);
    return subject;
  }
  if (!claims.sub || claims.sub->empty() || !claims.tenant_id || claims.tenant_id->empty()) {
    return Error::Unauthenticated("token lacks sub or tenant_id");
  }
  subject.tenant = *claims.tenant_id;
  subject.user = *claims.sub;
  verified_->remember(token, subject, from_unix_seconds(claims.exp) + leeway_);
  return subject;
}

std::string peek_issuer(std::string_view token) {
  auto dot1 = token.find('.');
  if (dot1 == std::string_view::npos) return {};
  auto dot2 = token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos) return {};
  auto payload = base64url_decode(token.substr(dot1 + 1, dot2 - dot1 - 1));
  if (!payload) return {};
  auto object = parse_strict_json_object(*payload, "payload");
  if (!object) return {};
  const json::value* iss = object->if_contains("iss");
  if (!iss || !iss->is_string()) return {};
  return std::string(iss->as_string());
}

std::string_view bearer_token(std::string_view authorization) {
  constexpr std::string_view kScheme = "bearer ";
  if (authorization.size() <= kScheme.size()) return {};
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    char c = authorization[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != kScheme[i]) return {};
  }
  std::string_view token = authorization.substr(kScheme.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  return token;
}

}  // namespace coffer::auth
