#include "core/config.h"

#include <gtest/gtest.h>

namespace coffer {
namespace {

using Env = std::map<std::string, std::string>;

TEST(Config, DefaultsAreTheEmbeddedDefault) {
  auto c = load_config("", {});
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->http.listen, "127.0.0.1:8080");
  EXPECT_EQ(c->data_dir, "./var");
  EXPECT_EQ(c->http.max_json_bytes, 1024u * 1024u);
  EXPECT_EQ(c->http.max_upload_bytes, 5ULL << 40);
  EXPECT_EQ(c->log_format, "text");
}

TEST(Config, FileValuesApplyAndTheEnvironmentWins) {
  auto c = load_config(
      "data_dir = \"/srv/coffer\"\n[http]\nlisten = \"0.0.0.0:9000\"\nmax_json_bytes = \"2MiB\"\n"
      "header_timeout = \"5s\"\n",
      Env{{"COFFER_LISTEN", "127.0.0.1:7000"}});
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->data_dir, "/srv/coffer");
  EXPECT_EQ(c->http.listen, "127.0.0.1:7000");
  EXPECT_EQ(c->http.max_json_bytes, 2u * 1024u * 1024u);
  EXPECT_EQ(c->http.header_timeout, std::chrono::seconds(5));
}

TEST(Config, UnknownFileKeyIsNamed) {
  auto c = load_config("[http]\nlisten_port = 80\n", {});
  ASSERT_FALSE(c.has_value());
  EXPECT_NE(c.error().message.find("http.listen_port"), std::string::npos) << c.error().message;
}

TEST(Config, UnknownCofferVariableIsNamed) {
  auto c = load_config("", Env{{"COFFER_LISTN", "x"}});
  ASSERT_FALSE(c.has_value());
  EXPECT_NE(c.error().message.find("COFFER_LISTN"), std::string::npos);
}

TEST(Config, BadValuesAreRefusedWithTheirKey) {
  auto c = load_config("", Env{{"COFFER_MAX_JSON_BYTES", "lots"}});
  ASSERT_FALSE(c.has_value());
  EXPECT_NE(c.error().message.find("COFFER_MAX_JSON_BYTES"), std::string::npos);
  auto t = load_config("[http]\nmax_connections = \"many\"\n", {});
  ASSERT_FALSE(t.has_value());
  EXPECT_NE(t.error().message.find("http.max_connections"), std::string::npos);
  EXPECT_FALSE(load_config("", Env{{"COFFER_LOG_FORMAT", "xml"}}).has_value());
  EXPECT_FALSE(load_config("", Env{{"COFFER_LISTEN", "nohost"}}).has_value());
  EXPECT_FALSE(load_config("not toml = = =", {}).has_value());
}

TEST(Config, SecretValuesNeverAppearInMessages) {
  auto c = load_config("", Env{{"COFFER_JWT_SECRET", "short-secret-value"}});
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().message.find("short-secret-value"), std::string::npos);
  EXPECT_NE(c.error().message.find("COFFER_JWT_SECRET"), std::string::npos);
}

TEST(Config, S3StorageNeedsCredentials) {
  auto c = load_config("", Env{{"COFFER_STORAGE_URL", "s3://bucket"}});
  ASSERT_FALSE(c.has_value());
  EXPECT_NE(c.error().message.find("AWS_ACCESS_KEY_ID"), std::string::npos);
}

TEST(Config, AwsFallbackVariables) {
  auto c = load_config("", Env{{"AWS_DEFAULT_REGION", "eu-west-1"},
                               {"AWS_ENDPOINT_URL", "http://127.0.0.1:7480"}});
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->s3.region, "eu-west-1");
  EXPECT_EQ(c->s3.endpoint_url, "http://127.0.0.1:7480");
}

TEST(Config, TrustedIssuersFromTomlArray) {
  auto c = load_config(
      "[[auth.issuers]]\nissuer = \"https://idp.example\"\njwks_file = \"/etc/jwks.json\"\n"
      "algorithms = [\"RS256\"]\nuser_claim = \"uid\"\n",
      {});
  ASSERT_TRUE(c.has_value()) << c.error().message;
  ASSERT_EQ(c->auth.issuers.size(), 1u);
  EXPECT_EQ(c->auth.issuers[0].user_claim, "uid");
  EXPECT_EQ(c->auth.issuers[0].algorithms, std::vector<std::string>{"RS256"});
}

TEST(Config, JwksCaFileFromFileAndEnvironment) {
  EXPECT_EQ(load_config("", {})->auth.jwks_ca_file, "");
  auto c = load_config("[auth]\njwks_ca_file = \"/etc/coffer/idp-ca.pem\"\n", {});
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->auth.jwks_ca_file, "/etc/coffer/idp-ca.pem");
  auto e = load_config("[auth]\njwks_ca_file = \"/a.pem\"\n",
                       Env{{"COFFER_JWKS_CA_FILE", "/b.pem"}});
  ASSERT_TRUE(e.has_value()) << e.error().message;
  EXPECT_EQ(e->auth.jwks_ca_file, "/b.pem");
  EXPECT_FALSE(load_config("[auth]\njwks_ca_file = 3\n", {}).has_value());
}

TEST(Durations, ParseUnits) {
  EXPECT_EQ(parse_duration("500ms"), Duration(500));
  EXPECT_EQ(parse_duration("10s"), Duration(10000));
  EXPECT_EQ(parse_duration("5m"), Duration(300000));
  EXPECT_EQ(parse_duration("2h"), Duration(7200000));
  EXPECT_EQ(parse_duration("7"), Duration(7000));
  EXPECT_FALSE(parse_duration("abc").has_value());
  EXPECT_EQ(parse_byte_size("1MiB"), 1048576u);
  EXPECT_EQ(parse_byte_size("5TiB"), 5ULL << 40);
  EXPECT_FALSE(parse_byte_size("1MB").has_value());
}

}  // namespace
}  // namespace coffer
