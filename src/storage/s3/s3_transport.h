// Internal to the S3 client (s3_client.cpp, s3_transport.cpp): HTTP/1.1 connections over plain
// TCP or TLS and their pool. The only header of the storage layer with Beast and Asio in it;
// include it nowhere else.
//
// Everything here runs on the client's I/O thread and is not thread-safe.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "core/config.h"
#include "core/error.h"

namespace coffer::s3::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using asio::awaitable;
using error_code = boost::system::error_code;
using SteadyClock = std::chrono::steady_clock;
using SteadyTime = SteadyClock::time_point;

// Where a connection goes.
struct Target {
  bool https = false;
  std::string connect_host;
  std::uint16_t port = 0;
  std::string tls_name;  // SNI and the name the certificate must carry

  std::string pool_key() const;
};

// Why connecting or exchanging failed, for the retry decision.
struct TransportError {
  Error error;             // kStorageUnavailable for transient trouble, kInternal for the rest
  bool retryable = false;  // a new attempt may succeed (refused, reset, timeout, ...)
};

// One HTTP/1.1 connection, used by one request at a time.
class Connection {
 public:
  using Parser = http::response_parser<http::buffer_body>;

  Connection(asio::any_io_executor ex, asio::ssl::context* tls, Target target);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  const Target& target() const { return target_; }

  // Resolves, connects (to each resolved address in turn) and for https shakes hands, verifying
  // the certificate for target.tls_name. All of it within `timeout`.
  awaitable<std::optional<TransportError>> connect(Duration timeout);

  // Writes `first` then `second` (either may be empty); each write may stall at most `timeout`.
  awaitable<error_code> write(std::string_view first, std::string_view second, Duration timeout);

  // Reads the status line and header of an answer into a fresh parser. A HEAD answer has no body.
  awaitable<error_code> read_head(bool head_request, Duration timeout);
  const Parser::value_type& response() const { return parser_->get(); }
  int status() const { return static_cast<int>(parser_->get().result_int()); }
  // The body's length when the answer announced one (Content-Length), else nullopt (chunked or
  // until close).
  std::optional<std::uint64_t> body_length() const;

  // Reads up to out.size() bytes of the body into `out`, waiting until `out` is full or the body
  // ends; returns how many (0 when the body had ended). Bytes are read straight from the socket
  // into `out` when the length is known.
  awaitable<std::tuple<error_code, std::size_t>> read_body(std::span<char> out, Duration timeout);
  bool body_done() const;
  // Reads the whole body (at most `limit` bytes, else an error) into a string.
  awaitable<std::tuple<error_code, std::string>> read_body_string(std::size_t limit,
                                                                  Duration timeout);

  // True when the answer just read lets the connection carry another request.
  bool keep_alive() const;
  // True when an idle connection still looks usable: open and with nothing to read (a server
  // that closed it, or sent something unasked, makes it readable).
  bool idle_usable() const;
  void close();
  bool is_open() const;

  SteadyTime idle_since{};
  int requests = 0;  // answered on this connection so far

 private:
  beast::tcp_stream& lowest();
  const beast::tcp_stream& lowest() const;
  void quick_ack();

  asio::any_io_executor ex_;
  asio::ssl::context* tls_ctx_;
  Target target_;
  std::unique_ptr<beast::tcp_stream> plain_;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls_;
  beast::flat_buffer buffer_;
  std::optional<Parser> parser_;
  bool raw_body_ = false;            // reading the body straight from the socket
  std::uint64_t raw_remaining_ = 0;  // bytes of the body still to come in raw mode
};

// Keep-alive connections per target, at most `max_open` open in all.
class ConnectionPool {
 public:
  ConnectionPool(asio::any_io_executor ex, asio::ssl::context* tls, int max_open,
                 Duration connect_timeout, Duration max_idle);
  ~ConnectionPool();

  struct Lease {
    std::unique_ptr<Connection> connection;  // null on failure
    bool reused = false;                     // an idle connection that served requests before
    std::optional<TransportError> failure;
  };
  // An idle connection to `target` that is still usable, or a new connected one. While max_open
  // are open (and none idle to close), waits for one to be released, until `deadline`.
  awaitable<Lease> acquire(const Target& target, SteadyTime deadline);
  // Takes a connection back: kept idle when `reusable` (and open), else closed.
  void release(std::unique_ptr<Connection> connection, bool reusable);
  // Closes all idle connections and wakes all waiters (shutdown).
  void close_all();

  int open() const { return open_; }
  std::uint64_t opened() const { return opened_; }

 private:
  struct Waiter {
    explicit Waiter(asio::any_io_executor ex) : timer(ex) {}
    asio::steady_timer timer;
  };
  void wake_one();
  bool close_one_idle();

  asio::any_io_executor ex_;
  asio::ssl::context* tls_;
  int max_open_;
  Duration connect_timeout_;
  Duration max_idle_;
  int open_ = 0;
  std::uint64_t opened_ = 0;
  bool closed_ = false;
  std::map<std::string, std::vector<std::unique_ptr<Connection>>> idle_;  // most recent last
  std::deque<Waiter*> waiters_;
};

}  // namespace coffer::s3::detail
