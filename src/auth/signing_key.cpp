#include "auth/signing_key.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>

#include <boost/json.hpp>
#include <filesystem>
#include <memory>
#include <vector>

#include "core/encoding.h"
#include "core/secret_file.h"

namespace coffer::auth {
namespace {

namespace json = boost::json;

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

std::string b64(const std::vector<unsigned char>& bytes) {
  return base64url_encode(std::span<const std::uint8_t>(bytes.data(), bytes.size()));
}

Result<std::vector<unsigned char>> bn_param(EVP_PKEY* key, const char* name, std::size_t width) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &bn) != 1) return Error::Internal(std::string("no ") + name);
  std::vector<unsigned char> out(width);
  int ok = BN_bn2binpad(bn, out.data(), static_cast<int>(width));
  BN_free(bn);
  if (ok < 0) return Error::Internal(std::string("cannot encode ") + name);
  return out;
}

}  // namespace

Result<std::string> generate_private_jwk(JwsAlg alg) {
  json::object jwk;
  if (alg == JwsAlg::kEdDsa) {
    PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
    if (!key) return Error::Internal("Ed25519 key generation failed");
    std::vector<unsigned char> priv(32), pub(32);
    std::size_t priv_len = priv.size(), pub_len = pub.size();
    if (EVP_PKEY_get_raw_private_key(key.get(), priv.data(), &priv_len) != 1 ||
        EVP_PKEY_get_raw_public_key(key.get(), pub.data(), &pub_len) != 1) {
      return Error::Internal("cannot export the Ed25519 key");
    }
    jwk = {{"kty", "OKP"}, {"crv", "Ed25519"}, {"d", b64(priv)}, {"x", b64(pub)}};
  } else if (alg == JwsAlg::kEs256) {
    PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    if (!key) return Error::Internal("P-256 key generation failed");
    COFFER_TRY(auto d, bn_param(key.get(), OSSL_PKEY_PARAM_PRIV_KEY, 32));
    COFFER_TRY(auto x, bn_param(key.get(), OSSL_PKEY_PARAM_EC_PUB_X, 32));
    COFFER_TRY(auto y, bn_param(key.get(), OSSL_PKEY_PARAM_EC_PUB_Y, 32));
    jwk = {{"kty", "EC"}, {"crv", "P-256"}, {"d", b64(d)}, {"x", b64(x)}, {"y", b64(y)}};
  } else {
    return Error::Internal("no key generation for this algorithm");
  }
  return json::serialize(jwk);
}

Result<SigningKey> load_signing_key(const AuthConfig& config, const std::string& data_dir) {
  const auto dir = std::filesystem::path(data_dir);
  JwsAlg alg;
  std::string jwk_text;
  if (config.jwt_algorithm == "HS256") {
    alg = JwsAlg::kHs256;
    std::string secret = config.jwt_secret;
    if (secret.empty()) {
      COFFER_TRY(secret, load_or_create_secret((dir / "jwt-hs256.key").string(), 32));
    }
    jwk_text = json::serialize(json::object{{"kty", "oct"}, {"k", base64url_encode(secret)}});
  } else {
    alg = config.jwt_algorithm == "EdDSA" ? JwsAlg::kEdDsa : JwsAlg::kEs256;
    std::string file = alg == JwsAlg::kEdDsa ? "jwt-eddsa.jwk" : "jwt-es256.jwk";
    // Generated up front (it is cheap) so that a failure never leaves an empty key file.
    COFFER_TRY(std::string fresh, generate_private_jwk(alg));
    COFFER_TRY(jwk_text, load_or_create_file((dir / file).string(), [&] { return fresh; }));
  }
  COFFER_TRY(Jwk key, Jwk::parse(jwk_text));
  COFFER_TRY(BoundKey bound, BoundKey::make(key, alg, std::string(kOwnKeyId)));
  COFFER_TRY(KeySet keys, KeySet::make({std::move(bound)}));
  // The signer names the key in its header, so the kid must be on the JWK itself.
  json::object with_kid = json::parse(jwk_text).as_object();
  with_kid["kid"] = kOwnKeyId;
  COFFER_TRY(Jwk signing_jwk, Jwk::parse(json::serialize(with_kid)));
  COFFER_TRY(JwsSigner signer, JwsSigner::make(alg, std::move(signing_jwk)));
  return SigningKey{std::move(signer), std::move(keys)};
}

}  // namespace coffer::auth
