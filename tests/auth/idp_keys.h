// An identity provider in miniature for tests: key pairs generated with OpenSSL, their public
// JWKs and JWKS documents, and tokens signed with them.
#pragma once

#include <boost/json/object.hpp>
#include <optional>
#include <string>
#include <vector>

#include "auth/jwk.h"
#include "auth/jws.h"

namespace coffer::auth::testing {

class IdpKey {
 public:
  // A fresh RSA-2048 (RS256) or P-256 (ES256) key pair named `kid`; throws on failure.
  static IdpKey rsa(std::string kid);
  static IdpKey ec(std::string kid);

  const std::string& kid() const { return kid_; }
  JwsAlg alg() const { return alg_; }
  // The public JWK: kty, kid and the public members, plus "alg" when `with_alg`.
  boost::json::object public_jwk(bool with_alg = false) const;

  // A compact JWT of `claims` with the header {"alg": <the key's>, "kid": <kid>}.
  std::string sign(const boost::json::object& claims) const;
  // A compact JWS with any `header`, signed with this key under `sign_alg` (default: the key's
  // own algorithm), whatever the header says.
  std::string sign_with_header(const boost::json::object& header, const boost::json::object& claims,
                               std::optional<JwsAlg> sign_alg = std::nullopt) const;
  const Jwk& private_key() const { return private_key_; }

 private:
  IdpKey(std::string kid, JwsAlg alg, Jwk private_key, boost::json::object public_members)
      : kid_(std::move(kid)),
        alg_(alg),
        private_key_(std::move(private_key)),
        public_members_(std::move(public_members)) {}

  std::string kid_;
  JwsAlg alg_;
  Jwk private_key_;
  boost::json::object public_members_;
};

// {"keys": [jwk...]} as JSON text.
std::string jwks_text(const std::vector<boost::json::object>& jwks);

// A compact JWS from a header and claims and a raw signature (octets).
std::string compact(const boost::json::object& header, const boost::json::object& claims,
                    std::string_view signature);

}  // namespace coffer::auth::testing
