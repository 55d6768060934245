// Loading the JOSE test vectors copied under tests/testdata/jwt/ (see its README.md).
#pragma once

#include <boost/json/value.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "auth/jwk.h"

namespace coffer::auth::testing {

// COFFER_TESTDATA_DIR/jwt/<relative>.
std::string jwt_testdata_path(std::string_view relative);

// Parses a vector file; throws std::runtime_error when it is missing or not JSON (a test-setup
// failure, not a verdict).
boost::json::value load_json(std::string_view relative);

// As load_json, but a null value instead of an exception; for test-case generators that run
// before main (a missing file then shows up as a failing count test).
boost::json::value try_load_json(std::string_view relative);

// The regular files directly inside COFFER_TESTDATA_DIR/jwt/<relative>, sorted by name.
std::vector<std::string> list_files(std::string_view relative);

// Member `name` of an object as a string; throws when absent or not a string.
std::string str(const boost::json::value& object, std::string_view name);

// Parses a JWK that a test expects to be valid; throws with the reason otherwise.
Jwk jwk_or_throw(const boost::json::value& jwk);

// Base64url-decodes text that a test expects to be valid; throws otherwise.
std::string b64(std::string_view text);

// A GoogleTest parameter name: letters, digits and '_' only.
std::string test_name(std::string_view raw);

}  // namespace coffer::auth::testing
