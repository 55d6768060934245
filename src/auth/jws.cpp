#include "auth/jws.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rsa.h>

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <cctype>
#include <memory>
#include <utility>

#include "core/crypto.h"
#include "core/encoding.h"
#include "core/strict_json.h"

namespace coffer::auth {
namespace {

namespace json = boost::json;

enum class Family { kHmac, kRsaPkcs1, kRsaPss, kEcdsa, kEdDsa };

struct AlgInfo {
  JwsAlg alg;
  std::string_view name;
  Family family;
  const char* digest;             // OpenSSL digest name; nullptr for EdDSA
  std::size_t hash_octets;        // minimum HMAC key length; 0 when not HMAC
  Curve curve;                    // required curve for ECDSA/EdDSA
  std::size_t coordinate_octets;  // ECDSA: size of r and of s
};

constexpr std::array<AlgInfo, 13> kAlgs = {{
    {JwsAlg::kHs256, "HS256", Family::kHmac, "SHA256", 32, Curve::kNone, 0},
    {JwsAlg::kHs384, "HS384", Family::kHmac, "SHA384", 48, Curve::kNone, 0},
    {JwsAlg::kHs512, "HS512", Family::kHmac, "SHA512", 64, Curve::kNone, 0},
    {JwsAlg::kRs256, "RS256", Family::kRsaPkcs1, "SHA256", 0, Curve::kNone, 0},
    {JwsAlg::kRs384, "RS384", Family::kRsaPkcs1, "SHA384", 0, Curve::kNone, 0},
    {JwsAlg::kRs512, "RS512", Family::kRsaPkcs1, "SHA512", 0, Curve::kNone, 0},
    {JwsAlg::kPs256, "PS256", Family::kRsaPss, "SHA256", 0, Curve::kNone, 0},
    {JwsAlg::kPs384, "PS384", Family::kRsaPss, "SHA384", 0, Curve::kNone, 0},
    {JwsAlg::kPs512, "PS512", Family::kRsaPss, "SHA512", 0, Curve::kNone, 0},
    {JwsAlg::kEs256, "ES256", Family::kEcdsa, "SHA256", 0, Curve::kP256, 32},
    {JwsAlg::kEs384, "ES384", Family::kEcdsa, "SHA384", 0, Curve::kP384, 48},
    {JwsAlg::kEs512, "ES512", Family::kEcdsa, "SHA512", 0, Curve::kP521, 66},
    {JwsAlg::kEdDsa, "EdDSA", Family::kEdDsa, nullptr, 0, Curve::kEd25519, 0},
}};

const AlgInfo& info(JwsAlg alg) { return kAlgs[static_cast<std::size_t>(alg)]; }

constexpr int kMinRsaBits = 2048;

Error unauthenticated(std::string detail) { return Error::Unauthenticated(std::move(detail)); }

Error unfit_key(std::string detail) {
  return Error{ErrorCode::kBadRequest, "invalid key", std::move(detail)};
}

struct MdCtxFree {
  void operator()(EVP_MD_CTX* p) const noexcept { EVP_MD_CTX_free(p); }
};
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;
struct EcdsaSigFree {
  void operator()(ECDSA_SIG* p) const noexcept { ECDSA_SIG_free(p); }
};
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, EcdsaSigFree>;
struct BnFree {
  void operator()(BIGNUM* p) const noexcept { BN_free(p); }
};
using BnPtr = std::unique_ptr<BIGNUM, BnFree>;

const unsigned char* bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

// The key type (and curve) `alg` needs; nothing about strength.
Result<void> check_key_type(const Jwk& key, const AlgInfo& a) {
  bool fits = false;
  switch (a.family) {
    case Family::kHmac:
      fits = key.kty() == KeyType::kOct;
      break;
    case Family::kRsaPkcs1:
    case Family::kRsaPss:
      fits = key.kty() == KeyType::kRsa;
      break;
    case Family::kEcdsa:
      fits = key.kty() == KeyType::kEc && key.crv() == a.curve;
      break;
    case Family::kEdDsa:
      fits = key.kty() == KeyType::kOkp && key.crv() == a.curve;
      break;
  }
  if (fits) return Ok();
  std::string detail = "a ";
  detail += key_type_name(key.kty());
  if (key.crv() != Curve::kNone) {
    detail += ' ';
    detail += curve_name(key.crv());
  }
  detail += " key cannot serve ";
  detail += a.name;
  return unfit_key(std::move(detail));
}

// ROCA (CVE-2017-15361): moduli from the flawed Infineon generator are, modulo each small prime
// p below, a power of 65537. Random moduli almost never are for all of them at once.
bool has_roca_fingerprint(const PKey& pkey) {
  static constexpr std::array<unsigned, 38> kPrimes = {
      3,  5,  7,  11, 13, 17,  19,  23,  29,  31,  37,  41,  43,  47,  53,  59,  61,  67,  71,
      73, 79, 83, 89, 97, 101, 103, 107, 109, 113, 127, 131, 137, 139, 149, 151, 157, 163, 167};
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(pkey.get(), OSSL_PKEY_PARAM_RSA_N, &raw) != 1) return false;
  BnPtr n(raw);
  for (unsigned p : kPrimes) {
    const BN_ULONG r = BN_mod_word(n.get(), p);
    bool in_subgroup = false;
    unsigned x = 1;
    do {
      if (x == r) in_subgroup = true;
      x = static_cast<unsigned>((static_cast<unsigned long>(x) * (65537 % p)) % p);
    } while (x != 1 && !in_subgroup);
    if (!in_subgroup) return false;
  }
  return true;
}

Result<std::string> hmac(const AlgInfo& a, std::string_view secret, std::string_view input) {
  const HashAlg alg = a.alg == JwsAlg::kHs256   ? HashAlg::kSha256
                      : a.alg == JwsAlg::kHs384 ? HashAlg::kSha384
                                                : HashAlg::kSha512;
  return coffer::hmac(alg, secret, input);
}

// Sets RSA padding on a DigestSign/DigestVerify context; PSS salt = hash length (RFC 7518 §3.5).
bool set_rsa_padding(EVP_PKEY_CTX* pctx, Family family) {
  if (family == Family::kRsaPkcs1) return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) > 0;
  if (family == Family::kRsaPss) {
    return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0 &&
           EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) > 0;
  }
  return true;
}

