#include "auth/jwt_verifier.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <iostream>
#include <map>
#include <set>

#include "auth/test_vectors.h"
#include "core/encoding.h"

namespace coffer::auth {
namespace {

namespace json = boost::json;
using testing::jwk_or_throw;
using testing::load_json;
using testing::str;

constexpr std::string_view kAttackFile = "jwt-attack-cases.json";

// ---- jwt-attack-cases.json -------------------------------------------------------------------

struct AttackCase {
  std::string id;
  std::string reference;  // reference_verifier_result, e.g. "reject:kid"
  std::string category;
  std::string expected;  // accept / reject / accept_or_reject
  std::string requirement;
  std::string token;
  std::string verify_with_kid;  // empty: all trusted keys
};

void PrintTo(const AttackCase& c, std::ostream* os) {
  *os << c.id << " (" << c.category << ", expected " << c.expected << ")";
}

std::vector<AttackCase> load_attack_cases() {
  std::vector<AttackCase> cases;
  const json::value doc = testing::try_load_json(kAttackFile);
  if (!doc.is_object()) return cases;
  for (const json::value& v : doc.at("cases").as_array()) {
    const json::object& o = v.as_object();
    AttackCase c;
    c.id = str(v, "id");
    c.category = str(v, "category");
    c.expected = str(v, "expected");
    c.requirement = str(v, "requirement");
    c.token = str(v, "token");
    if (o.contains("verify_with_kid")) c.verify_with_kid = str(v, "verify_with_kid");
    if (o.contains("reference_verifier_result")) c.reference = str(v, "reference_verifier_result");
    cases.push_back(std::move(c));
  }
  return cases;
}

// The verifier configuration the file's "profile" describes, and its trusted keys.
struct AttackProfile {
  SystemTime now;
  VerifierConfig config;
  std::map<std::string, BoundKey> trusted;  // by kid
  json::object control_claims;

  static const AttackProfile& get() {
    static const AttackProfile profile = [] {
      const json::value doc = load_json(kAttackFile);
      const json::value& p = doc.at("profile");
      AttackProfile out;
      out.now = from_unix_seconds(p.at("now").as_int64());
      out.config.leeway = std::chrono::seconds(p.at("leeway_seconds").as_int64());
      out.config.issuer = str(p, "expected_iss");
      out.config.audience = str(p, "expected_aud");
      out.config.max_token_bytes = static_cast<std::size_t>(p.at("max_token_bytes").as_int64());
      for (const json::value& k : doc.at("trusted_keys").as_array()) {
        Result<BoundKey> bound = BoundKey::make(jwk_or_throw(k.at("jwk")),
                                                *jws_alg_from_name(str(k, "alg")), str(k, "kid"));
        if (!bound) throw std::runtime_error("trusted key refused: " + bound.error().detail);
        out.trusted.emplace(str(k, "kid"), std::move(*bound));
      }
      out.control_claims = doc.at("control_claims").as_object();
      return out;
    }();
    return profile;
  }

  KeySet keys(const std::string& only_kid = {}) const {
    std::vector<BoundKey> list;
    for (const auto& [kid, key] : trusted) {
      if (only_kid.empty() || kid == only_kid) list.push_back(key);
    }
    Result<KeySet> set = KeySet::make(std::move(list));
    if (!set) throw std::runtime_error("key set refused: " + set.error().detail);
    return std::move(*set);
  }

  Verifier verifier(const std::string& only_kid = {}, std::size_t max_bytes = 0) const {
    VerifierConfig c = config;
    if (max_bytes != 0) c.max_token_bytes = max_bytes;
    Result<Verifier> v = Verifier::make(keys(only_kid), c);
    if (!v) throw std::runtime_error("verifier refused: " + v.error().detail);
    return std::move(*v);
  }

