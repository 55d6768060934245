// Coffer's own token key: HS256 with COFFER_JWT_SECRET (or a secret generated once into the data
// dir), or EdDSA / ES256 with a private JWK generated once into the data dir.
#pragma once

#include <string>

#include "auth/jws.h"
#include "auth/key_set.h"
#include "core/config.h"
#include "core/error.h"

namespace coffer::auth {

struct SigningKey {
  JwsSigner signer;
  KeySet verify_keys;  // the same key, bound to its one algorithm, for verification
};

// The key id Coffer puts in the header of its own tokens.
inline constexpr std::string_view kOwnKeyId = "coffer";

Result<SigningKey> load_signing_key(const AuthConfig& config, const std::string& data_dir);

// A new private JWK (JSON text) for EdDSA (Ed25519) or ES256 (P-256).
Result<std::string> generate_private_jwk(JwsAlg alg);

}  // namespace coffer::auth
