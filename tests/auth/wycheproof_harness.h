// Runs Wycheproof JOSE vectors (json_web_signature / json_web_key / json_web_crypto) against
// Coffer's JWS verification: the group's key (public when given, else private; a JWK or a JWK
// Set) becomes a KeySet through KeySet::from_jwks with every JWS algorithm allowed, and the
// case's compact JWS goes through verify_compact(token, KeySet).
#pragma once

#include <boost/json/value.hpp>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace coffer::auth::testing {

struct WycheproofCase {
  std::string file;  // e.g. "json_web_signature_test.json"
  std::string group_comment;
  int tc_id = 0;
  std::string comment;
  std::string result;  // "valid", "invalid" or "acceptable"
  std::vector<std::string> flags;
  boost::json::value key;  // public if the group has one, else private
  boost::json::value jws;  // compact string, or an object (JSON serialization); null for JWE
  bool is_jwe = false;

  std::string name() const;
};

void PrintTo(const WycheproofCase& c, std::ostream* os);

// Every test of wycheproof/testvectors_v1/<file>, in file order; empty when the file cannot be
// read (the count tests then fail).
std::vector<WycheproofCase> load_wycheproof(std::string_view file);

// A known defect of a vector, corrected by the harness. Each one is asserted, not assumed: the
// test checks the defect is really there before applying the correction.
struct Erratum {
  enum class Kind {
    kKeyAlg,  // the group key's "alg" is wrong; `fix` is the algorithm RFC 7520 uses
    kLabel,   // the expected result is wrong; `fix` is the corrected result
  };
  std::string_view file;
  int tc_id;
  Kind kind;
  std::string_view fix;
  std::string_view reason;
};
const std::vector<Erratum>& wycheproof_errata();
const Erratum* find_erratum(const WycheproofCase& c);

struct Outcome {
  bool accepted = false;
  std::string why;  // the refusal reason, for failure messages
};

// Verifies the case's JWS with its group key, optionally with the key's "alg" replaced.
Outcome run_wycheproof(const WycheproofCase& c,
                       std::optional<std::string_view> key_alg_override = std::nullopt);

}  // namespace coffer::auth::testing
