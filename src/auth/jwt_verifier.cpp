#include "auth/jwt_verifier.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "core/strict_json.h"

namespace coffer::auth {
namespace {

namespace json = boost::json;

constexpr std::int64_t kMaxSeconds = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kMinSeconds = std::numeric_limits<std::int64_t>::min();

Error fail(std::string detail) { return Error::Unauthenticated(std::move(detail)); }

std::int64_t saturating_add(std::int64_t a, std::int64_t b) {
  std::int64_t r = 0;
  if (__builtin_add_overflow(a, b, &r)) return b > 0 ? kMaxSeconds : kMinSeconds;
  return r;
}

// Three-way comparison of a JSON number with `t` (exact for integers of any size; doubles
// compare by value); nullopt when `v` is not a finite number.
std::optional<int> compare_numeric_date(const json::value& v, std::int64_t t) {
  if (const std::int64_t* i = v.if_int64()) return *i < t ? -1 : (*i > t ? 1 : 0);
  if (v.is_uint64()) return 1;  // Boost.JSON uses uint64 only beyond the int64 range
  if (const double* d = v.if_double()) {
    if (!std::isfinite(*d)) return std::nullopt;
    const double td = static_cast<double>(t);
    return *d < td ? -1 : (*d > td ? 1 : 0);
  }
  return std::nullopt;
}

std::int64_t to_seconds(const json::value& v) {
  if (const std::int64_t* i = v.if_int64()) return *i;
  if (v.is_uint64()) return kMaxSeconds;
  const double d = std::floor(v.get_double());
  if (d >= 9223372036854775807.0) return kMaxSeconds;
  if (d <= -9223372036854775808.0) return kMinSeconds;
  return static_cast<std::int64_t>(d);
}

// Reads a NumericDate claim: nullptr when absent, an error when present but not a finite number.
Result<const json::value*> numeric_date(const json::object& payload, std::string_view name) {
  const json::value* v = payload.if_contains(name);
  if (v == nullptr) return static_cast<const json::value*>(nullptr);
  if (!compare_numeric_date(*v, 0)) return fail(std::string(name) + " is not a finite number");
  return v;
}

Result<std::optional<std::string>> string_claim_or_fail(const json::object& payload,
                                                        std::string_view name) {
  const json::value* v = payload.if_contains(name);
  if (v == nullptr) return std::optional<std::string>();
  if (!v->is_string()) return fail(std::string(name) + " is not a string");
  return std::optional<std::string>(std::string(v->get_string().data(), v->get_string().size()));
}

std::optional<std::string> string_if_string(const json::object& payload, std::string_view name) {
  const json::value* v = payload.if_contains(name);
  if (v == nullptr || !v->is_string()) return std::nullopt;
  return std::string(v->get_string().data(), v->get_string().size());
}

}  // namespace

std::optional<std::string_view> Claims::string_claim(std::string_view name) const {
  const json::value* v = payload.if_contains(name);
  if (v == nullptr || !v->is_string()) return std::nullopt;
  return std::string_view(v->get_string().data(), v->get_string().size());
}

Result<Verifier> Verifier::make(KeySet keys, VerifierConfig config) {
  if (config.leeway.count() < 0) {
    return Error::BadRequest("JWT verifier: leeway must not be negative");
  }
  if (config.max_token_bytes == 0) {
    return Error::BadRequest("JWT verifier: max_token_bytes must be positive");
  }
  return Verifier(std::move(keys), std::move(config));
}

Result<Claims> Verifier::verify(std::string_view token, SystemTime now) const {
  if (token.size() > config_.max_token_bytes) {
    return fail("token of " + std::to_string(token.size()) + " bytes exceeds the limit of " +
                std::to_string(config_.max_token_bytes));
  }
  COFFER_TRY(VerifiedJws verified, verify_compact(token, keys_));
  auto parsed_payload = parse_strict_json_object(verified.parts.payload, "payload");
  if (!parsed_payload) return fail(parsed_payload.error().message);
  json::object payload = std::move(*parsed_payload);

  const std::int64_t now_s = to_unix_seconds(now);
  const std::int64_t leeway = config_.leeway.count();
  Claims claims;

  COFFER_TRY(const json::value* exp, numeric_date(payload, "exp"));
  if (exp == nullptr) return fail("exp is missing");
  if (*compare_numeric_date(*exp, saturating_add(now_s, -leeway)) <= 0) {
    return fail("token expired");
  }
  claims.exp = to_seconds(*exp);

  COFFER_TRY(const json::value* nbf, numeric_date(payload, "nbf"));
  if (nbf != nullptr) {
    if (*compare_numeric_date(*nbf, saturating_add(now_s, leeway)) > 0) {
      return fail("token not valid yet (nbf)");
    }
    claims.nbf = to_seconds(*nbf);
  }
  COFFER_TRY(const json::value* iat, numeric_date(payload, "iat"));
  if (iat != nullptr) {
    if (*compare_numeric_date(*iat, saturating_add(now_s, leeway)) > 0) {
      return fail("token issued in the future (iat)");
    }
    claims.iat = to_seconds(*iat);
  }

  COFFER_TRY(claims.sub, string_claim_or_fail(payload, "sub"));
  COFFER_TRY(claims.iss, string_claim_or_fail(payload, "iss"));
  if (const json::value* aud = payload.if_contains("aud")) {
    if (const json::string* one = aud->if_string()) {
      claims.aud.emplace_back(one->data(), one->size());
    } else if (const json::array* many = aud->if_array()) {
      for (const json::value& entry : *many) {
        if (!entry.is_string()) return fail("aud holds a non-string");
        claims.aud.emplace_back(entry.get_string().data(), entry.get_string().size());
      }
    } else {
      return fail("aud is neither a string nor an array of strings");
    }
  }
  if (config_.issuer && claims.iss != config_.issuer) return fail("iss mismatch");
  if (config_.audience &&
      std::find(claims.aud.begin(), claims.aud.end(), *config_.audience) == claims.aud.end()) {
    return fail("aud mismatch");
  }
  claims.tenant_id = string_if_string(payload, "tenant_id");
  claims.role = string_if_string(payload, "role");
  claims.kid = verified.key->kid();
  claims.alg = verified.key->alg();
  claims.payload = std::move(payload);
  return claims;
}

}  // namespace coffer::auth
