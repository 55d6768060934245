// JSON Web Keys (RFC 7517, key types of RFC 7518 §6 and RFC 8037) parsed into OpenSSL keys.
//
// Parsing is strict and says nothing about what a key may be used for: which algorithm a key
// serves, and whether it is strong enough, is decided when it is bound (see jws.h, key_set.h).
#pragma once

#include <openssl/types.h>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace coffer::auth {

// A shared, immutable OpenSSL key. Copies share one EVP_PKEY (reference counted by OpenSSL);
// nothing in Coffer mutates an EVP_PKEY once built, so sharing across threads is safe.
class PKey {
 public:
  PKey() = default;
  // Takes ownership of `pkey` (may be null).
  explicit PKey(EVP_PKEY* pkey) noexcept : pkey_(pkey) {}
  PKey(const PKey& other);
  PKey& operator=(const PKey& other);
  PKey(PKey&&) noexcept = default;
  PKey& operator=(PKey&&) noexcept = default;
  ~PKey() = default;

  EVP_PKEY* get() const noexcept { return pkey_.get(); }
  explicit operator bool() const noexcept { return pkey_ != nullptr; }

 private:
  struct Free {
    void operator()(EVP_PKEY* p) const noexcept;
  };
  std::unique_ptr<EVP_PKEY, Free> pkey_;
};

enum class KeyType { kRsa, kEc, kOkp, kOct };

// Curves Coffer understands: NIST P-256/384/521 for "EC" and Ed25519 for "OKP".
enum class Curve { kNone, kP256, kP384, kP521, kEd25519 };

std::string_view key_type_name(KeyType kty);  // "RSA", "EC", "OKP", "oct"
std::string_view curve_name(Curve crv);       // "P-256", ..., "Ed25519"; "" for kNone

// One parsed JWK. Asymmetric keys hold an EVP_PKEY (public, or a key pair when the private
// members are present); "oct" keys hold the secret octets.
class Jwk {
 public:
  // Refuses, as RFC 7517/7518/8037 require or as Coffer chooses:
  // - kty other than RSA, EC, OKP, oct; EC crv other than P-256/384/521; OKP crv other than
  //   Ed25519;
  // - a member of the wrong JSON type, or base64url that is not strict (encoding.h);
  // - RSA: n or e with a leading zero octet, n even, e even or < 3, "oth" (multi-prime), d
  //   without all of p, q, dp, dq, qi or CRT members without d;
  // - EC: x, y (and d) not exactly the coordinate size, a point not on the curve, a d that is
  //   out of range or does not match (x, y);
  // - OKP: x or d not 32 octets, a d whose public key is not x;
  // - oct: an empty k.
  // Errors are kBadRequest with the reason in `detail`.
  static Result<Jwk> from_json(const boost::json::object& jwk);
  // Parses JSON text first (strict_json.h rules: no duplicate members), then as from_json.
  static Result<Jwk> parse(std::string_view json);

  KeyType kty() const noexcept { return kty_; }
  Curve crv() const noexcept { return crv_; }
  // The "kid", "alg" and "use" members as given; empty when absent.
  const std::string& kid() const noexcept { return kid_; }
  const std::string& alg() const noexcept { return alg_; }
  const std::string& use() const noexcept { return use_; }
  // "key_ops"; nullopt when absent (which differs from an empty list).
  const std::optional<std::vector<std::string>>& key_ops() const noexcept { return key_ops_; }

  bool is_symmetric() const noexcept { return kty_ == KeyType::kOct; }
  // True for "oct" keys and for asymmetric keys with their private part.
  bool has_secret() const noexcept { return has_secret_; }
  // Key size as OpenSSL reports it (EVP_PKEY_get_bits: RSA modulus bits, EC order bits), or
  // 8 × the octets of an oct key.
  int bits() const noexcept { return bits_; }

  // The OpenSSL key; empty for oct keys.
  const PKey& pkey() const noexcept { return pkey_; }
  // The secret octets of an oct key; empty for other key types.
  std::string_view secret() const noexcept { return secret_; }

  // RFC 7638 JWK thumbprint: base64url(SHA-256(required public members, canonical JSON)).
  std::string thumbprint() const;

 private:
  Jwk() = default;

  KeyType kty_ = KeyType::kOct;
  Curve crv_ = Curve::kNone;
  std::string kid_;
  std::string alg_;
  std::string use_;
  std::optional<std::vector<std::string>> key_ops_;
  bool has_secret_ = false;
  int bits_ = 0;
  PKey pkey_;
  std::string secret_;
  std::string thumbprint_input_;  // RFC 7638 canonical JSON of the required members
};

// A JWK Set (RFC 7517 §5). As §5 asks, keys that cannot be used (unknown kty or crv, malformed
// members) are left out rather than failing the whole set; `rejected` says which and why, for
// the log. Whether the keys that remain may verify anything is decided by KeySet (key_set.h).
class JwkSet {
 public:
  struct Rejected {
    std::string kid;  // empty when the key had none
    std::string reason;
  };

  // Fails only when the text is not a JSON object with a "keys" array.
  static Result<JwkSet> from_json(const boost::json::value& jwks);
  static Result<JwkSet> parse(std::string_view json);

  const std::vector<Jwk>& keys() const noexcept { return keys_; }
  const std::vector<Rejected>& rejected() const noexcept { return rejected_; }

 private:
  std::vector<Jwk> keys_;
  std::vector<Rejected> rejected_;
};

}  // namespace coffer::auth
