// https_get against a real TLS server: python3's http.server behind ssl, on 127.0.0.1, with a
// throw-away CA and server certificates made by the openssl CLI when the suite starts.
#include "auth/https_get.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace coffer::auth {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr const char* kServerScript = R"PY(
import http.server, os, socket, ssl, sys, threading, time

JWKS = b'{"keys": []}'

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body, headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        p = self.path
        if p == "/jwks.json":
            self.reply(200, JWKS, [("Content-Type", "application/json")])
        elif p.startswith("/echo"):
            self.reply(200, (self.headers.get("Host", "") + " " + p).encode())
        elif p == "/exact":
            self.reply(200, b"y" * 4096)
        elif p == "/big":
            self.reply(200, b"x" * (2 << 20))
        elif p == "/big-chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            chunk = b"z" * 65536
            for _ in range(32):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.write(b"0\r\n\r\n")
        elif p == "/missing":
            self.reply(404, b"not here")
        elif p == "/redirect":
            self.reply(302, b"", [("Location", "https://elsewhere.example/jwks.json")])
        elif p == "/slow":
            time.sleep(5)
            self.reply(200, b"late")
        else:
            self.reply(500, b"?")


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # clients that hang up early are part of the tests


def tls_server(cert, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    server = Server(("127.0.0.1", 0), Handler)
    # The handshake runs in the request's thread, so a slow client blocks no one.
    server.socket = ctx.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server.server_address[1]


good = tls_server(sys.argv[1], sys.argv[2])
wrong = tls_server(sys.argv[3], sys.argv[4])
silent = socket.socket()
silent.bind(("127.0.0.1", 0))
silent.listen(16)  # connections complete in the kernel; nothing ever answers
print(good, wrong, silent.getsockname()[1], flush=True)
sys.stdin.read()  # until the test process goes away
os._exit(0)
)PY";

int run(const std::string& command) { return std::system((command + " >/dev/null 2>&1").c_str()); }

class HttpsGet : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = fs::temp_directory_path() / ("coffer-https-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    const std::string d = dir_.string();
    std::ofstream(dir_ / "server.py") << kServerScript;
    std::ofstream(dir_ / "good.ext") << "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
                                        "basicConstraints=CA:FALSE\n"
                                        "extendedKeyUsage=serverAuth\n";
    std::ofstream(dir_ / "wrong.ext") << "subjectAltName=DNS:wrong.example\n"
                                         "basicConstraints=CA:FALSE\n"
                                         "extendedKeyUsage=serverAuth\n";
    const std::string ec = " -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes";
    const std::string ca = "openssl req -x509" + ec + " -keyout " + d + "/ca.key -out " + d +
                           "/ca.pem -days 2 -subj '/CN=Coffer Test CA'" +
                           " -addext basicConstraints=critical,CA:TRUE" +
                           " -addext keyUsage=critical,keyCertSign,cRLSign";
    ASSERT_EQ(run(ca), 0) << ca;
    for (std::string name : {"good", "wrong"}) {
      const std::string csr = "openssl req" + ec + " -keyout " + d + "/" + name + ".key -out " + d +
                              "/" + name + ".csr -subj /CN=" + name;
      ASSERT_EQ(run(csr), 0) << csr;
      const std::string sign = "openssl x509 -req -in " + d + "/" + name + ".csr -CA " + d +
                               "/ca.pem -CAkey " + d + "/ca.key -CAcreateserial -days 2 -out " + d +
                               "/" + name + ".pem -extfile " + d + "/" + name + ".ext";
      ASSERT_EQ(run(sign), 0) << sign;
    }
    start_server();
  }

  static void start_server() {
    int out[2], in[2];
    ASSERT_EQ(::pipe(out), 0);
    ASSERT_EQ(::pipe(in), 0);
    const std::string d = dir_.string();
    server_pid_ = ::fork();
    ASSERT_GE(server_pid_, 0);
    if (server_pid_ == 0) {
      ::dup2(out[1], 1);
      ::dup2(in[0], 0);
      ::close(out[0]);
      ::close(in[1]);
      ::execl("/usr/bin/python3", "python3", (d + "/server.py").c_str(), (d + "/good.pem").c_str(),
              (d + "/good.key").c_str(), (d + "/wrong.pem").c_str(), (d + "/wrong.key").c_str(),
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(out[1]);
    ::close(in[0]);
    server_stdin_ = in[1];  // the server exits when this closes, whatever becomes of the test
    FILE* f = ::fdopen(out[0], "r");
    ASSERT_NE(f, nullptr);
    ASSERT_EQ(std::fscanf(f, "%d %d %d", &good_port_, &wrong_port_, &silent_port_), 3)
        << "the test server did not start";
    std::fclose(f);
  }

  static void TearDownTestSuite() {
    if (server_pid_ > 0) {
      ::kill(server_pid_, SIGTERM);
      ::waitpid(server_pid_, nullptr, 0);
    }
    if (server_stdin_ >= 0) ::close(server_stdin_);
    fs::remove_all(dir_);
  }

  static std::string url(std::string_view path, int port = good_port_,
                         std::string_view host = "127.0.0.1") {
    return "https://" + std::string(host) + ":" + std::to_string(port) + std::string(path);
  }

  static HttpsGetOptions with_ca() {
    HttpsGetOptions o;
    o.ca_file = (dir_ / "ca.pem").string();
    o.timeout = 5s;
    return o;
  }

  static std::string failure(const Result<std::string>& r) {
    if (r) return "accepted: " + r->substr(0, 100);
    EXPECT_EQ(r.error().code, ErrorCode::kInternal);
    return r.error().detail;
  }

  static inline fs::path dir_;
  static inline pid_t server_pid_ = -1;
  static inline int server_stdin_ = -1;
  static inline int good_port_ = 0;
  static inline int wrong_port_ = 0;
  static inline int silent_port_ = 0;
};

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

TEST_F(HttpsGet, FetchesWithTheCaFileByIpAndByName) {
  auto body = https_get(url("/jwks.json"), with_ca());
  ASSERT_TRUE(body.has_value()) << body.error().detail;
  EXPECT_EQ(*body, R"({"keys": []})");
  auto by_name = https_get(url("/echo?x=1", good_port_, "localhost"), with_ca());
  ASSERT_TRUE(by_name.has_value()) << by_name.error().detail;
  EXPECT_EQ(*by_name, "localhost:" + std::to_string(good_port_) + " /echo?x=1");
}

TEST_F(HttpsGet, BodyUpToTheLimitIsAccepted) {
  HttpsGetOptions o = with_ca();
  o.max_body_bytes = 4096;
  auto body = https_get(url("/exact"), o);
  ASSERT_TRUE(body.has_value()) << body.error().detail;
  EXPECT_EQ(body->size(), 4096u);
}

TEST_F(HttpsGet, UnknownCaIsRefused) {
  const std::string why = failure(https_get(url("/jwks.json"), HttpsGetOptions{}));
  EXPECT_TRUE(contains(why, "certificate")) << why;
  HttpsGetOptions no_store;
  no_store.system_ca = false;
  EXPECT_TRUE(contains(failure(https_get(url("/jwks.json"), no_store)), "certificate"));
}

TEST_F(HttpsGet, CertificateForAnotherHostIsRefused) {
  // Signed by the trusted CA, but for wrong.example only.
  const std::string why = failure(https_get(url("/jwks.json", wrong_port_), with_ca()));
  EXPECT_TRUE(contains(why, "certificate")) << why;
  EXPECT_TRUE(contains(why, "mismatch")) << why;
  EXPECT_FALSE(https_get(url("/jwks.json", wrong_port_, "localhost"), with_ca()).has_value());
}

TEST_F(HttpsGet, OversizedBodyIsRefused) {
  for (std::string_view path : {"/big", "/big-chunked"}) {
    const std::string why = failure(https_get(url(path), with_ca()));
    EXPECT_TRUE(contains(why, "larger than 1048576 bytes")) << path << ": " << why;
  }
}

TEST_F(HttpsGet, OnlyStatus200IsAccepted) {
  std::string why = failure(https_get(url("/missing"), with_ca()));
  EXPECT_TRUE(contains(why, "status 404")) << why;
  why = failure(https_get(url("/redirect"), with_ca()));
  EXPECT_TRUE(contains(why, "status 302")) << why;
  EXPECT_TRUE(contains(why, "not followed")) << why;
}

TEST_F(HttpsGet, SlowServerTimesOut) {
  HttpsGetOptions o = with_ca();
  o.timeout = 500ms;
  auto start = std::chrono::steady_clock::now();
  std::string why = failure(https_get(url("/slow"), o));
  EXPECT_TRUE(contains(why, "timed out")) << why;
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);

  // A server that never answers the TLS handshake.
  start = std::chrono::steady_clock::now();
  why = failure(https_get(url("/jwks.json", silent_port_), o));
  EXPECT_TRUE(contains(why, "timed out")) << why;
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
}

