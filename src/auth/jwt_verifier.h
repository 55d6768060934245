// JWT (RFC 7519) verification for Coffer's bearer tokens, as RFC 8725 recommends: a pinned
// algorithm per key, exp required, iss/aud checked when configured, and nothing in the token
// trusted before its signature is. Pure: the caller passes `now`.
#pragma once

#include <boost/json/object.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/jws.h"
#include "auth/key_set.h"
#include "core/clock.h"
#include "core/error.h"

namespace coffer::auth {

struct VerifierConfig {
  // The exact (case-sensitive) "iss" tokens must carry; unchecked when nullopt.
  std::optional<std::string> issuer;
  // A value "aud" (a string, or an array of strings) must contain exactly; unchecked when
  // nullopt.
  std::optional<std::string> audience;
  // Clock skew tolerated for exp, nbf and iat; must not be negative.
  std::chrono::seconds leeway{0};
  // Longer tokens are refused before any decoding or cryptography.
  std::size_t max_token_bytes = 8192;
};

// The claims of a verified token. NumericDates are whole seconds since the epoch (fractions
// rounded down, values beyond the int64 range clamped to it).
struct Claims {
  std::optional<std::string> sub;
  std::optional<std::string> tenant_id;  // only when the claim is a string
  std::optional<std::string> role;       // only when a string; operator tokens: "operator"
  std::optional<std::string> iss;
  std::vector<std::string> aud;  // "aud" as a list, whichever form it had; empty when absent
  std::int64_t exp = 0;
  std::optional<std::int64_t> nbf;
  std::optional<std::int64_t> iat;
  // The whole payload, for claims whose names are configured (user_claim / tenant_claim).
  boost::json::object payload;
  // The key that verified the token.
  std::string kid;
  JwsAlg alg = JwsAlg::kHs256;

  // The claim `name` when it is a string; nullopt when absent or of another type.
  std::optional<std::string_view> string_claim(std::string_view name) const;
};

class Verifier {
 public:
  // Errors (kBadRequest) for a negative leeway or a zero max_token_bytes.
  static Result<Verifier> make(KeySet keys, VerifierConfig config);

  // Returns the claims of `token` if, at time `now`, all of the following hold, and otherwise
  // an Error with code kUnauthenticated whose `detail` says which check failed (for the log
  // only; the client sees one generic message):
  // - size <= max_token_bytes; the JWS rules of parse_compact and verify_compact(KeySet);
  // - the payload is a strict JSON object (strict_json.h);
  // - exp is present, a number, and now < exp + leeway;
  // - nbf, when present, is a number and now >= nbf - leeway;
  // - iat, when present, is a number and iat <= now + leeway;
  // - sub and iss, when present, are strings; aud, when present, is a string or an array of
  //   strings;
  // - iss equals the configured issuer, and aud contains the configured audience, when set.
  Result<Claims> verify(std::string_view token, SystemTime now) const;

  const KeySet& keys() const noexcept { return keys_; }
  const VerifierConfig& config() const noexcept { return config_; }

 private:
  Verifier(KeySet keys, VerifierConfig config)
      : keys_(std::move(keys)), config_(std::move(config)) {}

  KeySet keys_;
  VerifierConfig config_;
};

}  // namespace coffer::auth
