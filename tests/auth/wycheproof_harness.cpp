#include "auth/wycheproof_harness.h"

#include <boost/json/serialize.hpp>

#include "auth/jwk.h"
#include "auth/jws.h"
#include "auth/key_set.h"
#include "auth/test_vectors.h"

namespace coffer::auth::testing {

namespace json = boost::json;

std::string WycheproofCase::name() const {
  std::string prefix = file.substr(0, file.find("_test.json"));
  return test_name(prefix + "_tc" + std::to_string(tc_id) + "_" + comment);
}

void PrintTo(const WycheproofCase& c, std::ostream* os) {
  *os << c.file << " tcId " << c.tc_id << " (" << c.group_comment << "/" << c.comment
      << ", expected " << c.result << ")";
}

std::vector<WycheproofCase> load_wycheproof(std::string_view file) {
  std::vector<WycheproofCase> cases;
  json::value doc = try_load_json("wycheproof/testvectors_v1/" + std::string(file));
  if (!doc.is_object()) return cases;
  for (const json::value& group : doc.at("testGroups").as_array()) {
    const json::object& g = group.as_object();
    json::value key = g.contains("public") ? g.at("public") : g.at("private");
    for (const json::value& test : g.at("tests").as_array()) {
      const json::object& t = test.as_object();
      WycheproofCase c;
      c.file = std::string(file);
      c.group_comment = std::string(g.at("comment").as_string());
      c.tc_id = static_cast<int>(t.at("tcId").as_int64());
      c.comment = std::string(t.at("comment").as_string());
      c.result = std::string(t.at("result").as_string());
      for (const json::value& f : t.at("flags").as_array()) c.flags.emplace_back(f.as_string());
      c.key = key;
      if (const json::value* jws = t.if_contains("jws")) {
        c.jws = *jws;
      } else {
        c.is_jwe = true;
      }
      cases.push_back(std::move(c));
    }
  }
  return cases;
}

const std::vector<Erratum>& wycheproof_errata() {
  static const std::vector<Erratum> errata = {
      {"json_web_signature_test.json", 346, Erratum::Kind::kKeyAlg, "PS384",
       "RFC 7520 Figure 20 is signed with PS384 (its header says so), but the key says PS256"},
      {"json_web_signature_test.json", 350, Erratum::Kind::kKeyAlg, "PS384",
       "RFC 7520 Figure 20 is signed with PS384 (its header says so), but the key says PS256"},
      {"json_web_signature_test.json", 347, Erratum::Kind::kKeyAlg, "ES512",
       "the key says ES521, which is no JWS algorithm; RFC 7520 Figure 27 uses ES512"},
      {"json_web_signature_test.json", 351, Erratum::Kind::kKeyAlg, "ES512",
       "the key says ES521, which is no JWS algorithm; RFC 7520 Figure 27 uses ES512"},
      {"json_web_signature_test.json", 367, Erratum::Kind::kLabel, "valid",
       "labelled invalid (padding) but byte-identical to tcId 357, which is valid: no '=' in it"},
      {"json_web_signature_test.json", 370, Erratum::Kind::kLabel, "valid",
       "labelled invalid (padding) but byte-identical to tcId 357, which is valid: no '=' in it"},
      {"json_web_signature_test.json", 372, Erratum::Kind::kLabel, "invalid",
       "labelled valid but its header segment holds '?', which strict base64url (RFC 7515 §2) "
       "refuses"},
      {"json_web_signature_test.json", 373, Erratum::Kind::kLabel, "invalid",
       "labelled valid but its payload segment holds '?', which strict base64url (RFC 7515 §2) "
       "refuses"},
  };
  return errata;
}

const Erratum* find_erratum(const WycheproofCase& c) {
  for (const Erratum& e : wycheproof_errata()) {
    if (e.file == c.file && e.tc_id == c.tc_id) return &e;
  }
  return nullptr;
}

Outcome run_wycheproof(const WycheproofCase& c, std::optional<std::string_view> key_alg_override) {
  json::value key = c.key;
  if (key_alg_override) key.as_object()["alg"] = *key_alg_override;
  json::value jwks = key;
  if (!key.as_object().contains("keys")) jwks = json::object{{"keys", json::array{key}}};

  Result<JwkSet> set = JwkSet::from_json(jwks);
  if (!set) return {false, "JWKS refused: " + set.error().detail};
  std::vector<std::string> skipped;
  Result<KeySet> keys = KeySet::from_jwks(*set, kAllJwsAlgs, &skipped);
  if (!keys) {
    std::string why = "key set refused: " + keys.error().detail;
    for (const std::string& s : skipped) why += "; " + s;
    return {false, why};
  }
  // A JSON-serialized JWS is handed over as its text: Coffer reads compact serialization only.
  const std::string token =
      c.jws.is_string() ? std::string(c.jws.get_string()) : json::serialize(c.jws);
  Result<VerifiedJws> verified = verify_compact(token, *keys);
  if (!verified) return {false, verified.error().detail};
  return {true, ""};
}

}  // namespace coffer::auth::testing
