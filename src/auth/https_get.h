// A small synchronous HTTPS GET for fetching small documents (an issuer's JWKS). Deliberately
// strict: https only, the server's certificate chain and host name verified, no redirects, only
// 200 accepted, a capped body, and every step bounded in time. Beast and Asio stay inside
// https_get.cpp.
#pragma once

#include <chrono>
#include <cstddef>
#include <stop_token>
#include <string>
#include <string_view>

#include "core/error.h"

namespace coffer::auth {

struct HttpsGetOptions {
  // A PEM file of CA certificates trusted in addition to the system store; empty: none.
  std::string ca_file;
  // Whether the system's default CA store (SSL_CTX_set_default_verify_paths) is trusted.
  bool system_ca = true;
  // Name resolution and the TCP connection.
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(5)};
  // The whole exchange: connection, TLS handshake, request and the complete response.
  std::chrono::milliseconds timeout{std::chrono::seconds(10)};
  // A longer response body is refused (checked against Content-Length, and while reading).
  std::size_t max_body_bytes = 1024 * 1024;
};

// The body of a 200 answer to `GET url`, over TLS 1.2 or later, with SNI (for host names, not
// IP literals) and the certificate verified against the trusted CAs and the URL's host (DNS
// name, or IP address SAN for an IP literal). Refuses a URL that is not https:// with a host, or
// that carries user info or a fragment. Any other status is an error (a redirect is named and
// not followed). Name resolution is bounded by the system resolver's own timeouts; everything
// after it by `options`. A stop requested on `stop` ends the request at once.
// Errors are kInternal with the reason (URL, timeout, certificate, status, size) in `detail`.
Result<std::string> https_get(std::string_view url, const HttpsGetOptions& options,
                              std::stop_token stop = {});

// Checks, without any network access, what https_get would refuse before connecting: the URL,
// and that the CA file (when set) can be read and holds a certificate. For start-up checks.
// Errors are kBadRequest.
Result<void> check_https_get(std::string_view url, const HttpsGetOptions& options);

}  // namespace coffer::auth
