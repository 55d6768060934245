// The keys a verifier trusts, each pinned to exactly one JWS algorithm, and verification of a
// compact JWS against them (key chosen by kid, never by anything else the token says).
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "auth/jwk.h"
#include "auth/jws.h"
#include "core/error.h"

namespace coffer::auth {

// A key and the one algorithm it may verify.
class BoundKey {
 public:
  // Refuses a key that check_key_for_alg refuses, or whose JWK metadata forbids verification
  // with `alg`: "use" other than "sig", "key_ops" without "verify", or an "alg" member naming a
  // different algorithm. The kid is key.kid(), or `kid` when given (for keys configured apart
  // from their JWK). Errors are kBadRequest.
  static Result<BoundKey> make(Jwk key, JwsAlg alg, std::optional<std::string> kid = {});

  JwsAlg alg() const noexcept { return alg_; }
  const Jwk& key() const noexcept { return key_; }
  // Empty when the key has no kid.
  const std::string& kid() const noexcept { return kid_; }

 private:
  BoundKey(Jwk key, JwsAlg alg, std::string kid)
      : key_(std::move(key)), alg_(alg), kid_(std::move(kid)) {}

  Jwk key_;
  JwsAlg alg_;
  std::string kid_;
};

// An immutable, non-empty set of bound keys.
class KeySet {
 public:
  // Keys configured one by one (each already pinned to its algorithm, so symmetric and
  // asymmetric keys may sit side by side). Refuses an empty set and two keys with the same
  // non-empty kid. Errors are kBadRequest.
  static Result<KeySet> make(std::vector<BoundKey> keys);

  // The keys of one issuer's JWK Set. Refuses a set whose parsed keys mix symmetric with
  // asymmetric keys, or public with private asymmetric keys: an issuer publishing such a set
  // is misconfigured and may be leaking a secret. Otherwise binds every key that may verify
  // signatures under one of `allowed`: a key with an "alg" member is bound to that algorithm
  // if it is allowed; a key without one is bound to the single allowed algorithm that fits it,
  // and left out if none or several fit. Entries that share a kid are all left out (which one
  // is meant is ambiguous), malformed ones included. Keys left out are described in `skipped`
  // when given, for the log. Then as make(). Errors are kBadRequest.
  static Result<KeySet> from_jwks(const JwkSet& jwks, std::span<const JwsAlg> allowed,
                                  std::vector<std::string>* skipped = nullptr);

  const std::vector<BoundKey>& keys() const noexcept { return keys_; }

 private:
  explicit KeySet(std::vector<BoundKey> keys) : keys_(std::move(keys)) {}

  std::vector<BoundKey> keys_;
};

// Verifies a compact JWS against `keys`: parse_compact's rules, then the key is chosen by the
// header "kid" (exact, byte-for-byte match; an unknown kid is refused) or, when the header has
// no kid, among the keys bound to the header's algorithm. The header "alg" must equal the
// chosen key's algorithm exactly. Returns the verified parts and the key that verified them.
// Errors are kUnauthenticated.
struct VerifiedJws {
  JwsParts parts;
  const BoundKey* key = nullptr;  // points into the KeySet
};
Result<VerifiedJws> verify_compact(std::string_view token, const KeySet& keys);

}  // namespace coffer::auth