  JwsSigner hmac_signer() const {
    Result<Jwk> key = Jwk::parse(json::serialize(
        json::object{{"kty", "oct"},
                     {"kid", "hs256-rfc7515-a1"},
                     {"k", base64url_encode(trusted.at("hs256-rfc7515-a1").key().secret())}}));
    Result<JwsSigner> signer = JwsSigner::make(JwsAlg::kHs256, std::move(*key));
    if (!signer) throw std::runtime_error("signer refused: " + signer.error().detail);
    return std::move(*signer);
  }
};

TEST(JwtAttackCases, ProfileIsTheOneTheVerifierImplements) {
  const json::value doc = load_json(kAttackFile);
  const json::value& p = doc.at("profile");
  EXPECT_TRUE(p.at("require_exp").as_bool());
  EXPECT_EQ(p.at("never_trusted_headers"), json::parse(R"(["jku","x5u","jwk","x5c"])"));
  EXPECT_EQ(str(p, "exp_semantics"), "valid iff now < exp");
  EXPECT_EQ(str(p, "nbf_semantics"), "valid iff now >= nbf");
  EXPECT_EQ(AttackProfile::get().trusted.size(), 3u);
}

// Nothing is dropped: every case of the file runs below, and the three recipes have tests.
TEST(JwtAttackCases, EnumeratesEveryCase) {
  const std::vector<AttackCase> cases = load_attack_cases();
  EXPECT_EQ(cases.size(), 105u);
  std::map<std::string, int> by_expected;
  std::set<std::string> ids;
  for (const AttackCase& c : cases) {
    ++by_expected[c.expected];
    EXPECT_TRUE(ids.insert(c.id).second) << "duplicate id " << c.id;
  }
  EXPECT_EQ(by_expected,
            (std::map<std::string, int>{{"accept", 10}, {"accept_or_reject", 3}, {"reject", 92}}));
  std::set<std::string> recipes;
  const json::value doc = load_json(kAttackFile);
  for (const json::value& r : doc.at("recipes_not_stored").as_array()) {
    recipes.insert(str(r, "id"));
  }
  EXPECT_EQ(recipes,
            (std::set<std::string>{"oversize-1MiB", "deep-nesting-100000", "many-claims-100000"}));
}

// What our refusal detail says for each reason the file's reference verifier gives, so that a
// case refused for an unrelated reason (say, a broken key) does not pass unnoticed.
std::vector<std::string_view> detail_words_for(std::string_view reference) {
  static const std::map<std::string_view, std::vector<std::string_view>> kWords = {
      {"reject:alg-not-allowed", {"alg"}},
      {"reject:alg", {"alg"}},
      {"reject:structure", {"three segments"}},
      {"reject:sig", {"signature does not verify"}},
      {"reject:sig-range", {"r = 0", "signature does not verify"}},
      {"reject:sig-length", {"octets", "modulus length"}},
      {"reject:encoding", {"base64url"}},
      {"reject:noncanonical-b64", {"base64url"}},
      {"reject:expired", {"expired"}},
      {"reject:exp", {"exp"}},
      {"reject:nbf", {"nbf"}},
      {"reject:iss", {"iss"}},
      {"reject:aud", {"aud"}},
      {"reject:payload", {"payload"}},
      {"reject:header", {"header"}},
      {"reject:kid", {"kid"}},
      {"reject:untrusted-key-header", {"keys are never taken from a token"}},
      {"reject:crit", {"crit"}},
      {"reject:size", {"exceeds"}},
  };
  auto it = kWords.find(reference);
  return it == kWords.end() ? std::vector<std::string_view>{} : it->second;
}

class JwtAttack : public ::testing::TestWithParam<AttackCase> {};

TEST_P(JwtAttack, GetsTheExpectedVerdict) {
  const AttackCase& c = GetParam();
  const AttackProfile& profile = AttackProfile::get();
  const Verifier verifier = profile.verifier(c.verify_with_kid);
  const Result<Claims> claims = verifier.verify(c.token, profile.now);
  if (c.expected == "accept") {
    ASSERT_TRUE(claims) << c.id << " refused: " << claims.error().detail;
    EXPECT_EQ(claims->iss, profile.config.issuer);
    EXPECT_NE(std::find(claims->aud.begin(), claims->aud.end(), *profile.config.audience),
              claims->aud.end());
    EXPECT_GT(claims->exp, to_unix_seconds(profile.now) - 1);
  } else if (c.expected == "reject") {
    ASSERT_FALSE(claims) << c.id << " accepted";
    EXPECT_EQ(claims.error().code, ErrorCode::kUnauthenticated);
    EXPECT_EQ(claims.error().message, "invalid or missing credentials");  // nothing leaks
    EXPECT_FALSE(claims.error().detail.empty());
    RecordProperty("detail", claims.error().detail);
    const std::vector<std::string_view> words = detail_words_for(c.reference);
    ASSERT_FALSE(words.empty()) << "no mapping for reference result " << c.reference;
    EXPECT_TRUE(std::any_of(
        words.begin(), words.end(),
        [&](std::string_view w) { return claims.error().detail.find(w) != std::string::npos; }))
        << "refused for another reason than " << c.reference << ": " << claims.error().detail;
  } else {
    ASSERT_EQ(c.expected, "accept_or_reject");
    RecordProperty("verdict", claims ? "accepted" : "refused: " + claims.error().detail);
  }
}

INSTANTIATE_TEST_SUITE_P(File, JwtAttack, ::testing::ValuesIn(load_attack_cases()),
                         [](const ::testing::TestParamInfo<AttackCase>& info) {
                           return testing::test_name(info.param.id);
                         });

// recipes_not_stored: the three larger cases, generated here with the trusted HMAC key.
std::string signed_claims(const json::object& claims) {
  Result<std::string> token = AttackProfile::get().hmac_signer().sign_claims(claims);
  if (!token) throw std::runtime_error(token.error().detail);
  return std::move(*token);
}

TEST(JwtAttackRecipes, Oversize1MiBIsRefusedBeforeDecoding) {
  const AttackProfile& profile = AttackProfile::get();
  json::object claims = profile.control_claims;
  claims["pad"] = std::string(1048576, 'A');
  const std::string token = signed_claims(claims);
  // The token itself is genuine: a verifier without the size limit accepts it.
  EXPECT_TRUE(profile.verifier({}, token.size()).verify(token, profile.now));
  Result<Claims> r = profile.verifier().verify(token, profile.now);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().detail.find("exceeds"), std::string::npos) << r.error().detail;
}

TEST(JwtAttackRecipes, DeepNesting100000IsRefusedWithoutCrashing) {
  const AttackProfile& profile = AttackProfile::get();
  const std::string payload =
      R"({"x":)" + std::string(100000, '[') + std::string(100000, ']') + "}";
  Result<std::string> token = profile.hmac_signer().sign(payload);
  ASSERT_TRUE(token);
  EXPECT_FALSE(profile.verifier().verify(*token, profile.now));  // by size
  Result<Claims> r = profile.verifier({}, token->size()).verify(*token, profile.now);
  ASSERT_FALSE(r);  // by depth
  EXPECT_NE(r.error().detail.find("payload"), std::string::npos) << r.error().detail;
}

TEST(JwtAttackRecipes, ManyClaims100000TakeLinearTime) {
  const AttackProfile& profile = AttackProfile::get();
  json::object claims = profile.control_claims;
  for (int i = 0; i < 100000; ++i) {
    std::string name = std::to_string(i);
    name.insert(0, 1, 'k');
    claims[name] = i;
  }
  const std::string token = signed_claims(claims);
  const Verifier verifier = profile.verifier({}, token.size());
  const auto start = std::chrono::steady_clock::now();
  Result<Claims> r = verifier.verify(token, profile.now);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(r);
  EXPECT_LT(elapsed, std::chrono::seconds(2));
}

// ---- RFC 7515 Appendix A as JWTs ------------------------------------------------------------

TEST(Rfc7515AppendixAJwt, ValidBeforeExpAndExpiredAfter) {
  const json::value doc = load_json("rfc7515-appendix-a.json");
  for (std::size_t i = 0; i < 3; ++i) {  // A.1 HS256, A.2 RS256, A.3 ES256
    const json::value& e = doc.at("examples").at(i);
    SCOPED_TRACE(str(e, "id"));
    const json::value& key_json =
        e.as_object().contains("public_key") ? e.at("public_key") : e.at("key");
    Result<BoundKey> key =
        BoundKey::make(jwk_or_throw(key_json), *jws_alg_from_name(str(e, "alg")));
    ASSERT_TRUE(key);
    Result<KeySet> keys = KeySet::make({*key});
    ASSERT_TRUE(keys);
    VerifierConfig config;
    config.issuer = "joe";
    Result<Verifier> verifier = Verifier::make(*keys, config);
    ASSERT_TRUE(verifier);

    Result<Claims> late = verifier->verify(str(e, "compact"), from_unix_seconds(1700000000));
    ASSERT_FALSE(late);
    EXPECT_FALSE(e.at("expected").at("jwt_claims_valid_at_1700000000").as_bool());
    EXPECT_NE(late.error().detail.find("expired"), std::string::npos) << late.error().detail;
    EXPECT_FALSE(verifier->verify(str(e, "compact"), from_unix_seconds(1300819380)));

    Result<Claims> early = verifier->verify(str(e, "compact"), from_unix_seconds(1300819379));
    ASSERT_TRUE(early) << early.error().detail;
    EXPECT_EQ(early->iss, "joe");
    EXPECT_EQ(early->exp, 1300819380);
    EXPECT_TRUE(early->aud.empty());
    EXPECT_EQ(early->payload.at("http://example.com/is_root"), true);
  }
}

TEST(Rfc7515AppendixAJwt, NonJsonPayloadAndUnsecuredAreRefused) {
  const json::value doc = load_json("rfc7515-appendix-a.json");
  const json::value& a4 = doc.at("examples").at(3);
  Result<KeySet> keys =
      KeySet::make({*BoundKey::make(jwk_or_throw(a4.at("public_key")), JwsAlg::kEs512)});
  Result<Verifier> verifier = Verifier::make(*keys, {});
  Result<Claims> r = verifier->verify(str(a4, "compact"), from_unix_seconds(0));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().detail.find("payload"), std::string::npos) << r.error().detail;

