#include "auth/jwk.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <boost/json/parse.hpp>
#include <set>

#include "auth/jws.h"
#include "auth/key_set.h"
#include "auth/test_vectors.h"

namespace coffer::auth {
namespace {

namespace json = boost::json;
using testing::b64;
using testing::jwk_or_throw;
using testing::load_json;
using testing::str;

constexpr std::string_view kExamples = "rfc7517-7518-7638-jwk-examples.json";

TEST(Rfc7517, AppendixA1PublicKeysParseAndOnlyTheSigningKeyBinds) {
  const json::value v = load_json(kExamples).at("rfc7517_appendix_A1_public_keys").at("jwks");
  Result<JwkSet> set = JwkSet::from_json(v);
  ASSERT_TRUE(set) << set.error().detail;
  ASSERT_EQ(set->keys().size(), 2u);
  EXPECT_TRUE(set->rejected().empty());
  const Jwk& ec = set->keys()[0];
  EXPECT_EQ(ec.kty(), KeyType::kEc);
  EXPECT_EQ(ec.crv(), Curve::kP256);
  EXPECT_EQ(ec.kid(), "1");
  EXPECT_EQ(ec.use(), "enc");
  EXPECT_FALSE(ec.has_secret());
  const Jwk& rsa = set->keys()[1];
  EXPECT_EQ(rsa.kty(), KeyType::kRsa);
  EXPECT_EQ(rsa.bits(), 2048);
  EXPECT_EQ(rsa.alg(), "RS256");
  EXPECT_EQ(rsa.kid(), "2011-04-29");

  std::vector<std::string> skipped;
  const JwsAlg allowed[] = {JwsAlg::kRs256, JwsAlg::kEs256};
  Result<KeySet> keys = KeySet::from_jwks(*set, allowed, &skipped);
  ASSERT_TRUE(keys) << keys.error().detail;
  ASSERT_EQ(keys->keys().size(), 1u);  // the EC key is for encryption ("use":"enc")
  EXPECT_EQ(keys->keys()[0].kid(), "2011-04-29");
  EXPECT_EQ(keys->keys()[0].alg(), JwsAlg::kRs256);
  ASSERT_EQ(skipped.size(), 1u);
  EXPECT_NE(skipped[0].find("use enc"), std::string::npos) << skipped[0];
}

TEST(Rfc7517, AppendixA2PrivateKeysSignWhatTheA1PublicKeysVerify) {
  const json::value doc = load_json(kExamples);
  Result<JwkSet> priv = JwkSet::from_json(doc.at("rfc7517_appendix_A2_private_keys").at("jwks"));
  Result<JwkSet> pub = JwkSet::from_json(doc.at("rfc7517_appendix_A1_public_keys").at("jwks"));
  ASSERT_TRUE(priv && pub);
  ASSERT_EQ(priv->keys().size(), 2u);
  for (const Jwk& k : priv->keys()) EXPECT_TRUE(k.has_secret()) << k.kid();

  const std::string input = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0";
  Result<std::string> sig = compute_signature(JwsAlg::kRs256, priv->keys()[1], input);
  ASSERT_TRUE(sig) << sig.error().detail;
  EXPECT_TRUE(verify_signature(JwsAlg::kRs256, pub->keys()[1], input, *sig));
  // The EC private scalar matches its public point (EVP_PKEY_check ran at parse time), and it
  // signs what the public key verifies.
  Result<std::string> ec_sig = compute_signature(JwsAlg::kEs256, priv->keys()[0], input);
  ASSERT_TRUE(ec_sig) << ec_sig.error().detail;
  EXPECT_EQ(ec_sig->size(), 64u);
  EXPECT_TRUE(verify_signature(JwsAlg::kEs256, pub->keys()[0], input, *ec_sig));
}

TEST(Rfc7517, AppendixA3SymmetricKeys) {
  const json::value v = load_json(kExamples).at("rfc7517_appendix_A3_symmetric_keys").at("jwks");
  Result<JwkSet> set = JwkSet::from_json(v);
  ASSERT_TRUE(set);
  ASSERT_EQ(set->keys().size(), 2u);
  EXPECT_EQ(set->keys()[0].alg(), "A128KW");
  EXPECT_EQ(set->keys()[0].secret().size(), 16u);
  EXPECT_EQ(set->keys()[1].kid(), "HMAC key used in JWS spec Appendix A.1 example");
  EXPECT_EQ(set->keys()[1].secret().size(), 64u);

  std::vector<std::string> skipped;
  const JwsAlg allowed[] = {JwsAlg::kHs256};
  Result<KeySet> keys = KeySet::from_jwks(*set, allowed, &skipped);
  ASSERT_TRUE(keys);
  ASSERT_EQ(keys->keys().size(), 1u);  // A128KW is a key-wrapping key, not a JWS one
  EXPECT_EQ(keys->keys()[0].kid(), "HMAC key used in JWS spec Appendix A.1 example");
  EXPECT_EQ(skipped.size(), 1u);
}

TEST(Rfc7638, ThumbprintsMatch) {
  const json::value doc = load_json(kExamples);
  const json::value& rfc = doc.at("rfc7638_thumbprint");
  EXPECT_EQ(jwk_or_throw(rfc.at("key")).thumbprint(), str(rfc, "thumbprint_b64u"));
  EXPECT_EQ(str(rfc, "thumbprint_b64u"), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");

  const json::value& derived = doc.at("derived_thumbprints_not_in_rfc");
  const Jwk ec =
      jwk_or_throw(doc.at("rfc7517_appendix_A1_public_keys").at("jwks").at("keys").at(0));
  EXPECT_EQ(ec.thumbprint(), str(derived.at("rfc7517_A1_ec_key"), "thumbprint_b64u"));
  const Jwk hmac =
      jwk_or_throw(doc.at("rfc7517_appendix_A3_symmetric_keys").at("jwks").at("keys").at(1));
  EXPECT_EQ(hmac.thumbprint(), str(derived.at("rfc7515_A1_hmac_key"), "thumbprint_b64u"));
}

// The EC private keys parse to the right scalars: ECDH with them gives the RFC's Z.
TEST(Rfc7518, AppendixCKeysAgreeOnTheSharedSecret) {
  const json::value c = load_json(kExamples).at("rfc7518_appendix_C_ecdh_es");
  const Jwk alice = jwk_or_throw(c.at("alice_ephemeral_key"));
  const Jwk bob = jwk_or_throw(c.at("bob_key"));
  std::string z_expected;
  for (const json::value& b : c.at("shared_secret_Z_bytes").as_array()) {
    z_expected += static_cast<char>(b.as_int64());
  }
  for (auto [mine, theirs] : {std::pair{&alice, &bob}, std::pair{&bob, &alice}}) {
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_pkey(nullptr, mine->pkey().get(), nullptr);
    ASSERT_NE(ctx, nullptr);
    std::string z(32, '\0');
    std::size_t len = z.size();
    ASSERT_EQ(EVP_PKEY_derive_init(ctx), 1);
    ASSERT_EQ(EVP_PKEY_derive_set_peer(ctx, theirs->pkey().get()), 1);
    ASSERT_EQ(EVP_PKEY_derive(ctx, reinterpret_cast<unsigned char*>(z.data()), &len), 1);
    EVP_PKEY_CTX_free(ctx);
    EXPECT_EQ(z, z_expected);
  }
  // Skipped: "derived_key_b64u" is the Concat KDF output of JWE key agreement (ECDH-ES), which
  // is out of scope; the Z check above is what exercises the JWK parser.
}

// Every member of the examples file is covered by a test above (so none is silently dropped).
TEST(Rfc7517, ExamplesFileHasNoUncoveredSection) {
  const std::set<std::string> covered = {"description",
                                         "rfc7517_appendix_A1_public_keys",
                                         "rfc7517_appendix_A2_private_keys",
                                         "rfc7517_appendix_A3_symmetric_keys",
                                         "rfc7638_thumbprint",
                                         "derived_thumbprints_not_in_rfc",
                                         "rfc7518_appendix_C_ecdh_es",
                                         "invalid_jwk_cases"};  // a pointer to Wycheproof
  std::set<std::string> found;
  const json::value doc = load_json(kExamples);
  for (const auto& member : doc.as_object()) found.emplace(member.key());
  EXPECT_EQ(found, covered);
}

TEST(Rfc7520Cookbook, Section3KeysParse) {
  const std::vector<std::string> files = testing::list_files("rfc7520-cookbook/jwk");
  ASSERT_EQ(files.size(), 6u);
  for (const std::string& f : files) {
    SCOPED_TRACE(f);
    const Jwk key = jwk_or_throw(load_json("rfc7520-cookbook/jwk/" + f));
    if (f.starts_with("3_1") || f.starts_with("3_2")) {
      EXPECT_EQ(key.kty(), KeyType::kEc);
      EXPECT_EQ(key.crv(), Curve::kP521);
      EXPECT_EQ(key.has_secret(), f.starts_with("3_2"));
      EXPECT_TRUE(BoundKey::make(key, JwsAlg::kEs512));
    } else if (f.starts_with("3_3") || f.starts_with("3_4")) {
      EXPECT_EQ(key.kty(), KeyType::kRsa);
      EXPECT_EQ(key.bits(), 2048);
      EXPECT_EQ(key.has_secret(), f.starts_with("3_4"));
      EXPECT_TRUE(BoundKey::make(key, JwsAlg::kPs384));
    } else if (f.starts_with("3_5")) {
      EXPECT_EQ(key.kty(), KeyType::kOct);
      EXPECT_TRUE(BoundKey::make(key, JwsAlg::kHs256));
      EXPECT_FALSE(BoundKey::make(key, JwsAlg::kHs384));  // its "alg" says HS256
    } else {
      ASSERT_TRUE(f.starts_with("3_6")) << "unexpected file";
      EXPECT_EQ(key.alg(), "A256GCM");
      EXPECT_FALSE(BoundKey::make(key, JwsAlg::kHs256));  // "use":"enc", "alg":"A256GCM"
    }
  }
}

Result<Jwk> parse(std::string_view text) { return Jwk::parse(text); }

std::string ec_jwk(std::string_view x, std::string_view y, std::string_view extra = "");

// The P-256 key of RFC 7515 A.3 claiming another curve.
std::string with_crv(std::string_view crv) {
  std::string jwk = ec_jwk("f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
                           "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0");
  return jwk.replace(jwk.find("P-256"), 5, crv);
}

constexpr std::string_view kP256X = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
constexpr std::string_view kP256Y = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";
constexpr std::string_view kP256D = "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI";

std::string ec_jwk(std::string_view x, std::string_view y, std::string_view extra) {
  return R"({"kty":"EC","crv":"P-256","x":")" + std::string(x) + R"(","y":")" + std::string(y) +
         "\"" + std::string(extra) + "}";
}

TEST(Jwk, ParsesAValidEcKeyAndItsPrivateHalf) {
  Result<Jwk> pub = parse(ec_jwk(kP256X, kP256Y));
  ASSERT_TRUE(pub) << pub.error().detail;
  EXPECT_FALSE(pub->has_secret());
  Result<Jwk> priv = parse(ec_jwk(kP256X, kP256Y, R"(,"d":")" + std::string(kP256D) + "\""));
  ASSERT_TRUE(priv) << priv.error().detail;
  EXPECT_TRUE(priv->has_secret());
}

TEST(Jwk, RefusesMalformedKeys) {
  const std::string rsa_n = load_json("rfc7515-appendix-a.json")
                                .at("examples")
                                .at(1)
                                .at("key")
                                .at("n")
                                .as_string()
                                .c_str();
  const std::string other_d = "870MB6gfuTJ4HtUnUvYMyJpr5eUZNP4Bk43bVdj3eAE";
  struct Case {
    std::string why;
    std::string jwk;
  };
  const std::vector<Case> cases = {
      {"not JSON", "{"},
      {"duplicate member", R"({"kty":"oct","k":"AAAA","k":"BBBB"})"},
      {"no kty", R"({"k":"AAAA"})"},
      {"unknown kty", R"({"kty":"DSA","k":"AAAA"})"},
      {"kty of the wrong case", R"({"kty":"OCT","k":"AAAA"})"},
      {"kty not a string", R"({"kty":1})"},
      {"kid not a string", R"({"kty":"oct","k":"AAAA","kid":7})"},
      {"key_ops not an array", R"({"kty":"oct","k":"AAAA","key_ops":"verify"})"},
      {"key_ops repeated", R"({"kty":"oct","k":"AAAA","key_ops":["verify","verify"]})"},
      {"empty k", R"({"kty":"oct","k":""})"},
      {"padded base64url", R"({"kty":"oct","k":"AAA="})"},
      {"standard base64 alphabet", R"({"kty":"oct","k":"+/+/"})"},
      {"non-canonical trailing bits", R"({"kty":"oct","k":"AAB"})"},
      {"whitespace in base64url", R"({"kty":"oct","k":"AA AA"})"},
      {"unknown EC curve", with_crv("P-192")},
      {"secp256k1", with_crv("secp256k1")},
      {"EC point off the curve", ec_jwk(kP256X, "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a1")},
      {"EC x too short", ec_jwk(kP256X.substr(0, 42), kP256Y)},
      {"EC coordinates of P-256 on P-384", with_crv("P-384")},
      {"EC y missing", R"({"kty":"EC","crv":"P-256","x":")" + std::string(kP256X) + "\"}"},
      {"EC d not matching the point", ec_jwk(kP256X, kP256Y, R"(,"d":")" + other_d + "\"")},
      {"EC d of the wrong length", ec_jwk(kP256X, kP256Y, R"(,"d":"AQ")")},
      {"EC d zero",
       ec_jwk(kP256X, kP256Y, R"(,"d":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")")},
      {"OKP X25519",
       R"({"kty":"OKP","crv":"X25519","x":"3p7bfXt9wbTTW2HC7OQ1Nz-DQ8hbeGdNrfx-FG-IK08"})"},
      {"Ed25519 x too short", R"({"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg"})"},
      {"Ed25519 d not matching x",
       R"({"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",)"
       R"("d":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"})"},
      {"RSA e even", R"({"kty":"RSA","n":")" + rsa_n + R"(","e":"AQAA"})"},
      {"RSA e = 1", R"({"kty":"RSA","n":")" + rsa_n + R"(","e":"AQ"})"},
      {"RSA e with a leading zero", R"({"kty":"RSA","n":")" + rsa_n + R"(","e":"AAEAAQ"})"},
      {"RSA n with a leading zero",
       R"({"kty":"RSA","n":"AA)" + rsa_n.substr(2) + R"(","e":"AQAB"})"},
      {"RSA n even",
       R"({"kty":"RSA","n":"AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","e":"AQAB"})"},
      {"RSA multi-prime", R"({"kty":"RSA","n":")" + rsa_n + R"(","e":"AQAB","oth":[]})"},
      {"RSA CRT without d", R"({"kty":"RSA","n":")" + rsa_n + R"(","e":"AQAB","p":"Aw"})"},
      {"RSA d with some CRT members",
       R"({"kty":"RSA","n":")" + rsa_n + R"(","e":"AQAB","d":"Aw","p":"Aw"})"},
  };
  for (const Case& c : cases) {
    Result<Jwk> key = parse(c.jwk);
    EXPECT_FALSE(key) << c.why << ": " << c.jwk;
    if (!key) {
      EXPECT_EQ(key.error().code, ErrorCode::kBadRequest) << c.why;
      EXPECT_FALSE(key.error().detail.empty()) << c.why;
    }
  }
}

