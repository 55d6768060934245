#include "auth/jwk.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <utility>

#include "core/strict_json.h"
#include "core/crypto.h"
#include "core/encoding.h"

namespace coffer::auth {
namespace {

namespace json = boost::json;

// OpenSSL refuses larger moduli anyway; refusing them here keeps a hostile JWKS cheap.
constexpr std::size_t kMaxRsaModulusOctets = 16384 / 8;

Error invalid(std::string detail) {
  return Error{ErrorCode::kBadRequest, "invalid key", "JWK: " + std::move(detail)};
}

struct BnFree {
  void operator()(BIGNUM* p) const noexcept { BN_clear_free(p); }
};
using BnPtr = std::unique_ptr<BIGNUM, BnFree>;
struct ParamBldFree {
  void operator()(OSSL_PARAM_BLD* p) const noexcept { OSSL_PARAM_BLD_free(p); }
};
struct ParamFree {
  void operator()(OSSL_PARAM* p) const noexcept { OSSL_PARAM_free(p); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* p) const noexcept { EVP_PKEY_CTX_free(p); }
};
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>;

BnPtr to_bn(std::string_view octets) {
  return BnPtr(BN_bin2bn(reinterpret_cast<const unsigned char*>(octets.data()),
                         static_cast<int>(octets.size()), nullptr));
}

// A member that must be a string when present.
Result<std::optional<std::string_view>> optional_string(const json::object& jwk,
                                                        std::string_view name) {
  const json::value* v = jwk.if_contains(name);
  if (v == nullptr) return std::optional<std::string_view>();
  if (!v->is_string()) return invalid(std::string(name) + " is not a string");
  const json::string& s = v->get_string();
  return std::optional<std::string_view>(std::string_view(s.data(), s.size()));
}

// A base64url member; nullopt when absent.
Result<std::optional<std::string>> optional_octets(const json::object& jwk, std::string_view name) {
  COFFER_TRY(std::optional<std::string_view> text, optional_string(jwk, name));
  if (!text) return std::optional<std::string>();
  std::optional<std::string> octets = base64url_decode(*text);
  if (!octets) return invalid(std::string(name) + " is not strict base64url");
  return octets;
}

Result<std::string> required_octets(const json::object& jwk, std::string_view name) {
  COFFER_TRY(std::optional<std::string> octets, optional_octets(jwk, name));
  if (!octets) return invalid(std::string("missing ") + std::string(name));
  return std::move(*octets);
}

// RFC 7518 §2 Base64urlUInt: non-empty and no leading zero octet (so that a key has exactly
// one encoding, which RFC 7638 thumbprints rely on).
Result<void> check_uint(std::string_view octets, std::string_view name) {
  if (octets.empty()) return invalid(std::string(name) + " is empty");
  if (octets.size() > 1 && octets[0] == '\0') {
    return invalid(std::string(name) + " has a leading zero octet");
  }
  return Ok();
}

Result<PKey> pkey_from_params(const char* type, OSSL_PARAM_BLD* bld, int selection) {
  std::unique_ptr<OSSL_PARAM, ParamFree> params(OSSL_PARAM_BLD_to_param(bld));
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1) {
    return Error::Internal("JWK: OpenSSL could not set up a key import");
  }
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_fromdata(ctx.get(), &raw, selection, params.get()) != 1) {
    return invalid(std::string("OpenSSL refused the ") + type + " key parameters");
  }
  return PKey(raw);
}

// Full OpenSSL validation: for EC the point is on the curve and of the right order, and a
// private scalar is in range and matches the public point.
Result<void> check_with_openssl(const PKey& key, bool has_private) {
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
  if (!ctx) return Error::Internal("JWK: OpenSSL could not set up a key check");
  const int ok = has_private ? EVP_PKEY_check(ctx.get()) : EVP_PKEY_public_check(ctx.get());
  if (ok != 1) return invalid("OpenSSL key check failed (point not on the curve?)");
  return Ok();
}

