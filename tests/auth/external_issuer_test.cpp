#include "auth/external_issuer.h"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/pem.h>

#include <atomic>
#include <boost/json/serialize.hpp>
#include <mutex>

#include "auth/idp_keys.h"
#include "auth/jwks_source.h"
#include "auth/signing_key.h"
#include "auth/token_authority.h"
#include "core/encoding.h"

namespace coffer::auth {
namespace {

namespace json = boost::json;
using testing::IdpKey;
using testing::jwks_text;

constexpr std::string_view kIss = "https://idp.example";
const SystemTime kNow = from_unix_seconds(1'800'000'000);
constexpr std::int64_t kNowSeconds = 1'800'000'000;

// Key generation is slow (RSA): one set of keys for the whole file.
struct Keys {
  IdpKey rsa1 = IdpKey::rsa("rsa-1");
  IdpKey rsa2 = IdpKey::rsa("rsa-2");
  IdpKey rsa1_impostor = IdpKey::rsa("rsa-1");  // same kid as rsa1, another key
  IdpKey ec1 = IdpKey::ec("ec-1");
  IdpKey ec1_impostor = IdpKey::ec("ec-1");

  static const Keys& get() {
    static const Keys keys;
    return keys;
  }
};

TrustedIssuer trusted(std::vector<std::string> algorithms = {"RS256", "ES256"}) {
  TrustedIssuer t;
  t.issuer = std::string(kIss);
  t.jwks_file = "/unused";
  t.algorithms = std::move(algorithms);
  return t;
}

json::object claims() {
  return json::object{{"iss", kIss},
                      {"sub", "alice"},
                      {"tenant_id", "acme"},
                      {"iat", kNowSeconds - 10},
                      {"exp", kNowSeconds + 300}};
}

json::object with(json::object base, std::string_view name, json::value value) {
  base[name] = std::move(value);
  return base;
}

json::object without(json::object base, std::string_view name) {
  base.erase(name);
  return base;
}

KeySet key_set(const std::vector<json::object>& jwks, const TrustedIssuer& config = trusted()) {
  auto allowed = trusted_algorithms(config);
  if (!allowed) throw std::runtime_error(allowed.error().detail);
  auto keys = parse_jwks(jwks_text(jwks), *allowed);
  if (!keys) throw std::runtime_error("test JWKS refused: " + keys.error().detail);
  return std::move(*keys);
}

// A source whose keys a test sets, and which counts the unknown-kid requests it gets.
class FakeSource final : public JwksSource {
 public:
  std::shared_ptr<const KeySet> keys() const override {
    std::lock_guard lock(mu_);
    return current_;
  }
  std::shared_ptr<const KeySet> keys_for_unknown_kid(const KeySet* seen) override {
    std::lock_guard lock(mu_);
    ++unknown_kid_requests_;
    if (next_) current_ = std::move(next_);
    return current_ && current_.get() != seen ? current_ : nullptr;
  }

  void set(std::optional<KeySet> keys) {
    std::lock_guard lock(mu_);
    current_ = keys ? std::make_shared<const KeySet>(std::move(*keys)) : nullptr;
  }
  // What the next unknown-kid request finds (the IdP rotated its keys).
  void publish_on_refetch(KeySet keys) {
    std::lock_guard lock(mu_);
    next_ = std::make_shared<const KeySet>(std::move(keys));
  }
  int unknown_kid_requests() const {
    std::lock_guard lock(mu_);
    return unknown_kid_requests_;
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const KeySet> current_;
  std::shared_ptr<const KeySet> next_;
  int unknown_kid_requests_ = 0;
};

struct Fixture {
  std::shared_ptr<FakeSource> source = std::make_shared<FakeSource>();
  std::shared_ptr<JwksIssuer> issuer;

  explicit Fixture(const std::vector<json::object>& jwks, TrustedIssuer config = trusted(),
                   std::chrono::seconds leeway = std::chrono::seconds(30)) {
    if (!jwks.empty()) source->set(key_set(jwks, config));
    auto made = JwksIssuer::make(config, leeway, source);
    if (!made) throw std::runtime_error(made.error().detail);
    issuer = std::move(*made);
  }

  Result<TokenSubject> verify(const std::string& token) const {
    return issuer->verify(token, kNow);
  }
};

std::string public_pem(const Jwk& key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, key.pkey().get());
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<std::size_t>(size));
  BIO_free(bio);
  return pem;
}

// An HS256 token whose HMAC secret is `secret` (what an attacker does with a public key).
std::string hs256_with_secret(std::string_view secret, const json::object& header,
                              const json::object& claims) {
  auto key = Jwk::from_json(json::object{{"kty", "oct"}, {"k", base64url_encode(secret)}});
  if (!key) throw std::runtime_error(key.error().detail);
  const std::string input =
      base64url_encode(json::serialize(header)) + "." + base64url_encode(json::serialize(claims));
  auto mac = compute_signature(JwsAlg::kHs256, *key, input);
  if (!mac) throw std::runtime_error(mac.error().detail);
  return input + "." + base64url_encode(*mac);
}

#define EXPECT_REFUSED(result)                                                     \
  do {                                                                             \
    auto r_ = (result);                                                            \
    ASSERT_FALSE(r_.has_value()) << "accepted: " << r_->tenant << "/" << r_->user; \
    EXPECT_EQ(r_.error().code, ErrorCode::kUnauthenticated);                       \
  } while (0)

// ---- accepted tokens ----------------------------------------------------------------------------

TEST(JwksIssuer, Rs256TokenNamesTenantSlugAndUsername) {
  const Keys& k = Keys::get();
  Fixture f({k.rsa1.public_jwk(), k.ec1.public_jwk()});
  auto subject = f.verify(k.rsa1.sign(claims()));
  ASSERT_TRUE(subject.has_value()) << subject.error().detail;
  EXPECT_EQ(subject->kind, TokenSubject::Kind::kUser);
  EXPECT_TRUE(subject->by_name);
  EXPECT_EQ(subject->tenant, "acme");
  EXPECT_EQ(subject->user, "alice");
  EXPECT_EQ(f.source->unknown_kid_requests(), 0);
}

TEST(JwksIssuer, Es256TokenIsAccepted) {
  const Keys& k = Keys::get();
  Fixture f({k.rsa1.public_jwk(), k.ec1.public_jwk()});
  auto subject = f.verify(k.ec1.sign(claims()));
  ASSERT_TRUE(subject.has_value()) << subject.error().detail;
  EXPECT_EQ(subject->user, "alice");
}

TEST(JwksIssuer, KeysWithTheirOwnAllowedAlgAreUsed) {
  const Keys& k = Keys::get();
  Fixture f({k.rsa1.public_jwk(true), k.ec1.public_jwk(true)});
  EXPECT_TRUE(f.verify(k.rsa1.sign(claims())).has_value());
  EXPECT_TRUE(f.verify(k.ec1.sign(claims())).has_value());
}

TEST(JwksIssuer, TokenWithoutKidIsCheckedAgainstTheKeysOfItsAlg) {
  const Keys& k = Keys::get();
  Fixture f({k.rsa2.public_jwk(), k.rsa1.public_jwk()});
  EXPECT_TRUE(f.verify(k.rsa1.sign_with_header({{"alg", "RS256"}}, claims())).has_value());
  EXPECT_REFUSED(f.verify(k.rsa1_impostor.sign_with_header({{"alg", "RS256"}}, claims())));
  EXPECT_EQ(f.source->unknown_kid_requests(), 0);
}

// ---- the algorithm is pinned per key ------------------------------------------------------------

TEST(JwksIssuer, KeyWithoutAlgIsPinnedToTheAlgItsTypeImplies) {
  const Keys& k = Keys::get();
  Fixture f({k.rsa1.public_jwk(), k.ec1.public_jwk()});
  // The RSA key serves RS256 only, however correctly the token is signed with it otherwise.
  for (JwsAlg alg : {JwsAlg::kRs384, JwsAlg::kRs512, JwsAlg::kPs256}) {
    json::object header{{"alg", jws_alg_name(alg)}, {"kid", "rsa-1"}};
    EXPECT_REFUSED(f.verify(k.rsa1.sign_with_header(header, claims(), alg)));
  }
  // A token naming the EC key but claiming RS256 (signed with the RSA key) is refused.
  EXPECT_REFUSED(f.verify(k.rsa1.sign_with_header({{"alg", "RS256"}, {"kid", "ec-1"}}, claims())));
  EXPECT_REFUSED(f.verify(k.ec1.sign_with_header({{"alg", "ES256"}, {"kid", "rsa-1"}}, claims())));
}

TEST(JwksIssuer, OnlyTheConfiguredAlgorithmsAreAccepted) {
  const Keys& k = Keys::get();
  // ES256 only: the RSA key of the JWKS is left out, so RS256 tokens find no key.
  Fixture es_only({k.rsa1.public_jwk(), k.ec1.public_jwk()}, trusted({"ES256"}));
  EXPECT_TRUE(es_only.verify(k.ec1.sign(claims())).has_value());
  EXPECT_REFUSED(es_only.verify(k.rsa1.sign(claims())));
  EXPECT_REFUSED(es_only.verify(k.rsa1.sign_with_header({{"alg", "RS256"}}, claims())));

  Fixture rs_only({k.rsa1.public_jwk(), k.ec1.public_jwk(true)}, trusted({"RS256"}));
  EXPECT_TRUE(rs_only.verify(k.rsa1.sign(claims())).has_value());
  EXPECT_REFUSED(rs_only.verify(k.ec1.sign(claims())));
}

TEST(JwksIssuer, KeyWhoseOwnAlgIsNotAllowedIsLeftOut) {
  const Keys& k = Keys::get();
  json::object rs512 = k.rsa1.public_jwk();
  rs512["alg"] = "RS512";
  std::vector<std::string> skipped;
  auto keys = parse_jwks(jwks_text({rs512, k.ec1.public_jwk()}),
                         std::vector<JwsAlg>{JwsAlg::kRs256, JwsAlg::kEs256}, &skipped);
  ASSERT_TRUE(keys.has_value()) << keys.error().detail;
  ASSERT_EQ(keys->keys().size(), 1u);
  EXPECT_EQ(keys->keys()[0].kid(), "ec-1");
  ASSERT_EQ(skipped.size(), 1u);
  EXPECT_NE(skipped[0].find("RS512"), std::string::npos) << skipped[0];
  // A JWKS with no usable key at all is refused as a whole.
  EXPECT_FALSE(parse_jwks(jwks_text({rs512}), std::vector<JwsAlg>{JwsAlg::kRs256}).has_value());
}

TEST(JwksIssuer, NoneInEveryCasingIsRefused) {
  const Keys& k = Keys::get();
  Fixture f({k.rsa1.public_jwk(), k.ec1.public_jwk()});
  for (std::string_view none : {"none", "None", "NONE", "nOnE"}) {
    EXPECT_REFUSED(f.verify(testing::compact({{"alg", none}, {"kid", "rsa-1"}}, claims(), "")));
    EXPECT_REFUSED(f.verify(testing::compact({{"alg", none}}, claims(), "")));
  }
}

TEST(JwksIssuer, Hs256SignedWithThePublicKeyIsRefused) {
  const Keys& k = Keys::get();
  Fixture f({k.rsa1.public_jwk(), k.ec1.public_jwk()});
  const std::string pem = public_pem(k.rsa1.private_key());
  const std::string jwk = json::serialize(k.rsa1.public_jwk());
  for (const std::string& secret : {pem, jwk}) {
    EXPECT_REFUSED(
        f.verify(hs256_with_secret(secret, {{"alg", "HS256"}, {"kid", "rsa-1"}}, claims())));
    EXPECT_REFUSED(f.verify(hs256_with_secret(secret, {{"alg", "HS256"}}, claims())));
  }
  EXPECT_REFUSED(f.verify(hs256_with_secret(public_pem(k.ec1.private_key()),
                                            {{"alg", "HS256"}, {"kid", "ec-1"}}, claims())));
}

TEST(JwksIssuer, AnotherKeyUnderAKnownKidIsRefused) {
  const Keys& k = Keys::get();
  Fixture f({k.rsa1.public_jwk(), k.ec1.public_jwk()});
  EXPECT_REFUSED(f.verify(k.rsa1_impostor.sign(claims())));
  EXPECT_REFUSED(f.verify(k.ec1_impostor.sign(claims())));
  EXPECT_EQ(f.source->unknown_kid_requests(), 0);  // a known kid never triggers a refetch
}

TEST(JwksIssuer, TamperedPayloadIsRefused) {
  const Keys& k = Keys::get();
  Fixture f({k.rsa1.public_jwk()});
  std::string token = k.rsa1.sign(claims());
  const auto dot1 = token.find('.');
  const auto dot2 = token.find('.', dot1 + 1);
  token.replace(dot1 + 1, dot2 - dot1 - 1,
                base64url_encode(json::serialize(with(claims(), "sub", "mallory"))));
  EXPECT_REFUSED(f.verify(token));
}

// ---- claims -------------------------------------------------------------------------------------

TEST(JwksIssuer, IssuerMustMatchExactly) {
  const Keys& k = Keys::get();
  Fixture f({k.rsa1.public_jwk()});
  for (const char* iss : {"https://idp.example/", "https://IDP.example", "https://other"}) {
    EXPECT_REFUSED(f.verify(k.rsa1.sign(with(claims(), "iss", iss))));
  }
  EXPECT_REFUSED(f.verify(k.rsa1.sign(without(claims(), "iss"))));
  EXPECT_REFUSED(f.verify(k.rsa1.sign(with(claims(), "iss", 7))));
}

TEST(JwksIssuer, AudienceIsCheckedWhenConfigured) {
  const Keys& k = Keys::get();
  TrustedIssuer config = trusted();
  config.audience = "coffer";
  Fixture f({k.rsa1.public_jwk()}, config);
  EXPECT_TRUE(f.verify(k.rsa1.sign(with(claims(), "aud", "coffer"))).has_value());
  EXPECT_TRUE(f.verify(k.rsa1.sign(with(claims(), "aud", json::array{"x", "coffer"}))).has_value());
  EXPECT_REFUSED(f.verify(k.rsa1.sign(claims())));
  EXPECT_REFUSED(f.verify(k.rsa1.sign(with(claims(), "aud", "other"))));
  EXPECT_REFUSED(f.verify(k.rsa1.sign(with(claims(), "aud", "Coffer"))));

  Fixture any_audience({k.rsa1.public_jwk()});
  EXPECT_TRUE(any_audience.verify(k.rsa1.sign(with(claims(), "aud", "other"))).has_value());
}

TEST(JwksIssuer, TimeClaimsHonourTheLeeway) {
  const Keys& k = Keys::get();
  Fixture f({k.rsa1.public_jwk()}, trusted(), std::chrono::seconds(30));
  auto at = [&](std::string_view name, std::int64_t offset) {
    return f.verify(k.rsa1.sign(with(claims(), name, kNowSeconds + offset)));
  };
  EXPECT_REFUSED(f.verify(k.rsa1.sign(without(claims(), "exp"))));
  EXPECT_REFUSED(at("exp", -31));
  EXPECT_TRUE(at("exp", -29).has_value());
  EXPECT_REFUSED(at("nbf", 31));
  EXPECT_TRUE(at("nbf", 29).has_value());
  EXPECT_REFUSED(at("iat", 31));
  EXPECT_TRUE(at("iat", 29).has_value());
  EXPECT_REFUSED(f.verify(k.rsa1.sign(with(claims(), "exp", "tomorrow"))));
}

TEST(JwksIssuer, TenantAndUserClaimsAreRequiredStrings) {
  const Keys& k = Keys::get();
  Fixture f({k.rsa1.public_jwk()});
  EXPECT_REFUSED(f.verify(k.rsa1.sign(without(claims(), "tenant_id"))));
  EXPECT_REFUSED(f.verify(k.rsa1.sign(without(claims(), "sub"))));
  EXPECT_REFUSED(f.verify(k.rsa1.sign(with(claims(), "tenant_id", 42))));
  EXPECT_REFUSED(f.verify(k.rsa1.sign(with(claims(), "tenant_id", json::array{"acme"}))));
  EXPECT_REFUSED(f.verify(k.rsa1.sign(with(claims(), "tenant_id", ""))));
  EXPECT_REFUSED(f.verify(k.rsa1.sign(with(claims(), "sub", ""))));
  EXPECT_REFUSED(f.verify(k.rsa1.sign(with(claims(), "sub", nullptr))));
}

TEST(JwksIssuer, ClaimNamesAreConfigurable) {
  const Keys& k = Keys::get();
  TrustedIssuer config = trusted();
  config.user_claim = "preferred_username";
  config.tenant_claim = "org";
  Fixture f({k.ec1.public_jwk()}, config);
  json::object c = claims();
  c["preferred_username"] = "bob";
  c["org"] = "globex";
  auto subject = f.verify(k.ec1.sign(c));
  ASSERT_TRUE(subject.has_value()) << subject.error().detail;
  EXPECT_EQ(subject->tenant, "globex");
  EXPECT_EQ(subject->user, "bob");
  // sub and tenant_id mean nothing to this issuer.
  EXPECT_REFUSED(f.verify(k.ec1.sign(claims())));
  EXPECT_REFUSED(f.verify(k.ec1.sign(without(c, "org"))));
}

TEST(JwksIssuer, RoleClaimsAreIgnored) {
  const Keys& k = Keys::get();
  Fixture f({k.rsa1.public_jwk()});
  for (const char* role : {"operator", "admin"}) {
    auto subject = f.verify(k.rsa1.sign(with(claims(), "role", role)));
    ASSERT_TRUE(subject.has_value()) << subject.error().detail;
    EXPECT_EQ(subject->kind, TokenSubject::Kind::kUser);
    EXPECT_TRUE(subject->by_name);
  }
  // Shaped like Coffer's own operator token: no tenant, so no subject at all.
  json::object op{
      {"iss", kIss}, {"sub", "operator"}, {"role", "operator"}, {"exp", kNowSeconds + 300}};
  EXPECT_REFUSED(f.verify(k.rsa1.sign(op)));
}

TEST(JwksIssuer, TooLongTokensAreRefusedWithoutARefetch) {
  const Keys& k = Keys::get();
  Fixture f({k.rsa1.public_jwk()});
  EXPECT_REFUSED(f.verify(k.rsa2.sign(with(claims(), "padding", json::string(9000, 'x')))));
  EXPECT_EQ(f.source->unknown_kid_requests(), 0);
}

// ---- keys from the source -----------------------------------------------------------------------

TEST(JwksIssuer, UnknownKidAsksTheSourceOnceThenVerifiesWithTheNewerKeys) {
  const Keys& k = Keys::get();
  Fixture f({k.rsa1.public_jwk()});
  f.source->publish_on_refetch(key_set({k.rsa1.public_jwk(), k.rsa2.public_jwk()}));
  auto subject = f.verify(k.rsa2.sign(claims()));
  ASSERT_TRUE(subject.has_value()) << subject.error().detail;
  EXPECT_EQ(f.source->unknown_kid_requests(), 1);
  // The old key still works with the new set; no further requests.
  EXPECT_TRUE(f.verify(k.rsa1.sign(claims())).has_value());
  EXPECT_TRUE(f.verify(k.rsa2.sign(claims())).has_value());
  EXPECT_EQ(f.source->unknown_kid_requests(), 1);
}

TEST(JwksIssuer, UnknownKidWithoutNewerKeysIsRefused) {
  const Keys& k = Keys::get();
  Fixture f({k.rsa1.public_jwk()});
  EXPECT_REFUSED(f.verify(k.rsa2.sign(claims())));
  EXPECT_EQ(f.source->unknown_kid_requests(), 1);
}

TEST(JwksIssuer, NewKeysDoNotSaveABadToken) {
  const Keys& k = Keys::get();
  Fixture f({k.rsa1.public_jwk()});
  f.source->publish_on_refetch(key_set({k.rsa2.public_jwk()}));
  EXPECT_REFUSED(f.verify(k.rsa2.sign(with(claims(), "exp", kNowSeconds - 3600))));
  EXPECT_EQ(f.source->unknown_kid_requests(), 1);
  EXPECT_REFUSED(f.verify(k.rsa1.sign(claims())));  // rsa-1 was rotated out
}

TEST(JwksIssuer, NoKeysYetRefusesUntilTheSourceHasSome) {
  const Keys& k = Keys::get();
  Fixture f({});
  auto refused = f.verify(k.rsa1.sign(claims()));
  ASSERT_FALSE(refused.has_value());
  EXPECT_NE(refused.error().detail.find("no keys"), std::string::npos) << refused.error().detail;
  f.source->set(key_set({k.rsa1.public_jwk()}));
  EXPECT_TRUE(f.verify(k.rsa1.sign(claims())).has_value());
}

TEST(JwksIssuer, ConfigurationIsChecked) {
  auto source = std::make_shared<FakeSource>();
  const auto leeway = std::chrono::seconds(30);
  TrustedIssuer bad = trusted({"HS256"});
  EXPECT_FALSE(JwksIssuer::make(bad, leeway, source).has_value());
  EXPECT_FALSE(JwksIssuer::make(trusted({"RS384"}), leeway, source).has_value());
  EXPECT_FALSE(JwksIssuer::make(trusted({}), leeway, source).has_value());
  bad = trusted();
  bad.issuer.clear();
  EXPECT_FALSE(JwksIssuer::make(bad, leeway, source).has_value());
  bad = trusted();
  bad.user_claim.clear();
  EXPECT_FALSE(JwksIssuer::make(bad, leeway, source).has_value());
  EXPECT_FALSE(JwksIssuer::make(trusted(), std::chrono::seconds(-1), source).has_value());
  EXPECT_FALSE(JwksIssuer::make(trusted(), leeway, nullptr).has_value());
  EXPECT_TRUE(JwksIssuer::make(trusted(), leeway, source).has_value());
}

// ---- with a refreshing source -------------------------------------------------------------------

// A JWKS endpoint in memory that counts its fetches.
struct CountingIdp {
  std::mutex mu;
  std::string document;
  std::atomic<int> fetches{0};

