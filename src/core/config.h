// Coffer's configuration: immutable after start. Built from a TOML file and the environment
// (the environment wins) by load_config, which refuses unknown keys and bad values.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"

namespace coffer {

using Duration = std::chrono::milliseconds;

// An external identity provider whose tokens Coffer trusts (API.md "Authentication").
struct TrustedIssuer {
  std::string issuer;                   // the token's `iss`
  std::string jwks_file;                // a JWKS on disk, or
  std::string jwks_url;                 // an https URL to fetch it from
  std::vector<std::string> algorithms;  // RS256 and/or ES256
  std::string audience;                 // checked when not empty
  std::string user_claim = "sub";
  std::string tenant_claim = "tenant_id";
};

struct HttpConfig {
  std::string listen = "127.0.0.1:8080";
  std::string metrics_listen;  // empty: /metrics on the main listener
  std::string public_url;      // base of URLs Coffer hands out; empty: http://<listen>
  int io_threads = 0;          // 0: one per core
  int worker_threads = 32;     // blocking work: database writes, storage, password hashing
  std::uint64_t max_header_bytes = 16 * 1024;
  std::uint64_t max_json_bytes = 1024 * 1024;
  std::uint64_t max_upload_bytes = 5ULL << 40;
  Duration header_timeout{std::chrono::seconds(10)};
  Duration body_timeout{std::chrono::seconds(60)};
  Duration idle_timeout{std::chrono::seconds(60)};
  Duration shutdown_grace{std::chrono::seconds(30)};
  int max_connections = 20000;
  bool access_log = true;
  int tenant_rate_limit = 0;  // requests per second per tenant; 0 = unlimited
};

struct S3Config {
  std::string access_key_id;
  std::string secret_access_key;  // secret
  std::string session_token;      // secret
  std::string region = "us-east-1";
  std::string endpoint_url;       // empty: AWS (https://s3.<region>.amazonaws.com)
  bool path_style = false;
  std::string ca_file;            // extra CA bundle for https endpoints
  std::uint64_t part_size = 8 * 1024 * 1024;
  int parts_in_flight = 2;
  int max_connections = 64;
  Duration connect_timeout{std::chrono::seconds(5)};
  Duration request_timeout{std::chrono::seconds(30)};
  int max_attempts = 3;
};

struct AuthConfig {
  std::string jwt_secret;        // secret; empty: a key generated into the data dir
  std::string jwt_algorithm = "HS256";  // HS256, EdDSA or ES256
  std::string issuer;            // `iss` of Coffer's tokens, checked when set
  std::string audience;          // `aud` of Coffer's tokens, checked when set
  Duration leeway{std::chrono::seconds(30)};
  Duration token_ttl{std::chrono::hours(1)};
  int max_login_failures = 5;    // per tenant+username before 429
  Duration login_lockout{std::chrono::seconds(60)};
  Duration jwks_refresh{std::chrono::minutes(10)};
  std::string jwks_ca_file;      // extra CA bundle (PEM) for jwks_url fetches
  std::vector<TrustedIssuer> issuers;
};

struct TransferConfig {
  Duration presign_expiry{std::chrono::minutes(15)};
  std::uint64_t upload_part_size = 64ULL * 1024 * 1024;  // presigned multipart above this
  Duration upload_ttl{std::chrono::hours(24)};            // abandoned uploads are collected after
};

struct GcConfig {
  Duration interval{std::chrono::seconds(60)};
  Duration grace{std::chrono::minutes(5)};  // a deleted file's bytes stay this long for reads in flight
};

struct Config {
  std::string data_dir = "./var";
  std::string database_url;  // empty: sqlite in the data dir
  std::string storage_url;   // empty: a directory in the data dir
  std::string log_level = "info";
  std::string log_format = "text";
  int db_pool_size = 8;
  HttpConfig http;
  S3Config s3;
  AuthConfig auth;
  TransferConfig transfer;
  GcConfig gc;
};

// Reads `toml_text` (may be empty) and `env`; the environment wins. Any unknown key (in the file,
// or a COFFER_* variable), bad value or missing required value is an error whose message is one
// line naming the key. Values of secret settings never appear in messages.
Result<Config> load_config(const std::string& toml_text, const std::map<std::string, std::string>& env);

// The process environment as a map.
std::map<std::string, std::string> environment_map();

// "10s", "500ms", "5m", "2h", "7d" or a bare number of seconds.
std::optional<Duration> parse_duration(const std::string& text);
// "1048576", "512KiB", "1MiB", "5GiB", "5TiB".
std::optional<std::uint64_t> parse_byte_size(const std::string& text);

}  // namespace coffer
