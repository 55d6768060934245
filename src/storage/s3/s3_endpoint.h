// Where S3 requests go: the service endpoint (AWS_ENDPOINT_URL_S3 or the AWS default for the
// region) and how a bucket is addressed on it (path-style or virtual-hosted). Pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/config.h"
#include "core/error.h"

namespace coffer::s3 {

struct S3Endpoint {
  bool https = true;
  std::string host;  // lower-case; an IPv6 literal without brackets
  std::uint16_t port = 443;

  // host[:port] as a Host header writes it: the port only when not the scheme's default, an IPv6
  // literal in brackets.
  std::string authority() const;
  bool host_is_ip() const;
};

// "http://127.0.0.1:7480", "https://s3.example.com", "https://[::1]:8443/". Only a scheme, a host
// and an optional port: a path other than "/", a query, a fragment or user info is an error.
Result<S3Endpoint> parse_endpoint_url(std::string_view url);

// The endpoint of `config`: endpoint_url when set, else AWS's regional endpoint
// https://s3.<region>.amazonaws.com.
Result<S3Endpoint> service_endpoint(const S3Config& config);

// How requests for one bucket are addressed.
//
// Virtual-hosted style puts the bucket in the host name (<bucket>.<endpoint host>); it falls back
// to path style, as the AWS SDKs do, when the bucket is not a DNS label sequence, when the
// endpoint host is an IP address, and on https when the bucket holds a dot (a wildcard
// certificate covers one label only). Host names under ".localhost" (RFC 6761: always loopback,
// but glibc does not resolve them) are connected to at the endpoint's own host, which is what
// Ceph RGW with `rgw dns name = localhost` expects.
struct BucketAddress {
  bool https = true;
  bool virtual_hosted = false;
  std::string connect_host;  // the name to resolve and connect to
  std::uint16_t port = 443;
  std::string host;         // Host header value (host[:port]); also the TLS name without port
  std::string tls_name;     // SNI and certificate name
  std::string path_prefix;  // "/<bucket>" for path style, "" for virtual-hosted

  // "/<prefix>/<key, URI-encoded with '/' kept>": the wire path of an object.
  std::string object_path(std::string_view key) const;
  // The wire path of the bucket itself: "/<bucket>" or "/".
  std::string bucket_path() const;
  // scheme://host<path>[?query]
  std::string url(std::string_view path, std::string_view query) const;
};

// Errors on a bucket name S3 cannot have (empty, '/', over 255 bytes, characters other than
// [A-Za-z0-9._-]).
Result<BucketAddress> address_bucket(const S3Endpoint& endpoint, std::string_view bucket,
                                     bool path_style);

// True for names that can be a DNS host label sequence: 3-63 characters of [a-z0-9.-], starting
// and ending with a letter or digit, no "..", not an IPv4 address.
bool is_dns_compatible_bucket(std::string_view bucket);

}  // namespace coffer::s3