TEST(JwkSet, LeavesOutKeysItCannotUseAndSaysWhy) {
  Result<JwkSet> set = JwkSet::parse(
      R"({"keys":[{"kty":"oct","k":"AAAA","kid":"good"},{"kty":"DSA","kid":"old"},7]})");
  ASSERT_TRUE(set);
  ASSERT_EQ(set->keys().size(), 1u);
  ASSERT_EQ(set->rejected().size(), 2u);
  EXPECT_EQ(set->rejected()[0].kid, "old");
  EXPECT_NE(set->rejected()[0].reason.find("DSA"), std::string::npos);
  EXPECT_FALSE(JwkSet::parse(R"({"key":[]})"));
  EXPECT_FALSE(JwkSet::parse(R"([])"));
  EXPECT_FALSE(JwkSet::parse(R"({"keys":{}})"));
}

TEST(PKey, CopiesShareOneKey) {
  const Jwk key = jwk_or_throw(json::parse(ec_jwk(kP256X, kP256Y)));
  PKey copy = key.pkey();
  EXPECT_EQ(copy.get(), key.pkey().get());
  PKey moved = std::move(copy);
  EXPECT_EQ(moved.get(), key.pkey().get());
  EXPECT_FALSE(copy);  // NOLINT(bugprone-use-after-move): a moved-from PKey is empty
  copy = moved;
  EXPECT_EQ(copy.get(), moved.get());
}

}  // namespace
}  // namespace coffer::auth
