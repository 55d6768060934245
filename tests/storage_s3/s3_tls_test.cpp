// https endpoints: the client verifies the certificate chain (system store plus ca_file) and the
// host name, and sends SNI. The server is the test RGW behind a TLS proxy (tls_proxy.py) whose
// certificate, for "localhost" only, is issued by a CA made for the test.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/crypto.h"
#include "core/encoding.h"
#include "s3_test_env.h"

namespace coffer::storage::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// A CA, a server certificate for DNS:localhost and DNS:test-bucket.localhost, and the proxy
// serving it in front of the test RGW. Stops the proxy (by its pid) and removes the files when
// destroyed.
class TlsServer {
 public:
  TlsServer() {
    dir_ = fs::temp_directory_path() / ("coffer-tls-" + hex_encode(random_bytes(6)));
    fs::create_directories(dir_);
    const std::string d = shell_quote(dir_.string());
    std::ofstream(dir_ / "ext.cnf")
        << "subjectAltName=DNS:localhost,DNS:" << s3_test_env().bucket << ".localhost\n";
    auto r =
        run_command("cd " + d +
                    " && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
                    " -keyout ca.key -out ca.pem -days 2 -subj /CN=coffer-test-ca 2>&1"
                    " && openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
                    " -keyout server.key -out server.csr -subj /CN=localhost 2>&1"
                    " && openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial"
                    " -out server.pem -days 2 -extfile ext.cnf 2>&1");
    if (r.status != 0) throw std::runtime_error("openssl failed: " + r.out);

    const std::string& endpoint = s3_test_env().endpoint;
    const std::string rgw_port = endpoint.substr(endpoint.rfind(':') + 1);
    const std::string script = (fs::path(__FILE__).parent_path() / "tls_proxy.py").string();
    int out[2];
    if (::pipe(out) != 0) throw std::runtime_error("pipe failed");
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(out[1], STDOUT_FILENO);
      ::close(out[0]);
      ::close(out[1]);
      const std::string cert = (dir_ / "server.pem").string();
      const std::string key = (dir_ / "server.key").string();
      const std::string log = (dir_ / "sni.log").string();
      ::execl("/usr/bin/python3", "python3", script.c_str(), cert.c_str(), key.c_str(),
              rgw_port.c_str(), log.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(out[1]);
    std::string line;
    char c;
    while (::read(out[0], &c, 1) == 1 && c != '\n') line += c;
    ::close(out[0]);
    if (line.empty()) throw std::runtime_error("tls_proxy.py did not start");
    port_ = line;
  }

  ~TlsServer() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::string ca_file() const { return (dir_ / "ca.pem").string(); }
  std::string url(const std::string& host) const { return "https://" + host + ":" + port_; }
  std::string sni_log() const {
    std::ifstream in(dir_ / "sni.log");
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

 private:
  fs::path dir_;
  pid_t pid_ = -1;
  std::string port_;
};

TlsServer& tls_server() {
  static TlsServer server;  // one per test process, stopped at exit
  return server;
}

S3Config tls_config(const std::string& host, bool with_ca) {
  S3Config c = s3_test_config();
  c.endpoint_url = tls_server().url(host);
  if (with_ca) c.ca_file = tls_server().ca_file();
  return c;
}

// The whole contract over TLS too.
INSTANTIATE_TEST_SUITE_P(
    S3Tls, ObjectStoreContract,
    ::testing::Values(ContractBackendFactory{
        "rgw_https", [] { return std::make_unique<S3Backend>(tls_config("localhost", true)); }}),
    ContractBackendName);

TEST(S3Tls, VerifiedConnectionCarriesRequestsAndSendsSni) {
  S3Backend backend(tls_config("localhost", true));
  ObjectStore& store = backend.store();
  StringSource source("over tls");
  ASSERT_TRUE(store.put("t/tls", source, PutOptions{}).has_value());
  auto reader = store.get("t/tls", std::nullopt);
  ASSERT_TRUE(reader.has_value());
  EXPECT_EQ(read_all(**reader).value(), "over tls");
  EXPECT_NE(tls_server().sni_log().find("localhost\n"), std::string::npos);

  PresignRequest request;
  request.key = "t/tls";
  request.now = std::chrono::system_clock::now();
  auto url = store.presign(request);
  ASSERT_TRUE(url.has_value());
  EXPECT_TRUE(url->url.starts_with("https://localhost:")) << url->url;
  auto curl = run_command("curl -sS --cacert " + shell_quote(tls_server().ca_file()) + " " +
                          shell_quote(url->url));
  EXPECT_EQ(curl.out, "over tls");
}

TEST(S3Tls, VirtualHostedNamesTheBucketInSniAndCertificateCheck) {
  S3Config config = tls_config("localhost", true);
  config.path_style = false;
  S3Backend backend(config);
  EXPECT_TRUE(backend.s3_store().client().address().virtual_hosted);
  StringSource source("vhost");
  ASSERT_TRUE(backend.store().put("t/v", source, PutOptions{}).has_value());
  EXPECT_NE(tls_server().sni_log().find(s3_test_env().bucket + ".localhost\n"), std::string::npos)
      << tls_server().sni_log();
}

TEST(S3Tls, UnknownCertificateAuthorityIsRefusedAtOnce) {
  S3ObjectStore store(tls_config("localhost", false), {s3_test_env().bucket, fresh_key_prefix()});
  auto check = store.check();
  ASSERT_FALSE(check.has_value());
  EXPECT_EQ(check.error().code, ErrorCode::kInternal) << check.error().detail;
  EXPECT_NE(check.error().detail.find("certificate"), std::string::npos) << check.error().detail;
  EXPECT_EQ(store.client().stats().retries, 0u) << "retrying cannot fix a certificate";
}

TEST(S3Tls, CertificateForAnotherNameIsRefused) {
  // The certificate names localhost, not 127.0.0.1.
  S3ObjectStore store(tls_config("127.0.0.1", true), {s3_test_env().bucket, fresh_key_prefix()});
  auto check = store.check();
  ASSERT_FALSE(check.has_value());
  EXPECT_EQ(check.error().code, ErrorCode::kInternal) << check.error().detail;
  EXPECT_NE(check.error().detail.find("certificate"), std::string::npos) << check.error().detail;
}

TEST(S3Tls, UnreadableCaFileIsAStartUpFailure) {
  S3Config config = tls_config("localhost", false);
  config.ca_file = "/nonexistent/ca.pem";
  EXPECT_THROW(S3ObjectStore(config, {s3_test_env().bucket, ""}), std::runtime_error);
}

}  // namespace
}  // namespace coffer::storage::testing