struct CurveInfo {
  Curve curve;
  std::string_view jose_name;
  const char* openssl_group;
  std::size_t coordinate_octets;
};
constexpr std::array<CurveInfo, 3> kEcCurves = {{
    {Curve::kP256, "P-256", "prime256v1", 32},
    {Curve::kP384, "P-384", "secp384r1", 48},
    {Curve::kP521, "P-521", "secp521r1", 66},
}};

void append_member(std::string& out, std::string_view name, std::string_view value) {
  if (out.size() > 1) out += ',';
  out += '"';
  out += name;
  out += "\":\"";
  out += value;  // base64url and curve/type names need no escaping
  out += '"';
}

}  // namespace

PKey::PKey(const PKey& other) {
  if (other.pkey_ && EVP_PKEY_up_ref(other.pkey_.get()) == 1) pkey_.reset(other.pkey_.get());
}

PKey& PKey::operator=(const PKey& other) {
  if (this != &other) *this = PKey(other);
  return *this;
}

void PKey::Free::operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }

std::string_view key_type_name(KeyType kty) {
  switch (kty) {
    case KeyType::kRsa:
      return "RSA";
    case KeyType::kEc:
      return "EC";
    case KeyType::kOkp:
      return "OKP";
    case KeyType::kOct:
      return "oct";
  }
  return "";
}

std::string_view curve_name(Curve crv) {
  switch (crv) {
    case Curve::kNone:
      return "";
    case Curve::kP256:
      return "P-256";
    case Curve::kP384:
      return "P-384";
    case Curve::kP521:
      return "P-521";
    case Curve::kEd25519:
      return "Ed25519";
  }
  return "";
}

Result<Jwk> Jwk::parse(std::string_view text) {
  auto object = parse_strict_json_object(text, "JWK");
  if (!object) return invalid(object.error().message);
  return from_json(*object);
}

