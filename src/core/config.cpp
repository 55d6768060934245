#include "core/config.h"

#include <boost/json.hpp>
#include <toml++/toml.h>

#include <charconv>
#include <functional>
#include <set>
#include <sstream>

extern char** environ;

namespace coffer {
namespace {

enum class Kind { kString, kBool, kInt, kSize, kDuration, kIssuers };

// One configuration setting: its file key, its environment variable, and how to store it.
struct Setting {
  std::string key;
  std::string env;
  Kind kind;
  bool secret;
  // Parses `text` into the config; returns an error description (no value in it) or "".
  std::function<std::string(Config&, const std::string& text)> apply;
};

template <class T>
std::optional<T> parse_int(const std::string& s) {
  T v{};
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

auto str(std::string Config::*m) {
  return [m](Config& c, const std::string& v) { c.*m = v; return std::string(); };
}
template <class S>
auto str_in(S Config::*sub, std::string S::*m) {
  return [sub, m](Config& c, const std::string& v) { (c.*sub).*m = v; return std::string(); };
}
template <class S>
auto one_of(S Config::*sub, std::string S::*m, std::vector<std::string> allowed) {
  return [sub, m, allowed](Config& c, const std::string& v) {
    for (const auto& a : allowed) {
      if (v == a) {
        (c.*sub).*m = v;
        return std::string();
      }
    }
    std::string list;
    for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
    return "must be one of " + list;
  };
}
auto top_one_of(std::string Config::*m, std::vector<std::string> allowed) {
  return [m, allowed](Config& c, const std::string& v) {
    for (const auto& a : allowed) {
      if (v == a) {
        c.*m = v;
        return std::string();
      }
    }
    std::string list;
    for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
    return "must be one of " + list;
  };
}
template <class S>
auto boolean(S Config::*sub, bool S::*m) {
  return [sub, m](Config& c, const std::string& v) {
    if (v == "true" || v == "1") {
      (c.*sub).*m = true;
    } else if (v == "false" || v == "0") {
      (c.*sub).*m = false;
    } else {
      return std::string("must be true or false");
    }
    return std::string();
  };
}
template <class S>
auto integer(S Config::*sub, int S::*m, int min, int max) {
  return [sub, m, min, max](Config& c, const std::string& v) {
    auto n = parse_int<int>(v);
    if (!n || *n < min || *n > max) {
      return "must be an integer from " + std::to_string(min) + " to " + std::to_string(max);
    }
    (c.*sub).*m = *n;
    return std::string();
  };
}
auto top_integer(int Config::*m, int min, int max) {
  return [m, min, max](Config& c, const std::string& v) {
    auto n = parse_int<int>(v);
    if (!n || *n < min || *n > max) {
      return "must be an integer from " + std::to_string(min) + " to " + std::to_string(max);
    }
    c.*m = *n;
    return std::string();
  };
}
template <class S>
auto bytes(S Config::*sub, std::uint64_t S::*m, std::uint64_t min) {
  return [sub, m, min](Config& c, const std::string& v) {
    auto n = parse_byte_size(v);
    if (!n || *n < min) {
      return "must be a size of at least " + std::to_string(min) + " bytes (e.g. 1048576 or 1MiB)";
    }
    (c.*sub).*m = *n;
    return std::string();
  };
}
template <class S>
auto duration(S Config::*sub, Duration S::*m, bool allow_zero = false) {
  return [sub, m, allow_zero](Config& c, const std::string& v) {
    auto d = parse_duration(v);
    if (!d || d->count() < 0 || (d->count() == 0 && !allow_zero)) {
      return std::string(allow_zero ? "must be a duration (e.g. 0s, 30s, 5m, 1h)"
                                    : "must be a positive duration (e.g. 30s, 5m, 1h)");
    }
    (c.*sub).*m = *d;
    return std::string();
  };
}

std::string listen_address(const std::string& v) {
  auto colon = v.rfind(':');
  if (colon == std::string::npos || colon == 0) return "must be host:port";
  auto port = parse_int<int>(v.substr(colon + 1));
  if (!port || *port < 0 || *port > 65535) return "must be host:port with a port from 0 to 65535";
  return "";
}

std::string parse_issuers(Config& c, const std::string& text) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(text, ec);
  if (ec || !v.is_array()) return "must be an array of tables (or a JSON array in the environment)";
  std::vector<TrustedIssuer> out;
  for (const auto& item : v.as_array()) {
    if (!item.is_object()) return "each issuer must be a table";
    TrustedIssuer t;
    for (const auto& [k, val] : item.as_object()) {
      auto get_string = [&](std::string& dst) {
        if (!val.is_string()) return false;
        dst = std::string(val.as_string());
        return true;
      };
      bool ok = true;
      if (k == "issuer") ok = get_string(t.issuer);
      else if (k == "jwks_file") ok = get_string(t.jwks_file);
      else if (k == "jwks_url") ok = get_string(t.jwks_url);
      else if (k == "audience") ok = get_string(t.audience);
      else if (k == "user_claim") ok = get_string(t.user_claim);
      else if (k == "tenant_claim") ok = get_string(t.tenant_claim);
      else if (k == "algorithms") {
        ok = val.is_array();
        if (ok) {
          for (const auto& a : val.as_array()) {
            if (!a.is_string() || (a.as_string() != "RS256" && a.as_string() != "ES256")) {
              return std::string("issuer algorithms must be RS256 and/or ES256");
            }
            t.algorithms.emplace_back(a.as_string());
          }
        }
      } else {
        return "unknown issuer key '" + std::string(k) + "'";
      }
      if (!ok) return "issuer key '" + std::string(k) + "' has the wrong type";
    }
    if (t.issuer.empty()) return "each issuer needs 'issuer'";
    if (t.jwks_file.empty() == t.jwks_url.empty()) {
      return "each issuer needs exactly one of 'jwks_file' and 'jwks_url'";
    }
    if (!t.jwks_url.empty() && t.jwks_url.rfind("https://", 0) != 0) {
      return "'jwks_url' must be an https URL";
    }
    if (t.algorithms.empty()) t.algorithms = {"RS256", "ES256"};
    out.push_back(std::move(t));
  }
  c.auth.issuers = std::move(out);
  return "";
}

const std::vector<Setting>& settings() {
  static const std::vector<Setting> table = {
      {"data_dir", "COFFER_DATA_DIR", Kind::kString, false, str(&Config::data_dir)},
      {"database_url", "COFFER_DATABASE_URL", Kind::kString, true,
       [](Config& c, const std::string& v) {
         if (v.rfind("sqlite:", 0) != 0 && v.rfind("postgresql://", 0) != 0 &&
             v.rfind("postgres://", 0) != 0) {
           return std::string("must start with sqlite: or postgresql://");
         }
         c.database_url = v;
         return std::string();
       }},
      {"storage_url", "COFFER_STORAGE_URL", Kind::kString, false,
       [](Config& c, const std::string& v) {
         if (v.rfind("file:", 0) != 0 && v.rfind("s3://", 0) != 0) {
           return std::string("must be file:///abs/dir, file:rel/dir or s3://bucket[/prefix]");
         }
         c.storage_url = v;
         return std::string();
       }},
      {"log_level", "COFFER_LOG_LEVEL", Kind::kString, false,
       top_one_of(&Config::log_level, {"trace", "debug", "info", "warn", "error", "off"})},
      {"log_format", "COFFER_LOG_FORMAT", Kind::kString, false,
       top_one_of(&Config::log_format, {"text", "json"})},
      {"db_pool_size", "COFFER_DB_POOL_SIZE", Kind::kInt, false,
       top_integer(&Config::db_pool_size, 1, 256)},

      {"http.listen", "COFFER_LISTEN", Kind::kString, false,
       [](Config& c, const std::string& v) {
         auto e = listen_address(v);
         if (e.empty()) c.http.listen = v;
         return e;
       }},
      {"http.metrics_listen", "COFFER_METRICS_LISTEN", Kind::kString, false,
       [](Config& c, const std::string& v) {
         auto e = v.empty() ? std::string() : listen_address(v);
         if (e.empty()) c.http.metrics_listen = v;
         return e;
       }},
      {"http.public_url", "COFFER_PUBLIC_URL", Kind::kString, false,
       [](Config& c, const std::string& v) {
         if (v.rfind("http://", 0) != 0 && v.rfind("https://", 0) != 0) {
           return std::string("must be an http:// or https:// URL");
         }
         c.http.public_url = v;
         while (!c.http.public_url.empty() && c.http.public_url.back() == '/') {
           c.http.public_url.pop_back();
         }
         return std::string();
       }},
      {"http.io_threads", "COFFER_IO_THREADS", Kind::kInt, false,
       integer(&Config::http, &HttpConfig::io_threads, 0, 256)},
      {"http.worker_threads", "COFFER_WORKER_THREADS", Kind::kInt, false,
       integer(&Config::http, &HttpConfig::worker_threads, 1, 4096)},
      {"http.max_header_bytes", "COFFER_MAX_HEADER_BYTES", Kind::kSize, false,
       bytes(&Config::http, &HttpConfig::max_header_bytes, 1024)},
      {"http.max_json_bytes", "COFFER_MAX_JSON_BYTES", Kind::kSize, false,
       bytes(&Config::http, &HttpConfig::max_json_bytes, 64)},
      {"http.max_upload_bytes", "COFFER_MAX_UPLOAD_BYTES", Kind::kSize, false,
       bytes(&Config::http, &HttpConfig::max_upload_bytes, 0)},
      {"http.header_timeout", "COFFER_HEADER_TIMEOUT", Kind::kDuration, false,
       duration(&Config::http, &HttpConfig::header_timeout)},
      {"http.body_timeout", "COFFER_BODY_TIMEOUT", Kind::kDuration, false,
       duration(&Config::http, &HttpConfig::body_timeout)},
      {"http.idle_timeout", "COFFER_IDLE_TIMEOUT", Kind::kDuration, false,
       duration(&Config::http, &HttpConfig::idle_timeout)},
      {"http.shutdown_grace", "COFFER_SHUTDOWN_GRACE", Kind::kDuration, false,
       duration(&Config::http, &HttpConfig::shutdown_grace)},
      {"http.max_connections", "COFFER_MAX_CONNECTIONS", Kind::kInt, false,
       integer(&Config::http, &HttpConfig::max_connections, 1, 1000000)},
      {"http.access_log", "COFFER_ACCESS_LOG", Kind::kBool, false,
       boolean(&Config::http, &HttpConfig::access_log)},
      {"http.tenant_rate_limit", "COFFER_TENANT_RATE_LIMIT", Kind::kInt, false,
       integer(&Config::http, &HttpConfig::tenant_rate_limit, 0, 10000000)},

      {"s3.access_key_id", "AWS_ACCESS_KEY_ID", Kind::kString, false,
       str_in(&Config::s3, &S3Config::access_key_id)},
      {"s3.secret_access_key", "AWS_SECRET_ACCESS_KEY", Kind::kString, true,
       str_in(&Config::s3, &S3Config::secret_access_key)},
      {"s3.session_token", "AWS_SESSION_TOKEN", Kind::kString, true,
       str_in(&Config::s3, &S3Config::session_token)},
      {"s3.region", "AWS_REGION", Kind::kString, false, str_in(&Config::s3, &S3Config::region)},
      {"s3.endpoint_url", "AWS_ENDPOINT_URL_S3", Kind::kString, false,
       [](Config& c, const std::string& v) {
         if (v.rfind("http://", 0) != 0 && v.rfind("https://", 0) != 0) {
           return std::string("must be an http:// or https:// URL");
         }
         c.s3.endpoint_url = v;
         return std::string();
       }},
      {"s3.path_style", "COFFER_S3_PATH_STYLE", Kind::kBool, false,
       boolean(&Config::s3, &S3Config::path_style)},
      {"s3.ca_file", "COFFER_S3_CA_FILE", Kind::kString, false, str_in(&Config::s3, &S3Config::ca_file)},
      {"s3.part_size", "COFFER_S3_PART_SIZE", Kind::kSize, false,
       bytes(&Config::s3, &S3Config::part_size, 5 * 1024 * 1024)},
      {"s3.parts_in_flight", "COFFER_S3_PARTS_IN_FLIGHT", Kind::kInt, false,
       integer(&Config::s3, &S3Config::parts_in_flight, 1, 64)},
      {"s3.max_connections", "COFFER_S3_MAX_CONNECTIONS", Kind::kInt, false,
       integer(&Config::s3, &S3Config::max_connections, 1, 4096)},
      {"s3.connect_timeout", "COFFER_S3_CONNECT_TIMEOUT", Kind::kDuration, false,
       duration(&Config::s3, &S3Config::connect_timeout)},
      {"s3.request_timeout", "COFFER_S3_REQUEST_TIMEOUT", Kind::kDuration, false,
       duration(&Config::s3, &S3Config::request_timeout)},
      {"s3.max_attempts", "COFFER_S3_MAX_ATTEMPTS", Kind::kInt, false,
       integer(&Config::s3, &S3Config::max_attempts, 1, 20)},

      {"auth.jwt_secret", "COFFER_JWT_SECRET", Kind::kString, true,
       [](Config& c, const std::string& v) {
         if (v.size() < 32) return std::string("must be at least 32 bytes long");
         c.auth.jwt_secret = v;
         return std::string();
       }},
      {"auth.jwt_algorithm", "COFFER_JWT_ALGORITHM", Kind::kString, false,
       one_of(&Config::auth, &AuthConfig::jwt_algorithm, {"HS256", "EdDSA", "ES256"})},
      {"auth.issuer", "COFFER_JWT_ISSUER", Kind::kString, false,
       str_in(&Config::auth, &AuthConfig::issuer)},
      {"auth.audience", "COFFER_JWT_AUDIENCE", Kind::kString, false,
       str_in(&Config::auth, &AuthConfig::audience)},
      {"auth.leeway", "COFFER_JWT_LEEWAY", Kind::kDuration, false,
       duration(&Config::auth, &AuthConfig::leeway, /*allow_zero=*/true)},
      {"auth.token_ttl", "COFFER_TOKEN_TTL", Kind::kDuration, false,
       duration(&Config::auth, &AuthConfig::token_ttl)},
      {"auth.max_login_failures", "COFFER_LOGIN_MAX_FAILURES", Kind::kInt, false,
       integer(&Config::auth, &AuthConfig::max_login_failures, 1, 1000000)},
      {"auth.login_lockout", "COFFER_LOGIN_LOCKOUT", Kind::kDuration, false,
       duration(&Config::auth, &AuthConfig::login_lockout)},
      {"auth.jwks_refresh", "COFFER_JWKS_REFRESH", Kind::kDuration, false,
       duration(&Config::auth, &AuthConfig::jwks_refresh)},
      {"auth.jwks_ca_file", "COFFER_JWKS_CA_FILE", Kind::kString, false,
       str_in(&Config::auth, &AuthConfig::jwks_ca_file)},
      {"auth.issuers", "COFFER_AUTH_ISSUERS", Kind::kIssuers, false, parse_issuers},

      {"transfer.presign_expiry", "COFFER_PRESIGN_EXPIRY", Kind::kDuration, false,
       duration(&Config::transfer, &TransferConfig::presign_expiry)},
      {"transfer.upload_part_size", "COFFER_UPLOAD_PART_SIZE", Kind::kSize, false,
       bytes(&Config::transfer, &TransferConfig::upload_part_size, 5 * 1024 * 1024)},
      {"transfer.upload_ttl", "COFFER_UPLOAD_TTL", Kind::kDuration, false,
       duration(&Config::transfer, &TransferConfig::upload_ttl)},

      {"gc.interval", "COFFER_GC_INTERVAL", Kind::kDuration, false,
       duration(&Config::gc, &GcConfig::interval)},
      {"gc.grace", "COFFER_GC_GRACE", Kind::kDuration, false,
       duration(&Config::gc, &GcConfig::grace, /*allow_zero=*/true)},
  };
  return table;
}

// Environment variables read as fallbacks, the way the AWS tools read them.
const std::map<std::string, std::string>& env_aliases() {
  static const std::map<std::string, std::string> aliases = {
      {"AWS_DEFAULT_REGION", "AWS_REGION"},
      {"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"},
  };
  return aliases;
}

// A TOML value as the text its setting parses; nullopt when its type does not fit the kind.
std::optional<std::string> toml_text(const toml::node& node, Kind kind) {
  switch (kind) {
    case Kind::kString:
      if (auto s = node.value<std::string>(); s && node.is_string()) return *s;
      return std::nullopt;
    case Kind::kBool:
      if (node.is_boolean()) return *node.value<bool>() ? "true" : "false";
      return std::nullopt;
    case Kind::kInt:
      if (node.is_integer()) return std::to_string(*node.value<std::int64_t>());
      return std::nullopt;
    case Kind::kSize:
    case Kind::kDuration:
      if (node.is_integer()) return std::to_string(*node.value<std::int64_t>());
      if (node.is_string()) return *node.value<std::string>();
      return std::nullopt;
    case Kind::kIssuers: {
      if (!node.is_array()) return std::nullopt;
      std::ostringstream out;
      out << toml::json_formatter{*node.as_array()};
      return out.str();
    }
  }
  return std::nullopt;
}

const char* kind_name(Kind kind) {
  switch (kind) {
    case Kind::kString: return "a string";
    case Kind::kBool: return "a boolean";
    case Kind::kInt: return "an integer";
    case Kind::kSize: return "a size (integer bytes or a string like \"1MiB\")";
    case Kind::kDuration: return "a duration (integer seconds or a string like \"30s\")";
    case Kind::kIssuers: return "an array of tables";
  }
  return "?";
}

Error config_error(const std::string& message) {
  return Error{ErrorCode::kBadRequest, "configuration: " + message, {}};
}

// Flattens a TOML table into dotted keys; arrays of tables (issuers) stay whole.
void flatten(const toml::table& table, const std::string& prefix,
             std::vector<std::pair<std::string, const toml::node*>>& out) {
  for (const auto& [k, v] : table) {
    std::string key = prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
    if (v.is_table()) {
      flatten(*v.as_table(), key, out);
    } else {
      out.emplace_back(key, &v);
    }
  }
}

}  // namespace

Result<Config> load_config(const std::string& toml_text_in,
                           const std::map<std::string, std::string>& env) {
  Config config;
  const auto& table = settings();
  std::map<std::string, const Setting*> by_key, by_env;
  for (const auto& s : table) {
    by_key[s.key] = &s;
    by_env[s.env] = &s;
  }

  if (!toml_text_in.empty()) {
    toml::table parsed;
    try {
      parsed = toml::parse(toml_text_in);
    } catch (const toml::parse_error& err) {
      return config_error("the file is not valid TOML at line " +
                          std::to_string(err.source().begin.line) + ": " +
                          std::string(err.description()));
    }
    std::vector<std::pair<std::string, const toml::node*>> entries;
    flatten(parsed, "", entries);
    for (const auto& [key, node] : entries) {
      auto it = by_key.find(key);
      if (it == by_key.end()) return config_error("unknown key '" + key + "'");
      const Setting& s = *it->second;
      if (env.count(s.env)) continue;  // the environment wins
      auto text = toml_text(*node, s.kind);
      if (!text) return config_error("key '" + key + "' must be " + kind_name(s.kind));
      if (auto e = s.apply(config, *text); !e.empty()) {
        return config_error("key '" + key + "' " + e);
      }
    }
  }

  for (const auto& [name, value] : env) {
    const Setting* s = nullptr;
    if (auto it = by_env.find(name); it != by_env.end()) {
      s = it->second;
    } else if (auto alias = env_aliases().find(name); alias != env_aliases().end()) {
      if (env.count(alias->second)) continue;  // the primary variable wins
      s = by_env.at(alias->second);
    } else if (name.rfind("COFFER_", 0) == 0) {
      return config_error("unknown environment variable " + name);
    } else {
      continue;
    }
    if (auto e = s->apply(config, value); !e.empty()) {
      return config_error("environment variable " + name + " " + e);
    }
  }

  if (config.s3.secret_access_key.empty() != config.s3.access_key_id.empty() &&
      config.storage_url.rfind("s3://", 0) == 0) {
    return config_error(
        "s3 credentials are incomplete: set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
  }
  if (config.storage_url.rfind("s3://", 0) == 0 && config.s3.access_key_id.empty()) {
    return config_error("key 's3.access_key_id' (AWS_ACCESS_KEY_ID) is required with an s3:// storage_url");
  }
  return config;
}

std::map<std::string, std::string> environment_map() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv(*e);
    auto eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    env.emplace(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
  }
  return env;
}

std::optional<Duration> parse_duration(const std::string& text) {
  struct Unit {
    const char* suffix;
    std::int64_t ms;
  };
  static const Unit units[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000}};
  for (const auto& u : units) {
    std::string_view sv(text);
    std::string_view suf(u.suffix);
    if (sv.size() > suf.size() && sv.substr(sv.size() - suf.size()) == suf) {
      auto n = parse_int<std::int64_t>(std::string(sv.substr(0, sv.size() - suf.size())));
      if (!n || *n < 0 || *n > (INT64_MAX / u.ms)) continue;
      return Duration(*n * u.ms);
    }
  }
  auto n = parse_int<std::int64_t>(text);
  if (!n || *n < 0 || *n > INT64_MAX / 1000) return std::nullopt;
  return Duration(*n * 1000);
}

std::optional<std::uint64_t> parse_byte_size(const std::string& text) {
  struct Unit {
    const char* suffix;
    int shift;
  };
  static const Unit units[] = {{"KiB", 10}, {"MiB", 20}, {"GiB", 30}, {"TiB", 40}, {"B", 0}};
  for (const auto& u : units) {
    std::string_view sv(text);
    std::string_view suf(u.suffix);
    if (sv.size() > suf.size() && sv.substr(sv.size() - suf.size()) == suf) {
      auto n = parse_int<std::uint64_t>(std::string(sv.substr(0, sv.size() - suf.size())));
      if (!n || *n > (UINT64_MAX >> u.shift)) return std::nullopt;
      return *n << u.shift;
    }
  }
  return parse_int<std::uint64_t>(text);
}

}  // namespace coffer
