// Project Wycheproof JOSE vectors, every case of every file, each with its expected result.
#include <gtest/gtest.h>

#include <map>

#include "auth/test_vectors.h"
#include "auth/wycheproof_harness.h"

namespace coffer::auth::testing {
namespace {

constexpr std::string_view kJwsFile = "json_web_signature_test.json";
constexpr std::string_view kJwkFile = "json_web_key_test.json";
constexpr std::string_view kCryptoFile = "json_web_crypto_test.json";
constexpr std::string_view kJweFile = "json_web_encryption_test.json";

// JWE (RFC 7516) is out of scope: Coffer accepts only signed (JWS) bearer tokens, so the JWE
// cases are counted (EnumeratesEveryCase) but not run.
std::vector<WycheproofCase> jws_cases(std::string_view file) {
  std::vector<WycheproofCase> out;
  for (auto& c : load_wycheproof(file)) {
    if (!c.is_jwe) out.push_back(std::move(c));
  }
  return out;
}

const WycheproofCase& case_by_id(std::string_view file, int tc_id) {
  static std::map<std::string, std::vector<WycheproofCase>, std::less<>> cache;
  auto it = cache.find(file);
  if (it == cache.end()) it = cache.emplace(std::string(file), load_wycheproof(file)).first;
  for (const WycheproofCase& c : it->second) {
    if (c.tc_id == tc_id) return c;
  }
  throw std::runtime_error("no tcId " + std::to_string(tc_id));
}

class WycheproofJose : public ::testing::TestWithParam<WycheproofCase> {};

TEST_P(WycheproofJose, GivesTheExpectedResult) {
  const WycheproofCase& c = GetParam();
  std::string expected = c.result;
  std::optional<std::string_view> key_alg_fix;
  if (const Erratum* e = find_erratum(c)) {
    RecordProperty("erratum", std::string(e->reason));
    if (e->kind == Erratum::Kind::kKeyAlg) {
      // The defect: with the key's own (wrong) alg the pin refuses the token, as it must.
      Outcome literal = run_wycheproof(c);
      EXPECT_FALSE(literal.accepted) << "key alg as written should not verify: " << e->reason;
      key_alg_fix = e->fix;
    } else if (c.tc_id == 367 || c.tc_id == 370) {
      EXPECT_EQ(c.jws, case_by_id(c.file, 357).jws) << e->reason;
      EXPECT_EQ(case_by_id(c.file, 357).result, "valid");
      expected = e->fix;
    } else {
      EXPECT_NE(std::string(c.jws.as_string()).find('?'), std::string::npos) << e->reason;
      expected = e->fix;
    }
  }

  const Outcome got = run_wycheproof(c, key_alg_fix);
  if (expected == "valid") {
    EXPECT_TRUE(got.accepted) << "refused: " << got.why;
  } else if (expected == "invalid") {
    EXPECT_FALSE(got.accepted) << "accepted an invalid case";
  } else {
    ASSERT_EQ(expected, "acceptable");
    RecordProperty("acceptable_verdict", got.accepted ? "accepted" : "refused");
  }
}

std::string case_name(const ::testing::TestParamInfo<WycheproofCase>& info) {
  return info.param.name();
}

INSTANTIATE_TEST_SUITE_P(Signature, WycheproofJose, ::testing::ValuesIn(load_wycheproof(kJwsFile)),
                         case_name);
INSTANTIATE_TEST_SUITE_P(Key, WycheproofJose, ::testing::ValuesIn(load_wycheproof(kJwkFile)),
                         case_name);
INSTANTIATE_TEST_SUITE_P(Crypto, WycheproofJose, ::testing::ValuesIn(jws_cases(kCryptoFile)),
                         case_name);

// Nothing is dropped: every file's declared numberOfTests is what the suites above enumerate.
TEST(WycheproofJoseCoverage, EnumeratesEveryCase) {
  struct Expectation {
    std::string_view file;
    std::size_t total;
    std::size_t jwe;
  };
  for (const Expectation& e : {Expectation{kJwsFile, 401, 0}, Expectation{kJwkFile, 26, 0},
                               Expectation{kCryptoFile, 83, 34}, Expectation{kJweFile, 139, 139}}) {
    SCOPED_TRACE(std::string(e.file));
    const std::vector<WycheproofCase> cases = load_wycheproof(e.file);
    const boost::json::value doc = load_json("wycheproof/testvectors_v1/" + std::string(e.file));
    EXPECT_EQ(cases.size(), static_cast<std::size_t>(doc.at("numberOfTests").as_int64()));
    EXPECT_EQ(cases.size(), e.total);
    std::size_t jwe = 0;
    for (const WycheproofCase& c : cases) jwe += c.is_jwe ? 1 : 0;
    EXPECT_EQ(jwe, e.jwe);
  }
  std::size_t errata_found = 0;
  for (const Erratum& erratum : wycheproof_errata()) {
    for (const WycheproofCase& c : load_wycheproof(erratum.file)) {
      if (c.tc_id == erratum.tc_id) ++errata_found;
    }
  }
  EXPECT_EQ(errata_found, wycheproof_errata().size());
}

}  // namespace
}  // namespace coffer::auth::testing