  const json::value& a1 = doc.at("examples").at(0);
  Result<KeySet> hmac = KeySet::make({*BoundKey::make(jwk_or_throw(a1.at("key")), JwsAlg::kHs256)});
  EXPECT_FALSE(Verifier::make(*hmac, {})->verify(str(doc.at("examples").at(4), "compact"),
                                                 from_unix_seconds(0)));
}

// ---- Claims and configuration ---------------------------------------------------------------

class VerifierClaims : public ::testing::Test {
 protected:
  static constexpr std::int64_t kNow = 1700000000;

  static std::string token(const json::object& claims) { return signed_claims(claims); }

  static json::object base() { return json::object{{"sub", "user-1"}, {"exp", kNow + 60}}; }

  static Result<Claims> verify(const std::string& t, VerifierConfig config = {}) {
    Result<Verifier> v = Verifier::make(AttackProfile::get().keys("hs256-rfc7515-a1"), config);
    if (!v) return v.error();
    return v->verify(t, from_unix_seconds(kNow));
  }
};

TEST_F(VerifierClaims, ExposesCofferClaimsAndConfigurableOnes) {
  json::object c = base();
  c["tenant_id"] = "t-9";
  c["email"] = "a@example.com";
  c["groups"] = json::array{"x"};
  Result<Claims> claims = verify(token(c));
  ASSERT_TRUE(claims) << claims.error().detail;
  EXPECT_EQ(claims->sub, "user-1");
  EXPECT_EQ(claims->tenant_id, "t-9");
  EXPECT_FALSE(claims->role);
  EXPECT_EQ(claims->exp, kNow + 60);
  EXPECT_EQ(claims->string_claim("email"), "a@example.com");
  EXPECT_FALSE(claims->string_claim("groups"));
  EXPECT_FALSE(claims->string_claim("missing"));
  EXPECT_EQ(claims->kid, "hs256-rfc7515-a1");
  EXPECT_EQ(claims->alg, JwsAlg::kHs256);
}

