#include "storage/s3/s3_endpoint.h"

#include <algorithm>
#include <charconv>

#include "storage/s3/sigv4.h"

namespace coffer::s3 {
namespace {

Error bad_endpoint(std::string_view url, std::string_view why) {
  return Error::Internal("s3: bad endpoint URL '" + std::string(url) + "': " + std::string(why));
}

bool is_ipv4(std::string_view s) {
  int parts = 0;
  while (!s.empty()) {
    auto dot = s.find('.');
    std::string_view part = s.substr(0, dot);
    int value = -1;
    auto [ptr, ec] = std::from_chars(part.data(), part.data() + part.size(), value);
    if (part.empty() || part.size() > 3 || ec != std::errc() || ptr != part.data() + part.size() ||
        value > 255) {
      return false;
    }
    ++parts;
    if (dot == std::string_view::npos) break;
    s.remove_prefix(dot + 1);
    if (s.empty()) return false;
  }
  return parts == 4;
}

bool ends_with_ci(std::string_view s, std::string_view suffix) {
  if (s.size() < suffix.size()) return false;
  return std::equal(suffix.begin(), suffix.end(), s.end() - static_cast<long>(suffix.size()),
                    [](char a, char b) { return std::tolower(a) == std::tolower(b); });
}

}  // namespace

std::string S3Endpoint::authority() const {
  std::string out;
  if (host.find(':') != std::string::npos) {
    out.append("[").append(host).append("]");
  } else {
    out = host;
  }
  if (port != (https ? 443 : 80)) out.append(":").append(std::to_string(port));
  return out;
}

bool S3Endpoint::host_is_ip() const { return host.find(':') != std::string::npos || is_ipv4(host); }

Result<S3Endpoint> parse_endpoint_url(std::string_view url) {
  S3Endpoint ep;
  std::string_view rest;
  if (url.starts_with("https://")) {
    ep.https = true;
    ep.port = 443;
    rest = url.substr(8);
  } else if (url.starts_with("http://")) {
    ep.https = false;
    ep.port = 80;
    rest = url.substr(7);
  } else {
    return bad_endpoint(url, "the scheme must be http or https");
  }
  auto slash = rest.find('/');
  if (slash != std::string_view::npos) {
    if (rest.substr(slash) != "/") return bad_endpoint(url, "a path is not allowed");
    rest = rest.substr(0, slash);
  }
  if (rest.find_first_of("?#@ ") != std::string_view::npos) {
    return bad_endpoint(url, "query, fragment, user info and spaces are not allowed");
  }
  std::string_view host = rest;
  std::string_view port;
  if (rest.starts_with("[")) {
    auto close = rest.find(']');
    if (close == std::string_view::npos) return bad_endpoint(url, "unclosed IPv6 literal");
    host = rest.substr(1, close - 1);
    std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad_endpoint(url, "junk after the IPv6 literal");
      port = after.substr(1);
    }
  } else if (auto colon = rest.rfind(':'); colon != std::string_view::npos) {
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }
  if (host.empty()) return bad_endpoint(url, "no host");
  if (!port.empty()) {
    unsigned value = 0;
    auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || ptr != port.data() + port.size() || value == 0 || value > 65535) {
      return bad_endpoint(url, "bad port");
    }
    ep.port = static_cast<std::uint16_t>(value);
  } else if (rest.ends_with(":")) {
    return bad_endpoint(url, "empty port");
  }
  ep.host.assign(host);
  std::transform(ep.host.begin(), ep.host.end(), ep.host.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ep;
}

Result<S3Endpoint> service_endpoint(const S3Config& config) {
  if (!config.endpoint_url.empty()) return parse_endpoint_url(config.endpoint_url);
  if (config.region.empty()) return Error::Internal("s3: no region and no endpoint URL");
  for (char c : config.region) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-')) {
      return Error::Internal("s3: bad region '" + config.region + "'");
    }
  }
  S3Endpoint ep;
  ep.https = true;
  ep.port = 443;
  ep.host = "s3." + config.region + ".amazonaws.com";
  return ep;
}

bool is_dns_compatible_bucket(std::string_view bucket) {
  if (bucket.size() < 3 || bucket.size() > 63) return false;
  for (char c : bucket) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-')) return false;
  }
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(bucket.front()) || !alnum(bucket.back())) return false;
  if (bucket.find("..") != std::string_view::npos || bucket.find(".-") != std::string_view::npos ||
      bucket.find("-.") != std::string_view::npos) {
    return false;
  }
  return !is_ipv4(bucket);
}

Result<BucketAddress> address_bucket(const S3Endpoint& endpoint, std::string_view bucket,
                                     bool path_style) {
  if (bucket.empty() || bucket.size() > 255) return Error::Internal("s3: bad bucket name");
  for (char c : bucket) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')) {
      return Error::Internal("s3: bad bucket name '" + std::string(bucket) + "'");
    }
  }
  BucketAddress a;
  a.https = endpoint.https;
  a.port = endpoint.port;
  const bool virtual_ok = !path_style && is_dns_compatible_bucket(bucket) &&
                          !endpoint.host_is_ip() &&
                          !(endpoint.https && bucket.find('.') != std::string_view::npos);
  if (virtual_ok) {
    a.virtual_hosted = true;
    S3Endpoint vhost = endpoint;
    vhost.host = std::string(bucket) + "." + endpoint.host;
    a.host = vhost.authority();
    a.tls_name = vhost.host;
    a.connect_host = ends_with_ci(vhost.host, ".localhost") ? endpoint.host : vhost.host;
    a.path_prefix = "";
  } else {
    a.virtual_hosted = false;
    a.host = endpoint.authority();
    a.tls_name = endpoint.host;
    a.connect_host = endpoint.host;
    a.path_prefix.reserve(bucket.size() + 1);
    a.path_prefix.push_back('/');
    a.path_prefix.append(bucket.data(), bucket.size());
  }
  return a;
}

std::string BucketAddress::object_path(std::string_view key) const {
  return path_prefix + "/" + uri_encode(key, false);
}

std::string BucketAddress::bucket_path() const { return path_prefix.empty() ? "/" : path_prefix; }

std::string BucketAddress::url(std::string_view path, std::string_view query) const {
  std::string out = (https ? "https://" : "http://") + host;
  out += path;
  if (!query.empty()) {
    out += '?';
    out += query;
  }
  return out;
}

}  // namespace coffer::s3