// One-shot EVP verify; true only for a valid signature.
bool evp_verify(const AlgInfo& a, const PKey& pkey, std::string_view input, std::string_view sig) {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  const bool ok =
      ctx &&
      EVP_DigestVerifyInit_ex(ctx.get(), &pctx, a.digest, nullptr, nullptr, pkey.get(), nullptr) ==
          1 &&
      set_rsa_padding(pctx, a.family) &&
      EVP_DigestVerify(ctx.get(), bytes(sig), sig.size(), bytes(input), input.size()) == 1;
  if (!ok) ERR_clear_error();
  return ok;
}

// R||S (each exactly `half` octets) to the DER that OpenSSL verifies; nullopt for r = 0 or
// s = 0, which no valid signature has (CVE-2022-21449).
std::optional<std::string> raw_ecdsa_to_der(std::string_view sig, std::size_t half) {
  auto all_zero = [](std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return c == '\0'; });
  };
  const std::string_view r = sig.substr(0, half);
  const std::string_view s = sig.substr(half);
  if (all_zero(r) || all_zero(s)) return std::nullopt;
  EcdsaSigPtr ecdsa(ECDSA_SIG_new());
  BnPtr rb(BN_bin2bn(bytes(r), static_cast<int>(half), nullptr));
  BnPtr sb(BN_bin2bn(bytes(s), static_cast<int>(half), nullptr));
  if (!ecdsa || !rb || !sb || ECDSA_SIG_set0(ecdsa.get(), rb.get(), sb.get()) != 1) {
    return std::nullopt;
  }
  rb.release();  // owned by ecdsa now
  sb.release();
  unsigned char* der = nullptr;
  const int len = i2d_ECDSA_SIG(ecdsa.get(), &der);
  if (len <= 0) return std::nullopt;
  std::string out(reinterpret_cast<const char*>(der), static_cast<std::size_t>(len));
  OPENSSL_free(der);
  return out;
}