TEST_F(VerifierClaims, OperatorTokenCarriesRoleAndNoTenant) {
  json::object c = base();
  c["role"] = "operator";
  Result<Claims> claims = verify(token(c));
  ASSERT_TRUE(claims);
  EXPECT_EQ(claims->role, "operator");
  EXPECT_FALSE(claims->tenant_id);
  // A role that is not a string is not a role.
  c["role"] = json::array{"operator"};
  c["tenant_id"] = 7;
  claims = verify(token(c));
  ASSERT_TRUE(claims);
  EXPECT_FALSE(claims->role);
  EXPECT_FALSE(claims->tenant_id);
}

TEST_F(VerifierClaims, LeewayAppliesToExpNbfAndIat) {
  VerifierConfig lenient;
  lenient.leeway = std::chrono::seconds(10);
  json::object c = base();
  c["exp"] = kNow - 5;
  EXPECT_FALSE(verify(token(c)));
  EXPECT_TRUE(verify(token(c), lenient));
  c["exp"] = kNow - 10;
  EXPECT_FALSE(verify(token(c), lenient));

  c = base();
  c["nbf"] = kNow + 5;
  EXPECT_FALSE(verify(token(c)));
  EXPECT_TRUE(verify(token(c), lenient));
  c["nbf"] = kNow + 11;
  EXPECT_FALSE(verify(token(c), lenient));

  c = base();
  c["iat"] = kNow + 5;
  EXPECT_FALSE(verify(token(c)));
  EXPECT_TRUE(verify(token(c), lenient));
  c["iat"] = "1700000000";
  EXPECT_FALSE(verify(token(c), lenient));
  c["iat"] = 1.5;
  Result<Claims> fractional = verify(token(c));
  ASSERT_TRUE(fractional);
  EXPECT_EQ(fractional->iat, 1);
}

