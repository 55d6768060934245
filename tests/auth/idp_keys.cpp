#include "auth/idp_keys.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>

#include <boost/json/serialize.hpp>
#include <memory>
#include <stdexcept>

#include "core/encoding.h"

namespace coffer::auth::testing {
namespace {

namespace json = boost::json;

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

// A big-number parameter as unsigned big-endian octets: minimal, or left-padded to `width`.
std::string bn_b64(EVP_PKEY* key, const char* name, int width = 0) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &bn) != 1) {
    throw std::runtime_error(std::string("no key parameter ") + name);
  }
  const int size = width > 0 ? width : BN_num_bytes(bn);
  std::string out(static_cast<std::size_t>(size), '\0');
  BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), size);
  BN_free(bn);
  return base64url_encode(out);
}

Jwk parse_or_throw(const json::object& jwk) {
  Result<Jwk> parsed = Jwk::from_json(jwk);
  if (!parsed) throw std::runtime_error("test key refused: " + parsed.error().detail);
  return std::move(*parsed);
}

}  // namespace

IdpKey IdpKey::rsa(std::string kid) {
  PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(2048)));
  if (!key) throw std::runtime_error("RSA key generation failed");
  json::object pub{{"kty", "RSA"},
                   {"n", bn_b64(key.get(), OSSL_PKEY_PARAM_RSA_N)},
                   {"e", bn_b64(key.get(), OSSL_PKEY_PARAM_RSA_E)}};
  json::object priv = pub;
  priv["d"] = bn_b64(key.get(), OSSL_PKEY_PARAM_RSA_D);
  priv["p"] = bn_b64(key.get(), OSSL_PKEY_PARAM_RSA_FACTOR1);
  priv["q"] = bn_b64(key.get(), OSSL_PKEY_PARAM_RSA_FACTOR2);
  priv["dp"] = bn_b64(key.get(), OSSL_PKEY_PARAM_RSA_EXPONENT1);
  priv["dq"] = bn_b64(key.get(), OSSL_PKEY_PARAM_RSA_EXPONENT2);
  priv["qi"] = bn_b64(key.get(), OSSL_PKEY_PARAM_RSA_COEFFICIENT1);
  return IdpKey(std::move(kid), JwsAlg::kRs256, parse_or_throw(priv), std::move(pub));
}

IdpKey IdpKey::ec(std::string kid) {
  PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!key) throw std::runtime_error("P-256 key generation failed");
  json::object pub{{"kty", "EC"},
                   {"crv", "P-256"},
                   {"x", bn_b64(key.get(), OSSL_PKEY_PARAM_EC_PUB_X, 32)},
                   {"y", bn_b64(key.get(), OSSL_PKEY_PARAM_EC_PUB_Y, 32)}};
  json::object priv = pub;
  priv["d"] = bn_b64(key.get(), OSSL_PKEY_PARAM_PRIV_KEY, 32);
  return IdpKey(std::move(kid), JwsAlg::kEs256, parse_or_throw(priv), std::move(pub));
}

json::object IdpKey::public_jwk(bool with_alg) const {
  json::object jwk = public_members_;
  jwk["kid"] = kid_;
  if (with_alg) jwk["alg"] = jws_alg_name(alg_);
  return jwk;
}

std::string IdpKey::sign(const json::object& claims) const {
  return sign_with_header(json::object{{"alg", jws_alg_name(alg_)}, {"kid", kid_}}, claims);
}

std::string IdpKey::sign_with_header(const json::object& header, const json::object& claims,
                                     std::optional<JwsAlg> sign_alg) const {
  const std::string input =
      base64url_encode(json::serialize(header)) + "." + base64url_encode(json::serialize(claims));
  Result<std::string> signature = compute_signature(sign_alg.value_or(alg_), private_key_, input);
  if (!signature) throw std::runtime_error("signing failed: " + signature.error().detail);
  return input + "." + base64url_encode(*signature);
}

std::string jwks_text(const std::vector<json::object>& jwks) {
  json::array keys;
  for (const json::object& k : jwks) keys.push_back(k);
  return json::serialize(json::object{{"keys", std::move(keys)}});
}

std::string compact(const json::object& header, const json::object& claims,
                    std::string_view signature) {
  return base64url_encode(json::serialize(header)) + "." +
         base64url_encode(json::serialize(claims)) + "." + base64url_encode(signature);
}

}  // namespace coffer::auth::testing
