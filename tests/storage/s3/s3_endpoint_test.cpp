// Endpoints and bucket addressing: path-style and virtual-hosted URLs, AWS defaults, fallbacks.
#include "storage/s3/s3_endpoint.h"

#include <gtest/gtest.h>

namespace coffer::s3 {
namespace {

TEST(S3Endpoint, ParsesSchemeHostAndPort) {
  struct Case {
    const char* url;
    bool https;
    const char* host;
    std::uint16_t port;
    const char* authority;
  };
  for (Case c : {Case{"http://127.0.0.1:7480", false, "127.0.0.1", 7480, "127.0.0.1:7480"},
                 Case{"http://127.0.0.1:7480/", false, "127.0.0.1", 7480, "127.0.0.1:7480"},
                 Case{"https://S3.Example.COM", true, "s3.example.com", 443, "s3.example.com"},
                 Case{"https://s3.example.com:443", true, "s3.example.com", 443, "s3.example.com"},
                 Case{"http://minio:80", false, "minio", 80, "minio"},
                 Case{"https://minio:9000", true, "minio", 9000, "minio:9000"},
                 Case{"https://[::1]:8443/", true, "::1", 8443, "[::1]:8443"},
                 Case{"http://[::1]", false, "::1", 80, "[::1]"}}) {
    auto ep = parse_endpoint_url(c.url);
    ASSERT_TRUE(ep.has_value()) << c.url;
    EXPECT_EQ(ep->https, c.https) << c.url;
    EXPECT_EQ(ep->host, c.host) << c.url;
    EXPECT_EQ(ep->port, c.port) << c.url;
    EXPECT_EQ(ep->authority(), c.authority) << c.url;
  }
}

TEST(S3Endpoint, RefusesAnythingButSchemeHostPort) {
  for (const char* url : {"", "127.0.0.1:7480", "ftp://host", "http://", "http://:80",
                          "http://host:", "http://host:0", "http://host:65536", "http://host:8x",
                          "http://host/path", "http://host/?q", "http://host?q", "http://host#f",
                          "http://user@host", "http://[::1", "http://[::1]x", "http://ho st"}) {
    EXPECT_FALSE(parse_endpoint_url(url).has_value()) << url;
  }
}

TEST(S3Endpoint, AwsDefaultForTheRegion) {
  S3Config config;
  config.region = "eu-west-3";
  auto ep = service_endpoint(config);
  ASSERT_TRUE(ep.has_value());
  EXPECT_TRUE(ep->https);
  EXPECT_EQ(ep->host, "s3.eu-west-3.amazonaws.com");
  EXPECT_EQ(ep->port, 443);
  config.endpoint_url = "http://127.0.0.1:17480";
  EXPECT_EQ(service_endpoint(config)->host, "127.0.0.1");
  config.endpoint_url.clear();
  config.region = "bad/region";
  EXPECT_FALSE(service_endpoint(config).has_value());
}

TEST(S3Addressing, PathStyleOnAnIpEndpoint) {
  auto a = address_bucket(*parse_endpoint_url("http://127.0.0.1:17480"), "test-bucket", true);
  ASSERT_TRUE(a.has_value());
  EXPECT_FALSE(a->virtual_hosted);
  EXPECT_EQ(a->host, "127.0.0.1:17480");
  EXPECT_EQ(a->connect_host, "127.0.0.1");
  EXPECT_EQ(a->port, 17480);
  EXPECT_EQ(a->object_path("t1/file id"), "/test-bucket/t1/file%20id");
  EXPECT_EQ(a->bucket_path(), "/test-bucket");
  EXPECT_EQ(a->url(a->object_path("a+b"), "x=1"), "http://127.0.0.1:17480/test-bucket/a%2Bb?x=1");
}

TEST(S3Addressing, VirtualHostedOnAws) {
  auto a =
      address_bucket(*parse_endpoint_url("https://s3.us-east-1.amazonaws.com"), "my-bucket", false);
  ASSERT_TRUE(a.has_value());
  EXPECT_TRUE(a->virtual_hosted);
  EXPECT_EQ(a->host, "my-bucket.s3.us-east-1.amazonaws.com");
  EXPECT_EQ(a->tls_name, "my-bucket.s3.us-east-1.amazonaws.com");
  EXPECT_EQ(a->connect_host, "my-bucket.s3.us-east-1.amazonaws.com");
  EXPECT_EQ(a->port, 443);
  EXPECT_EQ(a->object_path("t/k"), "/t/k");
  EXPECT_EQ(a->bucket_path(), "/");
  EXPECT_EQ(a->url("/t/k", ""), "https://my-bucket.s3.us-east-1.amazonaws.com/t/k");
}

TEST(S3Addressing, PathStyleOnAws) {
  auto a =
      address_bucket(*parse_endpoint_url("https://s3.us-east-1.amazonaws.com"), "my-bucket", true);
  ASSERT_TRUE(a.has_value());
  EXPECT_FALSE(a->virtual_hosted);
  EXPECT_EQ(a->host, "s3.us-east-1.amazonaws.com");
  EXPECT_EQ(a->url(a->object_path("k"), ""), "https://s3.us-east-1.amazonaws.com/my-bucket/k");
}

TEST(S3Addressing, LocalhostSubdomainsConnectToTheEndpointHost) {
  // Ceph RGW with `rgw dns name = localhost`: Host names the bucket, the socket goes to localhost.
  auto a = address_bucket(*parse_endpoint_url("http://localhost:17480"), "test-bucket", false);
  ASSERT_TRUE(a.has_value());
  EXPECT_TRUE(a->virtual_hosted);
  EXPECT_EQ(a->host, "test-bucket.localhost:17480");
  EXPECT_EQ(a->connect_host, "localhost");
  EXPECT_EQ(a->url(a->object_path("k"), ""), "http://test-bucket.localhost:17480/k");
}

TEST(S3Addressing, FallsBackToPathStyleWhereVirtualHostsCannotWork) {
  const S3Endpoint aws = *parse_endpoint_url("https://s3.us-east-1.amazonaws.com");
  // Not a DNS name.
  EXPECT_FALSE(address_bucket(aws, "My_Bucket", false)->virtual_hosted);
  // A dot breaks the wildcard certificate on https, not on http.
  EXPECT_FALSE(address_bucket(aws, "my.bucket", false)->virtual_hosted);
  EXPECT_TRUE(
      address_bucket(*parse_endpoint_url("http://s3.local"), "my.bucket", false)->virtual_hosted);
  // An IP endpoint has no subdomains.
  EXPECT_FALSE(
      address_bucket(*parse_endpoint_url("http://10.0.0.1:9000"), "bucket", false)->virtual_hosted);
  EXPECT_FALSE(
      address_bucket(*parse_endpoint_url("http://[::1]:9000"), "bucket", false)->virtual_hosted);
}

TEST(S3Addressing, RefusesImpossibleBucketNames) {
  const S3Endpoint ep = *parse_endpoint_url("http://127.0.0.1:1");
  for (const char* bucket : {"", "a/b", "a b", "a?b", "a%2Fb"}) {
    EXPECT_FALSE(address_bucket(ep, bucket, true).has_value()) << bucket;
  }
  EXPECT_FALSE(address_bucket(ep, std::string(256, 'a'), true).has_value());
}

TEST(S3Addressing, DnsCompatibleBuckets) {
  for (const char* ok : {"abc", "my-bucket", "a.b.c", "0abc9",
                         "a23456789012345678901234567890123456789012345678901234567890123"}) {
    EXPECT_TRUE(is_dns_compatible_bucket(ok)) << ok;
  }
  for (const char* bad : {"ab", "-abc", "abc-", "a..b", "a.-b", "a-.b", "ABC", "a_b", "192.168.1.1",
                          "a234567890123456789012345678901234567890123456789012345678901234"}) {
    EXPECT_FALSE(is_dns_compatible_bucket(bad)) << bad;
  }
}

}  // namespace
}  // namespace coffer::s3