TEST_F(HttpsGet, StopEndsTheRequestAtOnce) {
  std::stop_source stop;
  std::thread stopper([&] {
    std::this_thread::sleep_for(200ms);
    stop.request_stop();
  });
  const auto start = std::chrono::steady_clock::now();
  const std::string why = failure(https_get(url("/slow"), with_ca(), stop.get_token()));
  stopper.join();
  EXPECT_TRUE(contains(why, "cancelled")) << why;
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);

  std::stop_source already;
  already.request_stop();
  EXPECT_FALSE(https_get(url("/jwks.json"), with_ca(), already.get_token()).has_value());
}

TEST_F(HttpsGet, ClosedPortIsAnError) {
  const std::string why = failure(https_get("https://127.0.0.1:1/jwks.json", with_ca()));
  EXPECT_TRUE(contains(why, "cannot connect")) << why;
}

TEST_F(HttpsGet, OnlyPlainHttpsUrlsAreFetched) {
  for (std::string_view bad :
       {"http://127.0.0.1/jwks.json", "https://", "https:///x", "ftp://h/x", "not a url",
        "https://user:pw@127.0.0.1/jwks.json", "https://127.0.0.1/jwks.json#frag",
        "https://127.0.0.1:0/jwks.json"}) {
    EXPECT_FALSE(https_get(bad, with_ca()).has_value()) << bad;
    EXPECT_FALSE(check_https_get(bad, with_ca())) << bad;
  }
  EXPECT_TRUE(check_https_get(url("/jwks.json"), with_ca()));
}

TEST_F(HttpsGet, CaFileMustHoldACertificate) {
  HttpsGetOptions o;
  o.ca_file = (dir_ / "none.pem").string();
  EXPECT_FALSE(check_https_get(url("/jwks.json"), o));
  EXPECT_FALSE(https_get(url("/jwks.json"), o).has_value());
  o.ca_file = (dir_ / "good.ext").string();  // a file, but no certificate in it
  EXPECT_FALSE(check_https_get(url("/jwks.json"), o));
}

}  // namespace
}  // namespace coffer::auth