Result<Jwk> Jwk::from_json(const json::object& jwk) {
  Jwk key;
  COFFER_TRY(std::optional<std::string_view> kty, optional_string(jwk, "kty"));
  if (!kty) return invalid("missing kty");
  COFFER_TRY(std::optional<std::string_view> kid, optional_string(jwk, "kid"));
  COFFER_TRY(std::optional<std::string_view> alg, optional_string(jwk, "alg"));
  COFFER_TRY(std::optional<std::string_view> use, optional_string(jwk, "use"));
  key.kid_ = kid.value_or("");
  key.alg_ = alg.value_or("");
  key.use_ = use.value_or("");
  if (const json::value* ops = jwk.if_contains("key_ops")) {
    if (!ops->is_array()) return invalid("key_ops is not an array");
    std::vector<std::string> list;
    for (const json::value& op : ops->get_array()) {
      if (!op.is_string()) return invalid("key_ops holds a non-string");
      std::string name(op.get_string().data(), op.get_string().size());
      if (std::find(list.begin(), list.end(), name) != list.end()) {
        return invalid("key_ops repeats " + name);
      }
      list.push_back(std::move(name));
    }
    key.key_ops_ = std::move(list);
  }

  std::string& tp = key.thumbprint_input_;
  tp = "{";
  if (*kty == "oct") {
    key.kty_ = KeyType::kOct;
    COFFER_TRY(key.secret_, required_octets(jwk, "k"));
    if (key.secret_.empty()) return invalid("empty k");
    key.has_secret_ = true;
    key.bits_ = static_cast<int>(key.secret_.size() * 8);
    append_member(tp, "k", base64url_encode(key.secret_));
    append_member(tp, "kty", "oct");
  } else if (*kty == "RSA") {
    key.kty_ = KeyType::kRsa;
    if (jwk.contains("oth")) return invalid("multi-prime RSA (oth) is not supported");
    COFFER_TRY(std::string n, required_octets(jwk, "n"));
    COFFER_TRY(std::string e, required_octets(jwk, "e"));
    COFFER_TRY_VOID(check_uint(n, "n"));
    COFFER_TRY_VOID(check_uint(e, "e"));
    if (n.size() > kMaxRsaModulusOctets) return invalid("RSA modulus larger than 16384 bits");
    if ((static_cast<unsigned char>(n.back()) & 1) == 0) return invalid("RSA modulus is even");
    if ((static_cast<unsigned char>(e.back()) & 1) == 0 ||
        (e.size() == 1 && static_cast<unsigned char>(e[0]) < 3)) {
      return invalid("RSA exponent must be odd and at least 3");
    }

    COFFER_TRY(std::optional<std::string> d, optional_octets(jwk, "d"));
    constexpr std::array<std::string_view, 5> kCrt = {"p", "q", "dp", "dq", "qi"};
    std::array<std::optional<std::string>, 5> crt;
    std::size_t crt_present = 0;
    for (std::size_t i = 0; i < kCrt.size(); ++i) {
      COFFER_TRY(crt[i], optional_octets(jwk, kCrt[i]));
      if (crt[i]) ++crt_present;
    }
    if (!d && crt_present != 0) return invalid("RSA CRT parameters without d");
    if (d && crt_present != 0 && crt_present != kCrt.size()) {
      return invalid("RSA private key with only some of p, q, dp, dq, qi");
    }

    std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> bld(OSSL_PARAM_BLD_new());
    std::vector<BnPtr> bns;
    auto push = [&](const char* name, std::string_view octets) {
      bns.push_back(to_bn(octets));
      return bns.back() && OSSL_PARAM_BLD_push_BN(bld.get(), name, bns.back().get()) == 1;
    };
    bool ok = bld && push(OSSL_PKEY_PARAM_RSA_N, n) && push(OSSL_PKEY_PARAM_RSA_E, e);
    if (d) {
      ok = ok && push(OSSL_PKEY_PARAM_RSA_D, *d);
      if (crt_present != 0) {
        ok = ok && push(OSSL_PKEY_PARAM_RSA_FACTOR1, *crt[0]) &&
             push(OSSL_PKEY_PARAM_RSA_FACTOR2, *crt[1]) &&
             push(OSSL_PKEY_PARAM_RSA_EXPONENT1, *crt[2]) &&
             push(OSSL_PKEY_PARAM_RSA_EXPONENT2, *crt[3]) &&
             push(OSSL_PKEY_PARAM_RSA_COEFFICIENT1, *crt[4]);
      }
    }
    if (!ok) return Error::Internal("JWK: OpenSSL could not hold the RSA parameters");
    // RSA private parameters are imported as given, not validated (a full check costs
    // primality tests); Coffer only verifies with RSA keys.
    COFFER_TRY(key.pkey_,
               pkey_from_params("RSA", bld.get(), d ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY));
    key.has_secret_ = d.has_value();
    key.bits_ = EVP_PKEY_get_bits(key.pkey_.get());
    append_member(tp, "e", base64url_encode(e));
    append_member(tp, "kty", "RSA");
    append_member(tp, "n", base64url_encode(n));
  } else if (*kty == "EC") {
    key.kty_ = KeyType::kEc;
    COFFER_TRY(std::optional<std::string_view> crv, optional_string(jwk, "crv"));
    if (!crv) return invalid("missing crv");
    const CurveInfo* info = nullptr;
    for (const CurveInfo& c : kEcCurves) {
      if (c.jose_name == *crv) info = &c;
    }
    if (info == nullptr) return invalid("unsupported EC curve " + std::string(*crv));
    key.crv_ = info->curve;
    COFFER_TRY(std::string x, required_octets(jwk, "x"));
    COFFER_TRY(std::string y, required_octets(jwk, "y"));
    COFFER_TRY(std::optional<std::string> d, optional_octets(jwk, "d"));
    if (x.size() != info->coordinate_octets || y.size() != info->coordinate_octets ||
        (d && d->size() != info->coordinate_octets)) {
      return invalid("EC member of the wrong length for " + std::string(*crv));
    }
    std::string point = "\x04" + x + y;
    std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> bld(OSSL_PARAM_BLD_new());
    BnPtr priv = d ? to_bn(*d) : nullptr;
    bool ok = bld &&
              OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME,
                                              info->openssl_group, 0) == 1 &&
              OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                               point.size()) == 1;
    if (d)
      ok = ok && priv &&
           OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, priv.get()) == 1;
    if (!ok) return Error::Internal("JWK: OpenSSL could not hold the EC parameters");
    COFFER_TRY(key.pkey_,
               pkey_from_params("EC", bld.get(), d ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY));
    COFFER_TRY_VOID(check_with_openssl(key.pkey_, d.has_value()));
    key.has_secret_ = d.has_value();
    key.bits_ = EVP_PKEY_get_bits(key.pkey_.get());
    append_member(tp, "crv", info->jose_name);
    append_member(tp, "kty", "EC");
    append_member(tp, "x", base64url_encode(x));
    append_member(tp, "y", base64url_encode(y));
  } else if (*kty == "OKP") {
    key.kty_ = KeyType::kOkp;
    COFFER_TRY(std::optional<std::string_view> crv, optional_string(jwk, "crv"));
    if (!crv) return invalid("missing crv");
    if (*crv != "Ed25519") return invalid("unsupported OKP curve " + std::string(*crv));
    key.crv_ = Curve::kEd25519;
    COFFER_TRY(std::string x, required_octets(jwk, "x"));
    COFFER_TRY(std::optional<std::string> d, optional_octets(jwk, "d"));
    if (x.size() != 32 || (d && d->size() != 32)) return invalid("Ed25519 x or d not 32 octets");
    const auto* x_bytes = reinterpret_cast<const unsigned char*>(x.data());
    if (d) {
      key.pkey_ = PKey(EVP_PKEY_new_raw_private_key(
          EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(d->data()), 32));
      std::array<unsigned char, 32> derived{};
      std::size_t len = derived.size();
      if (!key.pkey_ || EVP_PKEY_get_raw_public_key(key.pkey_.get(), derived.data(), &len) != 1 ||
          len != 32 || !std::equal(derived.begin(), derived.end(), x_bytes)) {
        return invalid("Ed25519 d does not match x");
      }
    } else {
      key.pkey_ = PKey(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, x_bytes, 32));
      if (!key.pkey_) return invalid("OpenSSL refused the Ed25519 public key");
    }
    key.has_secret_ = d.has_value();
    key.bits_ = EVP_PKEY_get_bits(key.pkey_.get());
    append_member(tp, "crv", "Ed25519");
    append_member(tp, "kty", "OKP");
    append_member(tp, "x", base64url_encode(x));
  } else {
    return invalid("unsupported kty " + std::string(*kty));
  }
  tp += '}';
  return key;
}