TEST_F(VerifierClaims, ClaimTypesAreChecked) {
  for (const char* bad :
       {R"({"sub":1})", R"({"iss":["a"]})", R"({"aud":1})", R"({"aud":["a",1]})",
        R"({"aud":{"a":1}})", R"({"exp":1e400})", R"({"nbf":null})", R"({"exp":false})"}) {
    json::object c = base();
    const json::value extra = json::parse(bad);
    for (const auto& m : extra.as_object()) c[m.key()] = m.value();
    EXPECT_FALSE(verify(token(c))) << bad;
  }
  Result<Claims> huge = verify(token(json::object{{"exp", 1e300}}));
  ASSERT_TRUE(huge);
  EXPECT_EQ(huge->exp, std::numeric_limits<std::int64_t>::max());
}

TEST_F(VerifierClaims, IssuerAndAudienceAreExactWhenConfigured) {
  VerifierConfig strict;
  strict.issuer = "https://coffer.example";
  strict.audience = "coffer";
  json::object c = base();
  EXPECT_TRUE(verify(token(c)));  // nothing configured, nothing required
  EXPECT_FALSE(verify(token(c), strict));
  c["iss"] = "https://coffer.example";
  c["aud"] = "coffer";
  EXPECT_TRUE(verify(token(c), strict));
  c["aud"] = json::array{"other", "coffer"};
  EXPECT_TRUE(verify(token(c), strict));
  c["aud"] = json::array{};
  EXPECT_FALSE(verify(token(c), strict));
  c["aud"] = "Coffer";
  EXPECT_FALSE(verify(token(c), strict));
  c["aud"] = "coffer";
  c["iss"] = "https://coffer.example/";
  EXPECT_FALSE(verify(token(c), strict));
}

TEST_F(VerifierClaims, KidSelectsTheKeyAndNeverWidensIt) {
  const AttackProfile& profile = AttackProfile::get();
  // A key set without kids: a token naming a kid matches nothing.
  Result<BoundKey> anonymous =
      BoundKey::make(profile.trusted.at("hs256-rfc7515-a1").key(), JwsAlg::kHs256, std::string());
  ASSERT_TRUE(anonymous);
  Result<Verifier> v = Verifier::make(*KeySet::make({*anonymous}), {});
  ASSERT_TRUE(v);
  const std::string with_kid = token(base());
  EXPECT_FALSE(v->verify(with_kid, from_unix_seconds(kNow)));
  // The same key signing without a kid is found by its algorithm.
  Result<Jwk> no_kid = Jwk::parse(json::serialize(
      json::object{{"kty", "oct"}, {"k", base64url_encode(anonymous->key().secret())}}));
  Result<std::string> t = JwsSigner::make(JwsAlg::kHs256, *no_kid)->sign_claims(base());
  ASSERT_TRUE(t);
  EXPECT_TRUE(v->verify(*t, from_unix_seconds(kNow)));
  // Without a kid, with all trusted keys: the one key pinned to HS256 verifies it.
  Result<Verifier> all = Verifier::make(profile.keys(), {});
  EXPECT_TRUE(all->verify(*t, from_unix_seconds(kNow)));
}

