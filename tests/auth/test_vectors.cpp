#include "auth/test_vectors.h"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "core/encoding.h"

namespace coffer::auth::testing {

namespace json = boost::json;

std::string jwt_testdata_path(std::string_view relative) {
  std::string path = COFFER_TESTDATA_DIR;
  path += "/jwt/";
  path += relative;
  return path;
}

json::value load_json(std::string_view relative) {
  const std::string path = jwt_testdata_path(relative);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open test vector file " + path);
  std::ostringstream text;
  text << in.rdbuf();
  json::error_code ec;
  json::value v = json::parse(text.str(), ec);
  if (ec) throw std::runtime_error("test vector file " + path + " is not JSON: " + ec.message());
  return v;
}

json::value try_load_json(std::string_view relative) {
  try {
    return load_json(relative);
  } catch (const std::exception&) {
    return nullptr;
  }
}

std::vector<std::string> list_files(std::string_view relative) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(jwt_testdata_path(relative), ec)) {
    if (entry.is_regular_file()) names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string str(const json::value& object, std::string_view name) {
  const json::value* v = object.as_object().if_contains(name);
  if (v == nullptr || !v->is_string()) {
    throw std::runtime_error("test vector member " + std::string(name) + " is not a string");
  }
  return std::string(v->get_string());
}

Jwk jwk_or_throw(const json::value& jwk) {
  Result<Jwk> key = Jwk::from_json(jwk.as_object());
  if (!key) throw std::runtime_error("test vector key refused: " + key.error().detail);
  return std::move(*key);
}

std::string b64(std::string_view text) {
  std::optional<std::string> octets = base64url_decode(text);
  if (!octets) throw std::runtime_error("test vector is not base64url: " + std::string(text));
  return std::move(*octets);
}

std::string test_name(std::string_view raw) {
  std::string name;
  for (char c : raw) {
    name += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  }
  return name;
}

}  // namespace coffer::auth::testing
