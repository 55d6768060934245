#include "auth/https_get.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>

namespace coffer::auth {
namespace {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
namespace http = boost::beast::http;
using boost::system::error_code;
using tcp = asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;

constexpr std::uint32_t kHeaderLimit = 16 * 1024;

Error failure(std::string detail) { return Error::Internal("https: " + std::move(detail)); }

struct Target {
  std::string host;  // DNS name or IP literal (no brackets), as certificates name it
  bool ip_literal = false;
  std::uint16_t port = 443;
  std::string host_header;  // host[:port] as the URL wrote it
  std::string path;         // origin-form request target
  std::string shown;        // scheme://host:port/path, for messages (no query: it may hold secrets)
};

Result<Target> parse_target(std::string_view url) {
  auto parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed) return failure("not an absolute URL");
  const boost::urls::url_view& u = *parsed;
  if (u.scheme_id() != boost::urls::scheme::https) return failure("only https URLs are fetched");
  if (u.has_userinfo()) return failure("URL with user info refused");
  if (u.has_fragment()) return failure("URL with a fragment refused");
  Target t;
  switch (u.host_type()) {
    case boost::urls::host_type::name:
      t.host = u.host_address();
      break;
    case boost::urls::host_type::ipv4:
    case boost::urls::host_type::ipv6:
      t.host = u.host_address();
      t.ip_literal = true;
      break;
    default:
      return failure("URL has no usable host");
  }
  if (t.host.empty()) return failure("URL has no host");
  if (u.has_port()) {
    if (u.port().empty() || u.port_number() == 0) return failure("URL has a bad port");
    t.port = u.port_number();
  }
  t.host_header = std::string(u.encoded_host_and_port());
  t.path = std::string(u.encoded_target());
  if (t.path.empty() || t.path.front() != '/') t.path = "/" + t.path;
  t.shown = "https://" + t.host_header + std::string(u.encoded_path());
  return t;
}

std::string openssl_errors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}