Result<std::string> der_ecdsa_to_raw(std::string_view der, std::size_t half) {
  const unsigned char* p = bytes(der);
  EcdsaSigPtr ecdsa(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
  if (!ecdsa) return Error::Internal("JWS: OpenSSL produced an unreadable ECDSA signature");
  std::string out(2 * half, '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  if (BN_bn2binpad(ECDSA_SIG_get0_r(ecdsa.get()), o, static_cast<int>(half)) < 0 ||
      BN_bn2binpad(ECDSA_SIG_get0_s(ecdsa.get()), o + half, static_cast<int>(half)) < 0) {
    return Error::Internal("JWS: ECDSA signature does not fit its curve");
  }
  return out;
}

Result<std::string> decode_segment(std::string_view segment, std::string_view what) {
  std::optional<std::string> octets = base64url_decode(segment);
  if (!octets) return unauthenticated(std::string(what) + " is not strict base64url");
  return std::move(*octets);
}

bool iequals_none(std::string_view s) {
  return s.size() == 4 && std::tolower(static_cast<unsigned char>(s[0])) == 'n' &&
         std::tolower(static_cast<unsigned char>(s[1])) == 'o' &&
         std::tolower(static_cast<unsigned char>(s[2])) == 'n' &&
         std::tolower(static_cast<unsigned char>(s[3])) == 'e';
}

}  // namespace

std::optional<JwsAlg> jws_alg_from_name(std::string_view name) {
  for (const AlgInfo& a : kAlgs) {
    if (a.name == name) return a.alg;
  }
  return std::nullopt;
}

std::string_view jws_alg_name(JwsAlg alg) { return info(alg).name; }

Result<void> check_key_for_alg(const Jwk& key, JwsAlg alg) {
  const AlgInfo& a = info(alg);
  COFFER_TRY_VOID(check_key_type(key, a));
  if (a.family == Family::kHmac && key.secret().size() < a.hash_octets) {
    return unfit_key(std::string(a.name) + " needs a secret of at least " +
                     std::to_string(a.hash_octets) + " octets, this one has " +
                     std::to_string(key.secret().size()));
  }
  if (a.family == Family::kRsaPkcs1 || a.family == Family::kRsaPss) {
    if (key.bits() < kMinRsaBits) {
      return unfit_key("RSA modulus of " + std::to_string(key.bits()) + " bits, need 2048");
    }
    if (has_roca_fingerprint(key.pkey())) {
      return unfit_key("RSA modulus has the ROCA fingerprint (CVE-2017-15361)");
    }
  }
  return Ok();
}

Result<JwsParts> parse_compact(std::string_view token) {
  const std::size_t dot1 = token.find('.');
  const std::size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return unauthenticated("not a compact JWS: need exactly three segments");
  }
  JwsParts parts;
  parts.signing_input_size = dot2;
  COFFER_TRY(std::string header_json, decode_segment(token.substr(0, dot1), "header"));
  COFFER_TRY(parts.payload, decode_segment(token.substr(dot1 + 1, dot2 - dot1 - 1), "payload"));
  COFFER_TRY(parts.signature, decode_segment(token.substr(dot2 + 1), "signature"));
  auto header = parse_strict_json_object(header_json, "header");
  if (!header) return unauthenticated(header.error().message);
  parts.header = std::move(*header);

  const json::value* alg = parts.header.if_contains("alg");
  if (alg == nullptr) return unauthenticated("header has no alg");
  if (!alg->is_string()) return unauthenticated("header alg is not a string");
  parts.alg.assign(alg->get_string().data(), alg->get_string().size());
  if (iequals_none(parts.alg)) return unauthenticated("unsecured JWS (alg none) refused");
  if (parts.header.contains("crit")) {
    return unauthenticated("header has crit; no extension is understood");
  }
  for (std::string_view name : {"jku", "x5u", "jwk", "x5c"}) {
    if (parts.header.contains(name)) {
      return unauthenticated("header parameter " + std::string(name) +
                             " refused: keys are never taken from a token");
    }
  }
  if (const json::value* kid = parts.header.if_contains("kid")) {
    if (!kid->is_string()) return unauthenticated("header kid is not a string");
    parts.kid.emplace(kid->get_string().data(), kid->get_string().size());
  }
  return parts;
}