std::string Jwk::thumbprint() const {
  const Sha256Digest digest = sha256(thumbprint_input_);
  return base64url_encode(std::span<const std::uint8_t>(digest.data(), digest.size()));
}

Result<JwkSet> JwkSet::parse(std::string_view text) {
  auto value = parse_strict_json(text, "JWKS");
  if (!value) return invalid(value.error().message);
  return from_json(*value);
}

Result<JwkSet> JwkSet::from_json(const json::value& jwks) {
  const json::object* object = jwks.if_object();
  if (object == nullptr) return invalid("JWKS is not a JSON object");
  const json::value* keys = object->if_contains("keys");
  if (keys == nullptr || !keys->is_array()) return invalid("JWKS has no \"keys\" array");
  JwkSet set;
  for (const json::value& entry : keys->get_array()) {
    std::string kid;
    if (const json::object* o = entry.if_object()) {
      if (const json::value* k = o->if_contains("kid"); k && k->is_string()) {
        kid.assign(k->get_string().data(), k->get_string().size());
      }
      Result<Jwk> key = Jwk::from_json(*o);
      if (key) {
        set.keys_.push_back(std::move(*key));
        continue;
      }
      set.rejected_.push_back({std::move(kid), std::move(key.error().detail)});
    } else {
      set.rejected_.push_back({std::move(kid), "JWK: not a JSON object"});
    }
  }
  return set;
}

}  // namespace coffer::auth