// The TLS client context: TLS 1.2+, peer verification, the configured trust anchors.
Result<std::unique_ptr<ssl::context>> make_context(const HttpsGetOptions& options) {
  auto ctx = std::make_unique<ssl::context>(ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  ctx->set_verify_mode(ssl::verify_peer);
  if (options.system_ca && SSL_CTX_set_default_verify_paths(ctx->native_handle()) != 1) {
    return failure("cannot load the system CA store: " + openssl_errors());
  }
  if (!options.ca_file.empty()) {
    ERR_clear_error();
    if (SSL_CTX_load_verify_locations(ctx->native_handle(), options.ca_file.c_str(), nullptr) !=
        1) {
      return failure("cannot load CA file " + options.ca_file + ": " + openssl_errors());
    }
  }
  return ctx;
}

// One request on a private io_context. Each step starts one asynchronous operation and runs the
// context until it completes, its deadline passes (the step is then cancelled: timed_out), or a
// stop is requested (operation_aborted). Nothing runs on other threads but the resolver's.
class Exchange {
 public:
  Exchange(const Target& target, ssl::context& ctx, const HttpsGetOptions& options,
           std::stop_token stop)
      : target_(target),
        options_(options),
        stream_(ioc_, ctx),
        resolver_(ioc_),
        stop_callback_(stop, [this] {
          stopped_ = true;
          ioc_.stop();
        }) {}

  Result<std::string> run() {
    const auto start = SteadyClock::now();
    const auto deadline = start + options_.timeout;
    const auto connect_deadline = std::min(deadline, start + options_.connect_timeout);
    const std::string where = target_.host + ":" + std::to_string(target_.port);

    tcp::resolver::results_type endpoints;
    error_code ec = step(
        [&](auto done) {
          resolver_.async_resolve(target_.host, std::to_string(target_.port),
                                  [&endpoints, done](error_code e, tcp::resolver::results_type r) {
                                    endpoints = std::move(r);
                                    done(e);
                                  });
        },
        [&] { resolver_.cancel(); }, connect_deadline);
    if (ec) return failure("cannot resolve " + target_.host + ": " + describe(ec));

    ec = step(
        [&](auto done) {
          asio::async_connect(stream_.next_layer(), endpoints,
                              [done](error_code e, const tcp::endpoint&) { done(e); });
        },
        [&] { close(); }, connect_deadline);
    if (ec) return failure("cannot connect to " + where + ": " + describe(ec));

    SSL* ssl = stream_.native_handle();
    if (target_.ip_literal) {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), target_.host.c_str());
    } else {
      SSL_set_tlsext_host_name(ssl, target_.host.c_str());  // SNI is for names only (RFC 6066)
      SSL_set1_host(ssl, target_.host.c_str());
    }
    ec = step(
        [&](auto done) {
          stream_.async_handshake(ssl::stream_base::client, [done](error_code e) { done(e); });
        },
        [&] { close(); }, deadline);
    if (ec) {
      const long verify = SSL_get_verify_result(ssl);
      if (ec != asio::error::timed_out && ec != asio::error::operation_aborted &&
          verify != X509_V_OK) {
        return failure("certificate of " + where +
                       " refused: " + X509_verify_cert_error_string(verify));
      }
      return failure("TLS handshake with " + where + " failed: " + describe(ec));
    }

    http::request<http::empty_body> request{http::verb::get, target_.path, 11};
    request.set(http::field::host, target_.host_header);
    request.set(http::field::user_agent, "coffer");
    request.set(http::field::accept, "application/jwk-set+json, application/json");
    request.set(http::field::connection, "close");
    ec = step(
        [&](auto done) {
          http::async_write(stream_, request, [done](error_code e, std::size_t) { done(e); });
        },
        [&] { close(); }, deadline);
    if (ec) return failure("cannot send the request to " + where + ": " + describe(ec));

    http::response_parser<http::string_body> parser;
    parser.header_limit(kHeaderLimit);
    parser.body_limit(options_.max_body_bytes);
    boost::beast::flat_buffer buffer;
    ec = step(
        [&](auto done) {
          http::async_read(stream_, buffer, parser, [done](error_code e, std::size_t) { done(e); });
        },
        [&] { close(); }, deadline);
    // A peer that closes without close_notify after a complete message did no harm; before the
    // end of the message it may have been cut (a truncation attack), so that stays an error.
    if (ec == ssl::error::stream_truncated && parser.is_done()) ec = {};
    if (ec == http::error::body_limit) {
      return failure("response of " + target_.shown + " is larger than " +
                     std::to_string(options_.max_body_bytes) + " bytes");
    }
    if (ec) return failure("cannot read the response of " + target_.shown + ": " + describe(ec));
    close();

    auto response = parser.release();
    const unsigned status = response.result_int();
    if (status != 200) {
      std::string why = "status " + std::to_string(status) + " from " + target_.shown;
      if (status >= 300 && status < 400) {
        auto location = response.find(http::field::location);
        why += " (redirect";
        if (location != response.end()) why += " to " + std::string(location->value());
        why += " not followed)";
      }
      return failure(std::move(why));
    }
    return std::move(response.body());
  }

 private:
  // Starts an operation through `start(done)`, where `done(error_code)` must be called once on
  // completion, and runs it to its end; `cancel` ends it early.
  template <class Start, class Cancel>
  error_code step(Start start, Cancel cancel, SteadyClock::time_point deadline) {
    if (stopped_) return asio::error::operation_aborted;
    std::optional<error_code> result;
    start([&result](error_code e) { result = e; });
    ioc_.restart();
    if (!stopped_) ioc_.run_until(deadline);
    if (result) return *result;
    cancel();
    if (!stopped_) {
      ioc_.restart();
      ioc_.run();  // the cancelled operation completes; its result is the timeout
    }
    return stopped_ ? asio::error::operation_aborted : asio::error::timed_out;
  }

  void close() {
    error_code ignored;
    stream_.next_layer().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.next_layer().close(ignored);
  }

  static std::string describe(const error_code& ec) {
    if (ec == asio::error::timed_out) return "timed out";
    if (ec == asio::error::operation_aborted) return "cancelled";
    return ec.message();
  }

  const Target& target_;
  const HttpsGetOptions& options_;
  std::atomic<bool> stopped_{false};
  asio::io_context ioc_{1};
  ssl::stream<tcp::socket> stream_;
  tcp::resolver resolver_;
  std::stop_callback<std::function<void()>> stop_callback_;  // last: may fire at once
};

}  // namespace

Result<std::string> https_get(std::string_view url, const HttpsGetOptions& options,
                              std::stop_token stop) {
  COFFER_TRY(Target target, parse_target(url));
  COFFER_TRY(std::unique_ptr<ssl::context> ctx, make_context(options));
  Exchange exchange(target, *ctx, options, std::move(stop));
  return exchange.run();
}

Result<void> check_https_get(std::string_view url, const HttpsGetOptions& options) {
  auto bad = [](const Error& e) {
    return Error{ErrorCode::kBadRequest, "invalid JWKS fetch settings", e.detail};
  };
  auto target = parse_target(url);
  if (!target) return bad(target.error());
  if (!options.ca_file.empty()) {
    // The file must hold at least one certificate: load_verify_locations accepts an empty one.
    FILE* f = std::fopen(options.ca_file.c_str(), "r");
    if (f == nullptr) return bad(failure("cannot read CA file " + options.ca_file));
    X509* first = PEM_read_X509(f, nullptr, nullptr, nullptr);
    std::fclose(f);
    ERR_clear_error();
    if (first == nullptr) {
      return bad(failure("CA file " + options.ca_file + " holds no certificate"));
    }
    X509_free(first);
  }
  auto ctx = make_context(options);
  if (!ctx) return bad(ctx.error());
  return {};
}

}  // namespace coffer::auth