Result<void> verify_signature(JwsAlg alg, const Jwk& key, std::string_view signing_input,
                              std::string_view signature) {
  const AlgInfo& a = info(alg);
  if (auto fits = check_key_type(key, a); !fits) {
    return unauthenticated("key does not fit alg: " + fits.error().detail);
  }
  bool valid = false;
  switch (a.family) {
    case Family::kHmac: {
      COFFER_TRY(std::string tag, hmac(a, key.secret(), signing_input));
      valid = constant_time_equal(tag, signature);  // false at once on a length mismatch
      break;
    }
    case Family::kRsaPkcs1:
    case Family::kRsaPss: {
      const int modulus_octets = EVP_PKEY_get_size(key.pkey().get());
      if (modulus_octets <= 0 || signature.size() != static_cast<std::size_t>(modulus_octets)) {
        return unauthenticated("RSA signature is not exactly the modulus length");
      }
      valid = evp_verify(a, key.pkey(), signing_input, signature);
      break;
    }
    case Family::kEcdsa: {
      if (signature.size() != 2 * a.coordinate_octets) {
        return unauthenticated("ECDSA signature is not R||S of " +
                               std::to_string(2 * a.coordinate_octets) + " octets");
      }
      std::optional<std::string> der = raw_ecdsa_to_der(signature, a.coordinate_octets);
      if (!der) return unauthenticated("ECDSA signature with r = 0 or s = 0");
      valid = evp_verify(a, key.pkey(), signing_input, *der);
      break;
    }
    case Family::kEdDsa: {
      if (signature.size() != 64) return unauthenticated("Ed25519 signature is not 64 octets");
      valid = evp_verify(a, key.pkey(), signing_input, signature);
      break;
    }
  }
  if (!valid) return unauthenticated("signature does not verify");
  return Ok();
}

Result<JwsParts> verify_compact(std::string_view token, JwsAlg alg, const Jwk& key) {
  COFFER_TRY(JwsParts parts, parse_compact(token));
  if (parts.alg != jws_alg_name(alg)) {
    return unauthenticated("alg " + parts.alg + " is not the pinned " +
                           std::string(jws_alg_name(alg)));
  }
  if (auto fit = check_key_for_alg(key, alg); !fit) {
    return unauthenticated("key unfit: " + fit.error().detail);
  }
  COFFER_TRY_VOID(
      verify_signature(alg, key, token.substr(0, parts.signing_input_size), parts.signature));
  return parts;
}

Result<std::string> compute_signature(JwsAlg alg, const Jwk& key, std::string_view signing_input) {
  const AlgInfo& a = info(alg);
  COFFER_TRY_VOID(check_key_for_alg(key, alg));
  if (!key.has_secret()) return unfit_key("signing needs a private key");
  if (a.family == Family::kHmac) return hmac(a, key.secret(), signing_input);

  MdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  std::size_t len = 0;
  if (!ctx ||
      EVP_DigestSignInit_ex(ctx.get(), &pctx, a.digest, nullptr, nullptr, key.pkey().get(),
                            nullptr) != 1 ||
      !set_rsa_padding(pctx, a.family) ||
      EVP_DigestSign(ctx.get(), nullptr, &len, bytes(signing_input), signing_input.size()) != 1) {
    ERR_clear_error();
    return Error::Internal("JWS: OpenSSL could not start signing");
  }
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                     bytes(signing_input), signing_input.size()) != 1) {
    ERR_clear_error();
    return Error::Internal("JWS: OpenSSL signing failed");
  }
  sig.resize(len);
  if (a.family == Family::kEcdsa) return der_ecdsa_to_raw(sig, a.coordinate_octets);
  return sig;
}

Result<JwsSigner> JwsSigner::make(JwsAlg alg, Jwk key) {
  if (alg != JwsAlg::kHs256 && alg != JwsAlg::kEs256 && alg != JwsAlg::kEdDsa) {
    return unfit_key("Coffer signs only with HS256, ES256 or EdDSA");
  }
  COFFER_TRY_VOID(check_key_for_alg(key, alg));
  if (!key.has_secret()) return unfit_key("signing needs a private key");
  json::object header;
  header["alg"] = jws_alg_name(alg);
  header["typ"] = "JWT";
  if (!key.kid().empty()) header["kid"] = key.kid();
  std::string encoded = base64url_encode(json::serialize(header));
  return JwsSigner(alg, std::move(key), std::move(encoded));
}

Result<std::string> JwsSigner::sign(std::string_view payload) const {
  std::string token = encoded_header_;
  token += '.';
  token += base64url_encode(payload);
  COFFER_TRY(std::string sig, compute_signature(alg_, key_, token));
  token += '.';
  token += base64url_encode(sig);
  return token;
}

Result<std::string> JwsSigner::sign_claims(const json::object& claims) const {
  return sign(json::serialize(claims));
}

}  // namespace coffer::auth