TEST(VerifierConfigCheck, RefusesNonsense) {
  const AttackProfile& profile = AttackProfile::get();
  VerifierConfig negative;
  negative.leeway = std::chrono::seconds(-1);
  EXPECT_FALSE(Verifier::make(profile.keys(), negative));
  VerifierConfig zero;
  zero.max_token_bytes = 0;
  EXPECT_FALSE(Verifier::make(profile.keys(), zero));
}

TEST(KeySetRules, ConfiguredKeysNeedDistinctKids) {
  const AttackProfile& profile = AttackProfile::get();
  const BoundKey& hs = profile.trusted.at("hs256-rfc7515-a1");
  const BoundKey& rs = profile.trusted.at("rs256-rfc7515-a2");
  EXPECT_FALSE(KeySet::make({}));
  EXPECT_TRUE(KeySet::make({hs, rs}));  // each pinned to its own algorithm
  EXPECT_FALSE(KeySet::make({rs, *BoundKey::make(rs.key(), JwsAlg::kPs256, rs.kid())}));
}

TEST(KeySetRules, JwksMixingKindsOfKeysIsRefused) {
  const JwsAlg all[] = {JwsAlg::kHs256, JwsAlg::kRs256, JwsAlg::kEs256};
  const json::value a = load_json("rfc7515-appendix-a.json").at("examples");
  auto jwks = [](std::initializer_list<json::value> keys) {
    json::array list;
    for (const json::value& k : keys) list.push_back(k);
    json::object set;
    set["keys"] = std::move(list);
    return JwkSet::from_json(set);
  };
  EXPECT_FALSE(KeySet::from_jwks(*jwks({a.at(0).at("key"), a.at(1).at("public_key")}), all));
  EXPECT_FALSE(KeySet::from_jwks(*jwks({a.at(1).at("public_key"), a.at(2).at("key")}), all));
  EXPECT_TRUE(KeySet::from_jwks(*jwks({a.at(1).at("public_key"), a.at(2).at("public_key")}), all));
  // The same kid twice: neither key is used, the others still are.
  json::value k1 = a.at(1).at("public_key");
  json::value k2 = a.at(2).at("public_key");
  json::value k3 = load_json("rfc7520-cookbook/jwk/3_3.rsa_public_key.json");
  k1.as_object()["kid"] = "same";
  k2.as_object()["kid"] = "same";
  std::vector<std::string> skipped;
  Result<KeySet> set = KeySet::from_jwks(*jwks({k1, k2, k3}), all, &skipped);
  ASSERT_TRUE(set);
  ASSERT_EQ(set->keys().size(), 1u);
  EXPECT_EQ(set->keys()[0].kid(), "bilbo.baggins@hobbiton.example");
  EXPECT_EQ(skipped.size(), 2u);
}

// ---- Cost --------------------------------------------------------------------------------

// Not a pass/fail benchmark (the machine is shared): prints the cost of one verification of
// the attack file's control tokens, end to end (size check, base64url, both JSON documents,
// signature, claims). HS256 is what Coffer's own tokens cost.
TEST(VerifierCost, PerVerification) {
  const AttackProfile& profile = AttackProfile::get();
  const Verifier verifier = profile.verifier();
  for (const AttackCase& c : load_attack_cases()) {
    if (c.id != "valid-hs256" && c.id != "valid-rs256" && c.id != "valid-es256") continue;
    const int rounds = c.id == "valid-hs256" ? 20000 : 2000;
    int accepted = 0;
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < rounds; ++i) accepted += verifier.verify(c.token, profile.now) ? 1 : 0;
    const auto elapsed = std::chrono::steady_clock::now() - start;
    EXPECT_EQ(accepted, rounds);
    const double us =
        std::chrono::duration<double, std::micro>(elapsed).count() / static_cast<double>(rounds);
    RecordProperty(c.id + "_us", std::to_string(us));
    std::cout << "[ cost     ] " << c.id << " (" << c.token.size() << " bytes): " << us
              << " us per verification\n";
  }
}

}  // namespace
}  // namespace coffer::auth
