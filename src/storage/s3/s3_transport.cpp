#include "storage/s3/s3_transport.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

namespace coffer::s3::detail {
namespace {

using tcp = asio::ip::tcp;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::uint32_t kHeaderLimit = 64 * 1024;

bool is_ip_literal(const std::string& host) {
  error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

TransportError transient(std::string detail) {
  return {Error::StorageUnavailable(std::move(detail)), true};
}

Duration until(SteadyTime deadline) {
  auto left = std::chrono::duration_cast<Duration>(deadline - SteadyClock::now());
  return std::max(left, Duration{1});
}

}  // namespace

std::string Target::pool_key() const {
  return std::string(https ? "https://" : "http://") + connect_host + ":" + std::to_string(port) +
         "/" + tls_name;
}

// ---- Connection ---------------------------------------------------------------------------------

Connection::Connection(asio::any_io_executor ex, asio::ssl::context* tls, Target target)
    : ex_(std::move(ex)), tls_ctx_(tls), target_(std::move(target)) {}

Connection::~Connection() = default;

beast::tcp_stream& Connection::lowest() { return tls_ ? tls_->next_layer() : *plain_; }
const beast::tcp_stream& Connection::lowest() const { return tls_ ? tls_->next_layer() : *plain_; }

awaitable<std::optional<TransportError>> Connection::connect(Duration timeout) {
  const SteadyTime deadline = SteadyClock::now() + timeout;
  const std::string where = target_.connect_host + ":" + std::to_string(target_.port);
  tcp::resolver resolver(ex_);
  auto [rec, results] =
      co_await resolver.async_resolve(target_.connect_host, std::to_string(target_.port), kTuple);
  if (rec) co_return transient("s3: cannot resolve " + where + ": " + rec.message());

  if (target_.https) {
    if (tls_ctx_ == nullptr) co_return TransportError{Error::Internal("s3: no TLS context"), false};
    tls_ = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(ex_, *tls_ctx_);
  } else {
    plain_ = std::make_unique<beast::tcp_stream>(ex_);
  }
  beast::tcp_stream& low = lowest();
  low.expires_after(until(deadline));
  auto [cec, endpoint] = co_await low.async_connect(results, kTuple);
  if (cec) {
    const bool timed_out = cec == beast::error::timeout;
    co_return transient("s3: cannot connect to " + where + ": " +
                        (timed_out ? std::string("timed out") : cec.message()));
  }
  error_code ignored;
  low.socket().set_option(tcp::no_delay(true), ignored);

  if (tls_) {
    SSL* ssl = tls_->native_handle();
    const std::string& name = target_.tls_name;
    if (is_ip_literal(name)) {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name.c_str());
    } else {
      // SNI is for names only (RFC 6066).
      SSL_set_tlsext_host_name(ssl, name.c_str());
      SSL_set1_host(ssl, name.c_str());
    }
    SSL_set_verify(ssl, SSL_VERIFY_PEER, nullptr);
    low.expires_after(until(deadline));
    auto [hec] = co_await tls_->async_handshake(asio::ssl::stream_base::client, kTuple);
    if (hec) {
      const long verify = SSL_get_verify_result(ssl);
      if (verify != X509_V_OK) {
        co_return TransportError{Error::Internal("s3: TLS certificate of " + name + " refused: " +
                                                 X509_verify_cert_error_string(verify)),
                                 false};
      }
      const bool timed_out = hec == beast::error::timeout;
      co_return transient("s3: TLS handshake with " + where +
                          " failed: " + (timed_out ? std::string("timed out") : hec.message()));
    }
  }
  low.expires_never();
  co_return std::nullopt;
}

awaitable<error_code> Connection::write(std::string_view first, std::string_view second,
                                        Duration timeout) {
  lowest().expires_after(timeout);
  error_code ec;
  if (tls_) {
    // One buffer per write: a two-buffer sequence through beast::ssl_stream (flat_stream over
    // asio::ssl) lost bytes here when the second buffer exceeded one TLS record (16 KiB), so the
    // server waited for a body that never came.
    auto [wec, n] =
        co_await asio::async_write(*tls_, asio::buffer(first.data(), first.size()), kTuple);
    ec = wec;
    if (!ec && !second.empty()) {
      auto [wec2, n2] =
          co_await asio::async_write(*tls_, asio::buffer(second.data(), second.size()), kTuple);
      ec = wec2;
    }
  } else {
    std::array<asio::const_buffer, 2> buffers{asio::buffer(first.data(), first.size()),
                                              asio::buffer(second.data(), second.size())};
    auto [wec, n] = co_await asio::async_write(*plain_, buffers, kTuple);
    ec = wec;
  }
  co_return ec;
}

awaitable<error_code> Connection::read_head(bool head_request, Duration timeout) {
  parser_.emplace();
  parser_->header_limit(kHeaderLimit);
  parser_->body_limit(boost::none);
  if (head_request) parser_->skip(true);
  raw_body_ = false;
  raw_remaining_ = 0;
  quick_ack();
  lowest().expires_after(timeout);
  error_code ec;
  if (tls_) {
    auto [rec, n] = co_await http::async_read_header(*tls_, buffer_, *parser_, kTuple);
    ec = rec;
  } else {
    auto [rec, n] = co_await http::async_read_header(*plain_, buffer_, *parser_, kTuple);
    ec = rec;
  }
  if (ec) co_return ec;
  ++requests;
  if (!head_request && !parser_->is_done() && !parser_->chunked() && parser_->content_length()) {
    raw_body_ = true;
    raw_remaining_ = *parser_->content_length();
  }
  co_return ec;
}

std::optional<std::uint64_t> Connection::body_length() const {
  if (!parser_ || parser_->chunked()) return std::nullopt;
  if (parser_->is_done() && !raw_body_) return std::uint64_t{0};
  if (auto length = parser_->content_length()) return *length;
  return std::nullopt;
}

bool Connection::body_done() const {
  if (!parser_) return true;
  return raw_body_ ? raw_remaining_ == 0 : parser_->is_done();
}

awaitable<std::tuple<error_code, std::size_t>> Connection::read_body(std::span<char> out,
                                                                     Duration timeout) {
  std::size_t got = 0;
  if (raw_body_) {
    while (got < out.size() && raw_remaining_ > 0) {
      const std::size_t want =
          static_cast<std::size_t>(std::min<std::uint64_t>(out.size() - got, raw_remaining_));
      std::size_t n = 0;
      if (buffer_.size() > 0) {
        n = asio::buffer_copy(asio::buffer(out.data() + got, want), buffer_.data());
        buffer_.consume(n);
      } else {
        lowest().expires_after(timeout);
        error_code ec;
        if (tls_) {
          auto [rec, r] =
              co_await tls_->async_read_some(asio::buffer(out.data() + got, want), kTuple);
          ec = rec;
          n = r;
        } else {
          auto [rec, r] =
              co_await plain_->async_read_some(asio::buffer(out.data() + got, want), kTuple);
          ec = rec;
          n = r;
        }
        if (ec) co_return std::tuple{ec, got + n};
      }
      got += n;
      raw_remaining_ -= n;
    }
    co_return std::tuple{error_code{}, got};
  }
  while (got < out.size() && !parser_->is_done()) {
    auto& body = parser_->get().body();
    body.data = out.data() + got;
    body.size = out.size() - got;
    body.more = true;
    lowest().expires_after(timeout);
    error_code ec;
    if (tls_) {
      auto [rec, n] = co_await http::async_read_some(*tls_, buffer_, *parser_, kTuple);
      ec = rec;
    } else {
      auto [rec, n] = co_await http::async_read_some(*plain_, buffer_, *parser_, kTuple);
      ec = rec;
    }
    if (ec == http::error::need_buffer) ec = {};
    got = out.size() - parser_->get().body().size;
    if (ec) co_return std::tuple{ec, got};
  }
  co_return std::tuple{error_code{}, got};
}

awaitable<std::tuple<error_code, std::string>> Connection::read_body_string(std::size_t limit,
                                                                            Duration timeout) {
  std::string out;
  if (auto length = body_length()) {
    if (*length > limit) {
      co_return std::tuple{make_error_code(http::error::body_limit), std::string()};
    }
    out.resize(static_cast<std::size_t>(*length));
    auto [ec, n] = co_await read_body(out, timeout);
    out.resize(n);
    if (!ec && n != *length) ec = make_error_code(http::error::partial_message);
    co_return std::tuple{ec, std::move(out)};
  }
  constexpr std::size_t kStep = 64 * 1024;
  while (!body_done()) {
    const std::size_t old_size = out.size();
    if (old_size >= limit) {
      co_return std::tuple{make_error_code(http::error::body_limit), std::move(out)};
    }
    out.resize(old_size + std::min(kStep, limit - old_size));
    auto [ec, n] =
        co_await read_body(std::span<char>(out.data() + old_size, out.size() - old_size), timeout);
    out.resize(old_size + n);
    if (ec) co_return std::tuple{ec, std::move(out)};
  }
  co_return std::tuple{error_code{}, std::move(out)};
}

bool Connection::keep_alive() const {
  return is_open() && parser_ && body_done() && parser_->keep_alive() && buffer_.size() == 0;
}

bool Connection::is_open() const {
  if (!plain_ && !tls_) return false;
  return lowest().socket().is_open();
}

bool Connection::idle_usable() const {
  if (!is_open()) return false;
  pollfd p{};
  p.fd = const_cast<Connection*>(this)->lowest().socket().native_handle();
  p.events = POLLIN;
  return ::poll(&p, 1, 0) == 0;
}

void Connection::quick_ack() {
  // Servers that write an answer's head and body separately without TCP_NODELAY (Ceph RGW's GET)
  // would otherwise wait for our delayed ACK of the head: 40 ms per small GET on Linux.
  int one = 1;
  ::setsockopt(lowest().socket().native_handle(), IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
}

void Connection::close() {
  if (!plain_ && !tls_) return;
  error_code ignored;
  lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
  lowest().socket().close(ignored);
}

// ---- ConnectionPool -----------------------------------------------------------------------------

ConnectionPool::ConnectionPool(asio::any_io_executor ex, asio::ssl::context* tls, int max_open,
                               Duration connect_timeout, Duration max_idle)
    : ex_(std::move(ex)),
      tls_(tls),
      max_open_(std::max(1, max_open)),
      connect_timeout_(connect_timeout),
      max_idle_(max_idle) {}

ConnectionPool::~ConnectionPool() = default;

awaitable<ConnectionPool::Lease> ConnectionPool::acquire(const Target& target,
                                                         SteadyTime deadline) {
  const std::string key = target.pool_key();
  for (;;) {
    if (closed_) {
      co_return Lease{nullptr, false, transient("s3: the client is shutting down")};
    }
    if (auto it = idle_.find(key); it != idle_.end()) {
      auto& list = it->second;
      while (!list.empty()) {
        std::unique_ptr<Connection> c = std::move(list.back());
        list.pop_back();
        if (SteadyClock::now() - c->idle_since < max_idle_ && c->idle_usable()) {
          co_return Lease{std::move(c), true, std::nullopt};
        }
        c->close();
        --open_;
      }
    }
    if (open_ < max_open_) {
      ++open_;
      ++opened_;
      auto c = std::make_unique<Connection>(ex_, tls_, target);
      const Duration timeout = std::min(connect_timeout_, until(deadline));
      std::optional<TransportError> failed = co_await c->connect(timeout);
      if (failed) {
        c->close();
        --open_;
        wake_one();
        co_return Lease{nullptr, false, std::move(failed)};
      }
      co_return Lease{std::move(c), false, std::nullopt};
    }
    if (close_one_idle()) continue;
    if (SteadyClock::now() >= deadline) {
      co_return Lease{nullptr, false,
                      transient("s3: all " + std::to_string(max_open_) +
                                " connections stayed busy until the timeout")};
    }
    Waiter waiter(ex_);
    waiter.timer.expires_at(deadline);
    waiters_.push_back(&waiter);
    co_await waiter.timer.async_wait(kTuple);
    std::erase(waiters_, &waiter);
  }
}

void ConnectionPool::release(std::unique_ptr<Connection> connection, bool reusable) {
  if (!connection) return;
  if (reusable && !closed_ && connection->keep_alive()) {
    connection->idle_since = SteadyClock::now();
    idle_[connection->target().pool_key()].push_back(std::move(connection));
  } else {
    connection->close();
    --open_;
  }
  wake_one();
}

bool ConnectionPool::close_one_idle() {
  // The least recently used across targets would be fairer; any will do at this bound.
  for (auto& [key, list] : idle_) {
    if (!list.empty()) {
      list.front()->close();
      list.erase(list.begin());
      --open_;
      return true;
    }
  }
  return false;
}

void ConnectionPool::wake_one() {
  if (waiters_.empty()) return;
  Waiter* w = waiters_.front();
  waiters_.pop_front();
  w->timer.cancel();
}

void ConnectionPool::close_all() {
  closed_ = true;
  for (auto& [key, list] : idle_) {
    for (auto& c : list) {
      c->close();
      --open_;
    }
    list.clear();
  }
  while (!waiters_.empty()) wake_one();
}

}  // namespace coffer::s3::detail