  JwksFetch fetcher() {
    return [this](std::stop_token) -> Result<std::string> {
      ++fetches;
      std::lock_guard lock(mu);
      return document;
    };
  }
  void publish(const std::vector<json::object>& keys) {
    std::lock_guard lock(mu);
    document = jwks_text(keys);
  }
};

TEST(JwksIssuer, RotationAtTheIdpIsPickedUpByOneRefetch) {
  const Keys& k = Keys::get();
  CountingIdp idp;
  idp.publish({k.rsa1.public_jwk()});
  JwksRefreshPolicy policy;
  policy.refresh_interval = std::chrono::hours(1);
  policy.unknown_kid_interval = std::chrono::hours(1);
  auto source = std::make_shared<RefreshingJwksSource>(
      "test", idp.fetcher(), std::vector<JwsAlg>{JwsAlg::kRs256, JwsAlg::kEs256}, policy);
  auto issuer = JwksIssuer::make(trusted(), std::chrono::seconds(30), source);
  ASSERT_TRUE(issuer.has_value());
  EXPECT_EQ(idp.fetches, 1);
  EXPECT_TRUE((*issuer)->verify(k.rsa1.sign(claims()), kNow).has_value());

  idp.publish({k.rsa2.public_jwk(), k.ec1.public_jwk()});  // rsa-1 retired, two new keys
  auto subject = (*issuer)->verify(k.rsa2.sign(claims()), kNow);
  ASSERT_TRUE(subject.has_value()) << subject.error().detail;
  EXPECT_EQ(idp.fetches, 2);
  EXPECT_TRUE((*issuer)->verify(k.ec1.sign(claims()), kNow).has_value());
  EXPECT_REFUSED((*issuer)->verify(k.rsa1.sign(claims()), kNow));

  // Any number of unknown kids within the interval: no further fetch.
  IdpKey stranger = IdpKey::ec("stranger");
  for (int i = 0; i < 5; ++i) EXPECT_REFUSED((*issuer)->verify(stranger.sign(claims()), kNow));
  EXPECT_EQ(idp.fetches, 2);
}

// ---- through the token authority --------------------------------------------------------------

TEST(JwksIssuer, TokenAuthorityRoutesByIssuerAndNeverMakesAnExternalOperator) {
  const Keys& k = Keys::get();
  AuthConfig auth;
  auth.jwt_secret = std::string(32, 's');
  auth.issuer = "https://coffer.example";
  auto own_key = load_signing_key(auth, "/nonexistent");
  ASSERT_TRUE(own_key.has_value()) << own_key.error().detail;
  ManualClock clock(kNow);
  TokenAuthority authority(std::move(*own_key), auth, clock);
  Fixture f({k.rsa1.public_jwk()});
  authority.add_external_issuer(f.issuer);

  auto external =
      authority.authenticate("Bearer " + k.rsa1.sign(with(claims(), "role", "operator")));
  ASSERT_TRUE(external.has_value()) << external.error().detail;
  EXPECT_EQ(external->kind, TokenSubject::Kind::kUser);
  EXPECT_TRUE(external->by_name);
  EXPECT_EQ(external->tenant, "acme");

  json::object op{
      {"iss", kIss}, {"sub", "operator"}, {"role", "operator"}, {"exp", kNowSeconds + 300}};
  EXPECT_REFUSED(authority.authenticate("Bearer " + k.rsa1.sign(op)));
  // An external key cannot pass as Coffer's own either.
  EXPECT_REFUSED(
      authority.authenticate("Bearer " + k.rsa1.sign(with(op, "iss", "https://coffer.example"))));

  auto own = authority.issue_operator_token(std::chrono::seconds(60));
  ASSERT_TRUE(own.has_value());
  auto op_subject = authority.authenticate("Bearer " + *own);
  ASSERT_TRUE(op_subject.has_value()) << op_subject.error().detail;
  EXPECT_EQ(op_subject->kind, TokenSubject::Kind::kOperator);
}

}  // namespace
}  // namespace coffer::auth
