// JSON Web Signature (RFC 7515), compact serialization only, on OpenSSL EVP.
//
// Verification always runs under ONE algorithm the caller pinned in advance; the token's own
// "alg" must name exactly that algorithm and is never used to choose one. "none" (in any
// casing) is not an algorithm here at all. Every function is pure: no I/O, no clock, no key
// fetching (jku, x5u, jwk and x5c header parameters are refused, never followed).
#pragma once

#include <array>
#include <boost/json/object.hpp>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "auth/jwk.h"
#include "core/error.h"

namespace coffer::auth {

// The JWS algorithms of RFC 7518 §3 and RFC 8037 (EdDSA with Ed25519) that Coffer implements.
enum class JwsAlg {
  kHs256,
  kHs384,
  kHs512,
  kRs256,
  kRs384,
  kRs512,
  kPs256,
  kPs384,
  kPs512,
  kEs256,
  kEs384,
  kEs512,
  kEdDsa,
};

inline constexpr std::array<JwsAlg, 13> kAllJwsAlgs = {
    JwsAlg::kHs256, JwsAlg::kHs384, JwsAlg::kHs512, JwsAlg::kRs256, JwsAlg::kRs384,
    JwsAlg::kRs512, JwsAlg::kPs256, JwsAlg::kPs384, JwsAlg::kPs512, JwsAlg::kEs256,
    JwsAlg::kEs384, JwsAlg::kEs512, JwsAlg::kEdDsa};

// "HS256" ... "EdDSA"; exact and case-sensitive, so "hs256", "HS256 " and "none" are nullopt.
std::optional<JwsAlg> jws_alg_from_name(std::string_view name);
std::string_view jws_alg_name(JwsAlg alg);

// Whether `key` may serve `alg` at all: the key type (and curve) fits, an HMAC secret is at
// least as long as the hash output (RFC 7518 §3.2), and an RSA modulus has at least 2048 bits
// (§3.3) and lacks the ROCA (CVE-2017-15361) fingerprint. It does not look at "use",
// "key_ops" or the key's own "alg" (KeySet does). Errors are kBadRequest.
Result<void> check_key_for_alg(const Jwk& key, JwsAlg alg);

// A compact JWS taken apart and decoded. Nothing in it is trusted until a signature check over
// `token.substr(0, signing_input_size)` succeeds.
struct JwsParts {
  boost::json::object header;
  std::string alg;                 // the header's "alg" string, as written
  std::optional<std::string> kid;  // the header's "kid", when present
  std::string payload;             // decoded payload octets (not necessarily JSON)
  std::string signature;           // decoded signature octets
  std::size_t signing_input_size = 0;
};

// Takes a compact JWS apart. Refuses: anything but exactly three '.'-separated segments;
// base64url that is not strict (no '=', no '+' or '/', no whitespace, canonical trailing
// bits); a header that is not a strict JSON object (strict_json.h); a missing or non-string
// "alg"; "alg" equal to "none" in any casing; any "crit" (Coffer understands no extension);
// the key-bearing parameters jku, x5u, jwk and x5c; a non-string "kid".
// Errors are kUnauthenticated with the reason in `detail`.
Result<JwsParts> parse_compact(std::string_view token);

// Checks `signature` over `signing_input` under `alg` with `key`. Refuses a key whose type or
// curve does not fit `alg` (so an RSA or EC public key can never become an HMAC secret), and a
// signature of the wrong length: HMAC the full tag, RSA exactly the modulus length, ECDSA
// exactly R||S of twice the coordinate size (DER is refused, r = 0 or s = 0 too; r or s >= n
// are refused by OpenSSL), Ed25519 64 octets. HMAC tags are compared in constant time.
// PS* use MGF1 with the same hash and a salt as long as the hash, as RFC 7518 §3.5 fixes.
// Key strength is not re-checked here (see check_key_for_alg).
// Errors are kUnauthenticated (kInternal only if OpenSSL itself fails).
Result<void> verify_signature(JwsAlg alg, const Jwk& key, std::string_view signing_input,
                              std::string_view signature);

// parse_compact, then: header "alg" must equal jws_alg_name(alg) byte for byte,
// check_key_for_alg(key, alg), and verify_signature. Returns the verified parts.
// Errors are kUnauthenticated.
Result<JwsParts> verify_compact(std::string_view token, JwsAlg alg, const Jwk& key);

// The raw signature (octets, not base64url) of `signing_input` under `alg`. The key must hold
// its secret and fit `alg`. ES* signatures are R||S; PS* use a random salt as long as the hash.
// Errors are kBadRequest (unfit key) or kInternal (OpenSSL failure).
Result<std::string> compute_signature(JwsAlg alg, const Jwk& key, std::string_view signing_input);

// Issues Coffer's own compact JWS/JWT with one fixed key.
class JwsSigner {
 public:
  // `alg` must be HS256, ES256 or EdDSA, and `key` must pass check_key_for_alg and hold its
  // secret (oct, or a private EC/OKP key). The protected header is
  // {"alg":<alg>,"typ":"JWT"} plus "kid" when key.kid() is not empty.
  static Result<JwsSigner> make(JwsAlg alg, Jwk key);

  JwsAlg alg() const noexcept { return alg_; }
  const Jwk& key() const noexcept { return key_; }

  // Compact JWS of `payload` octets.
  Result<std::string> sign(std::string_view payload) const;
  // Compact JWT of `claims` serialized as JSON.
  Result<std::string> sign_claims(const boost::json::object& claims) const;

 private:
  JwsSigner(JwsAlg alg, Jwk key, std::string encoded_header)
      : alg_(alg), key_(std::move(key)), encoded_header_(std::move(encoded_header)) {}

  JwsAlg alg_;
  Jwk key_;
  std::string encoded_header_;  // base64url of the protected header
};

}  // namespace coffer::auth
