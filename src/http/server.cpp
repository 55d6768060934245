// The Beast/Asio half of Coffer. Mechanics follow Beast's awaitable examples: one coroutine per
// connection, a timeout before every read and write, a fresh parser per request with explicit
// header and body limits, errors as values through as_tuple(use_awaitable).
#include "http/server.h"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <list>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "api/error_response.h"
#include "core/log.h"
#include "http/request_id.h"
#include "http/target.h"

namespace coffer::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using asio::awaitable;
using asio::use_awaitable;
constexpr auto kTuple = asio::as_tuple(use_awaitable);
using Clock = std::chrono::steady_clock;

tcp::endpoint parse_endpoint(const std::string& address) {
  auto colon = address.rfind(':');
  std::string host = address.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  auto port = static_cast<unsigned short>(std::stoi(address.substr(colon + 1)));
  boost::system::error_code ec;
  auto ip = asio::ip::make_address(host == "localhost" ? "127.0.0.1" : host, ec);
  if (ec) throw std::runtime_error("listen address " + address + ": host must be an IP address");
  return {ip, port};
}

}  // namespace

// One connection's state that shutdown needs to see: only touched on its own I/O thread.
struct Connection {
  beast::tcp_stream* stream = nullptr;
  bool idle = true;
};

struct IoThread {
  asio::io_context ioc{1};
  std::vector<tcp::acceptor> acceptors;
  std::list<Connection*> connections;
};

struct Server::Impl {
  const HttpConfig& config;
  std::vector<Listener> listeners;
  Metrics& metrics;
  std::vector<std::unique_ptr<IoThread>> io;
  std::vector<std::uint16_t> ports;
  asio::thread_pool workers;
  std::atomic<int> open_connections{0};
  std::atomic<bool> stopping{false};
  std::atomic<bool> clean{true};
  std::vector<std::vector<RouteMetrics*>> per_listener_metrics;  // parallel to each router's routes
  RouteMetrics* unmatched_metrics = nullptr;

  Impl(const HttpConfig& c, std::vector<Listener> l, Metrics& m)
      : config(c),
        listeners(std::move(l)),
        metrics(m),
        workers(static_cast<std::size_t>(c.worker_threads)) {
    int n = c.io_threads > 0 ? c.io_threads : static_cast<int>(std::thread::hardware_concurrency());
    if (n < 1) n = 1;
    for (int i = 0; i < n; ++i) io.push_back(std::make_unique<IoThread>());
    unmatched_metrics = &metrics.route("unmatched");
  }

  // The routers may be filled in between bind() and run() (the routes need the bound port).
  void register_route_metrics() {
    for (const auto& listener : listeners) {
      std::vector<RouteMetrics*> rm;
      for (const auto& route : listener.router->routes()) {
        rm.push_back(&metrics.route(std::string(api::to_string(route.method)) + " " + route.pattern));
      }
      per_listener_metrics.push_back(std::move(rm));
    }
  }

  void bind();
  awaitable<void> accept_loop(IoThread& thread, tcp::acceptor& acceptor, std::size_t listener);
  awaitable<void> session(IoThread& thread, tcp::socket socket, std::size_t listener);
  void begin_shutdown();
};

namespace {

// Reads a streaming request body for a handler on a worker thread, by running each read as a
// coroutine on the connection's I/O thread and waiting for it.
class SocketBodySource final : public ByteSource {
 public:
  SocketBodySource(asio::any_io_executor ex, beast::tcp_stream& stream, beast::flat_buffer& buffer,
                   bhttp::request_parser<bhttp::buffer_body>& parser, Duration timeout,
                   Metrics& metrics, bool send_continue)
      : ex_(std::move(ex)),
        stream_(stream),
        buffer_(buffer),
        parser_(parser),
        timeout_(timeout),
        metrics_(metrics),
        send_continue_(send_continue) {}

  Result<std::size_t> read(std::span<char> out) override {
    if (failed_) return *failed_;
    if (parser_.is_done() || out.empty()) return std::size_t{0};
    auto result = asio::co_spawn(ex_, read_some(out), asio::use_future).get();
    if (!result) failed_ = result.error();
    return result;
  }

  bool done() const { return parser_.is_done(); }

 private:
  awaitable<Result<std::size_t>> read_some(std::span<char> out) {
    if (send_continue_) {
      // The client waits for this before sending the body; a handler that refuses the request
      // without reading spares it the upload.
      send_continue_ = false;
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      stream_.expires_after(timeout_);
      auto [ec, n] = co_await asio::async_write(stream_, asio::buffer(kContinue.data(), kContinue.size()), kTuple);
      if (ec) co_return Error::BadRequest("client connection lost");
    }
    // Beast reads the socket into buffer_ only as far as its free capacity goes (at most 64 KiB),
    // and the header read left it at a few KiB: without room, a body arrives 4 KiB per read, each
    // a round trip from the worker thread.
    if (buffer_.capacity() - buffer_.size() < kSocketReadBytes)
      buffer_.reserve(buffer_.size() + kSocketReadBytes);
    std::size_t total = 0;
    for (;;) {
      if (parser_.is_done()) co_return total;
      auto& body = parser_.get().body();
      body.data = out.data() + total;
      body.size = out.size() - total;
      body.more = true;
      stream_.expires_after(timeout_);
      auto [ec, n] = co_await bhttp::async_read_some(stream_, buffer_, parser_, kTuple);
      if (ec == bhttp::error::need_buffer) ec = {};
      if (ec == bhttp::error::body_limit) {
        co_return Error::PayloadTooLarge("the body is larger than the upload limit");
      }
      if (ec == beast::error::timeout) co_return Error{ErrorCode::kRequestTimeout, "request body timeout", "body read timed out"};
      if (ec) co_return Error::BadRequest("the request body ended early or is malformed");
      const std::size_t got = out.size() - total - parser_.get().body().size;
      metrics_.bytes_in.fetch_add(got, std::memory_order_relaxed);
      total += got;
      if (total == 0) continue;
      // Whatever more has already arrived goes into the same read; nothing waits for more.
      boost::system::error_code available_ec;
      const bool more_waiting = buffer_.size() > 0 || stream_.socket().available(available_ec) > 0;
      if (total == out.size() || available_ec || !more_waiting) co_return total;
    }
  }

  static constexpr std::size_t kSocketReadBytes = 64 * 1024;

  asio::any_io_executor ex_;
  beast::tcp_stream& stream_;
  beast::flat_buffer& buffer_;
  bhttp::request_parser<bhttp::buffer_body>& parser_;
  Duration timeout_;
  Metrics& metrics_;
  bool send_continue_;
  std::optional<Error> failed_;
};

// Writes a streamed response body from a worker thread, the same way.
class SocketBodySink final : public ByteSink {
 public:
  SocketBodySink(asio::any_io_executor ex, beast::tcp_stream& stream, Duration timeout, Metrics& metrics)
      : ex_(std::move(ex)), stream_(stream), timeout_(timeout), metrics_(metrics) {}

  Result<void> write(std::string_view data) override {
    if (data.empty()) return Ok();
    auto result = asio::co_spawn(ex_, write_all(data), asio::use_future).get();
    if (result) written_ += data.size();
    return result;
  }
  std::uint64_t written() const { return written_; }

 private:
  awaitable<Result<void>> write_all(std::string_view data) {
    stream_.expires_after(timeout_);
    auto [ec, n] = co_await asio::async_write(stream_, asio::buffer(data.data(), data.size()), kTuple);
    if (ec) co_return Error::Internal("client connection lost: " + ec.message());
    metrics_.bytes_out.fetch_add(n, std::memory_order_relaxed);
    co_return Ok();
  }

  asio::any_io_executor ex_;
  beast::tcp_stream& stream_;
  Duration timeout_;
  Metrics& metrics_;
  std::uint64_t written_ = 0;
};

// Registers a connection for shutdown and counts it; undone when the session ends.
class ConnectionScope {
 public:
  ConnectionScope(IoThread& thread, Connection& c, std::atomic<int>& open, Metrics& metrics)
      : thread_(thread), open_(open), metrics_(metrics) {
    it_ = thread_.connections.insert(thread_.connections.end(), &c);
    open_.fetch_add(1);
    metrics_.connections_open.fetch_add(1);
  }
  ~ConnectionScope() {
    thread_.connections.erase(it_);
    open_.fetch_sub(1);
    metrics_.connections_open.fetch_sub(1);
  }

 private:
  IoThread& thread_;
  std::atomic<int>& open_;
  Metrics& metrics_;
  std::list<Connection*>::iterator it_;
};

api::Response run_handler(const Route& route, api::Request& request) {
  try {
    return route.handler(request);
  } catch (const std::exception& e) {
    log::app().error("request {} on {}: unhandled exception: {}", request.request_id, route.pattern,
                     e.what());
  } catch (...) {
    log::app().error("request {} on {}: unhandled exception", request.request_id, route.pattern);
  }
  return api::error_response(Error::Internal("exception"), request.request_id);
}

void copy_headers(const bhttp::request_parser<bhttp::empty_body>& parser, api::Request& request) {
  for (const auto& field : parser.get()) {
    request.headers.add(std::string(field.name_string()), std::string(field.value()));
  }
}

template <class Message>
void set_response_headers(Message& message, const api::Response& response,
                          const std::string& request_id) {
  for (const auto& [name, value] : response.headers) message.insert(name, value);
  message.set("X-Request-Id", request_id);
}

std::string access_fields(std::string_view remote, std::string_view method, std::string_view target,
                          int status, std::uint64_t bytes_out, double ms, std::string_view request_id,
                          std::string_view route) {
  char ms_text[32];
  std::snprintf(ms_text, sizeof ms_text, "%.3f", ms);
  if (log::json_format()) {
    return "\"remote\":\"" + std::string(remote) + "\",\"method\":\"" + log::json_escape(method) +
           "\",\"target\":\"" + log::json_escape(target) + "\",\"status\":" + std::to_string(status) +
           ",\"bytes_out\":" + std::to_string(bytes_out) + ",\"ms\":" + ms_text +
           ",\"request_id\":\"" + std::string(request_id) + "\",\"route\":\"" +
           log::json_escape(route) + "\"";
  }
  return std::string(remote) + " \"" + std::string(method) + " " + std::string(target) + "\" " +
         std::to_string(status) + " " + std::to_string(bytes_out) + " " + ms_text + "ms rid=" +
         std::string(request_id) + " route=\"" + std::string(route) + "\"";
}

}  // namespace

void Server::Impl::bind() {
  for (std::size_t l = 0; l < listeners.size(); ++l) {
    tcp::endpoint endpoint = parse_endpoint(listeners[l].address);
    for (auto& thread : io) {
      tcp::acceptor acceptor(thread->ioc);
      boost::system::error_code ec;
      acceptor.open(endpoint.protocol(), ec);
      if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
      if (!ec) {
        int one = 1;
        if (::setsockopt(acceptor.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
          ec.assign(errno, boost::system::system_category());
        }
      }
      if (!ec) acceptor.bind(endpoint, ec);
      if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
      if (ec) {
        throw std::runtime_error("cannot listen on " + listeners[l].address + ": " + ec.message());
      }
      // Port 0: the first acceptor picks the port, the others share it.
      endpoint.port(acceptor.local_endpoint().port());
      thread->acceptors.push_back(std::move(acceptor));
    }
    ports.push_back(endpoint.port());
  }
}

awaitable<void> Server::Impl::accept_loop(IoThread& thread, tcp::acceptor& acceptor,
                                          std::size_t listener) {
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(kTuple);
    if (stopping.load()) co_return;
    if (ec) {
      if (ec == asio::error::operation_aborted) co_return;
      // Out of descriptors and the like: back off instead of spinning.
      log::app().warn("accept failed: {}", ec.message());
      asio::steady_timer pause(thread.ioc, std::chrono::milliseconds(50));
      co_await pause.async_wait(kTuple);
      continue;
    }
    if (open_connections.load() >= config.max_connections) {
      metrics.connections_refused.fetch_add(1);
      boost::system::error_code ignored;
      socket.close(ignored);
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);
    asio::co_spawn(thread.ioc, session(thread, std::move(socket), listener), asio::detached);
  }
}

awaitable<void> Server::Impl::session(IoThread& thread, tcp::socket socket, std::size_t listener) {
  std::string remote;
  {
    boost::system::error_code ec;
    auto ep = socket.remote_endpoint(ec);
    if (!ec) remote = ep.address().to_string();
  }
  beast::tcp_stream stream(std::move(socket));
  Connection connection{&stream, true};
  ConnectionScope scope(thread, connection, open_connections, metrics);
  beast::flat_buffer buffer;
  asio::steady_timer header_timer(thread.ioc);
  const Router& router = *listeners[listener].router;
  const auto& route_metrics_of = per_listener_metrics[listener];
  bool first_request = true;
  std::uint64_t header_generation = 0;
  const asio::any_io_executor executor = co_await asio::this_coro::executor;

  for (;;) {
    // Wait for the first bytes of the next request: the idle timeout between requests.
    connection.idle = true;
    if (stopping.load()) break;
    if (buffer.size() == 0) {
      stream.expires_after(first_request ? config.header_timeout : config.idle_timeout);
      auto [ec, n] = co_await stream.async_read_some(buffer.prepare(4096), kTuple);
      if (ec) break;  // idle timeout, client closed, or shutdown
      buffer.commit(n);
    }
    connection.idle = false;
    first_request = false;
    const auto started = Clock::now();
    metrics.requests_in_flight.fetch_add(1, std::memory_order_relaxed);
    struct InFlight {
      Metrics& m;
      ~InFlight() { m.requests_in_flight.fetch_sub(1, std::memory_order_relaxed); }
    } in_flight{metrics};

    // Headers, with their own timer: on expiry the read is cancelled (not the socket closed) so
    // that the client still gets a 408.
    bhttp::request_parser<bhttp::empty_body> header_parser;
    header_parser.header_limit(static_cast<std::uint32_t>(config.max_header_bytes));
    header_parser.body_limit(boost::none);
    bool header_timed_out = false;
    const std::uint64_t generation = ++header_generation;
    header_timer.expires_after(config.header_timeout);
    header_timer.async_wait([&, generation](boost::system::error_code ec) {
      // A stale expiry (queued just as the read finished) must not cancel a later operation.
      if (!ec && generation == header_generation) {
        header_timed_out = true;
        boost::system::error_code ignored;
        stream.socket().cancel(ignored);
      }
    });
    stream.expires_never();
    auto [header_ec, header_n] = co_await bhttp::async_read_header(stream, buffer, header_parser, kTuple);
    ++header_generation;
    header_timer.cancel();

    std::string request_id;
    std::optional<Error> early_error;
    if (header_ec) {
      if (header_timed_out) {
        early_error = Error{ErrorCode::kRequestTimeout, "request header timeout", {}};
      } else if (header_ec == bhttp::error::header_limit) {
        early_error = Error{ErrorCode::kHeaderTooLarge, "request header too large", {}};
      } else if (header_ec == bhttp::error::end_of_stream || header_ec == asio::error::eof ||
                 header_ec == asio::error::connection_reset ||
                 header_ec == asio::error::operation_aborted) {
        break;
      } else {
        early_error = Error::BadRequest("malformed request: " + header_ec.message());
      }
      request_id = new_request_id();
    }

    api::Request request;
    std::string target_text;
    std::string method_text;
    RouteMatch match;
    RouteMetrics* route_metrics = unmatched_metrics;
    bool keep_alive = false;
    bool body_consumed = true;
    if (!early_error) {
      auto& head = header_parser.get();
      request_id = accept_request_id(head["X-Request-Id"]);
      target_text = std::string(head.target());
      method_text = std::string(head.method_string());
      keep_alive = head.keep_alive();
      request.method = api::parse_method(method_text);
      request.request_id = request_id;
      copy_headers(header_parser, request);
      auto target = parse_target(target_text);
      if (!target) {
        early_error = target.error();
      } else {
        request.path = std::move(target->path);
        request.query = std::move(target->query);
        match = router.match(request.method, request.path);
      }
      if (header_parser.content_length()) request.content_length = *header_parser.content_length();
      body_consumed = !header_parser.chunked() && request.content_length.value_or(0) == 0;
      if (!early_error) {
        switch (match.kind) {
          case RouteMatch::Kind::kFound: break;
          case RouteMatch::Kind::kNotFound:
            early_error = Error::NotFound("no such route");
            break;
          case RouteMatch::Kind::kMethodNotAllowed:
            early_error = Error{ErrorCode::kMethodNotAllowed, "method not allowed for this route", {}};
            break;
          case RouteMatch::Kind::kBadPath:
            early_error = Error::BadRequest("malformed percent-encoding in the path");
            break;
        }
      }
    }

    api::Response response;
    std::optional<bhttp::request_parser<bhttp::buffer_body>> stream_parser;
    std::optional<SocketBodySource> body_source;
    if (early_error) {
      response = api::error_response(*early_error, request_id);
      if (match.kind == RouteMatch::Kind::kMethodNotAllowed) response.header("Allow", match.allow);
    } else {
      const Route& route = *match.route;
      route_metrics = route_metrics_of[static_cast<std::size_t>(match.route - router.routes().data())];
      request.params = std::move(match.params);
      const bool expects_continue =
          boost::beast::iequals(header_parser.get()[bhttp::field::expect], "100-continue");
      if (route.body == BodyMode::kBuffered) {
        std::optional<Error> body_error;
        if (request.content_length && *request.content_length > config.max_json_bytes) {
          body_error = Error::PayloadTooLarge("the request body is larger than the JSON limit");
        } else if (!body_consumed) {
          if (expects_continue) {
            stream.expires_after(config.body_timeout);
            static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
            co_await asio::async_write(stream, asio::buffer(kContinue.data(), kContinue.size()), kTuple);
          }
          bhttp::request_parser<bhttp::string_body> body_parser(std::move(header_parser));
          body_parser.body_limit(config.max_json_bytes);
          stream.expires_after(config.body_timeout);
          auto [ec, n] = co_await bhttp::async_read(stream, buffer, body_parser, kTuple);
          if (ec == bhttp::error::body_limit) {
            body_error = Error::PayloadTooLarge("the request body is larger than the JSON limit");
          } else if (ec == beast::error::timeout) {
            break;  // the stream closed the socket; nobody is left to answer
          } else if (ec) {
            body_error = Error::BadRequest("the request body ended early or is malformed");
          } else {
            request.body = std::move(body_parser.get().body());
            metrics.bytes_in.fetch_add(request.body.size(), std::memory_order_relaxed);
            body_consumed = true;
          }
        }
        if (body_error) {
          response = api::error_response(*body_error, request_id);
        } else if (route.dispatch == Dispatch::kInline) {
          response = run_handler(route, request);
        } else {
          auto task = [&route, &request]() -> awaitable<api::Response> {
            co_return run_handler(route, request);
          };
          response = co_await asio::co_spawn(workers.get_executor(), task, use_awaitable);
        }
      } else {
        if (request.content_length && *request.content_length > config.max_upload_bytes) {
          response = api::error_response(
              Error::PayloadTooLarge("the body is larger than the upload limit"), request_id);
        } else {
          stream_parser.emplace(std::move(header_parser));
          stream_parser->body_limit(config.max_upload_bytes);
          body_source.emplace(executor, stream, buffer, *stream_parser, config.body_timeout,
                              metrics, expects_continue && !body_consumed);
          request.body_stream = &*body_source;
          auto task = [&route, &request]() -> awaitable<api::Response> {
            co_return run_handler(route, request);
          };
          response = co_await asio::co_spawn(workers.get_executor(), task, use_awaitable);
          body_consumed = body_source->done();
        }
      }
    }

    // A body we did not read leaves the connection unusable for another request.
    if (!body_consumed || stopping.load()) keep_alive = false;
    if (early_error && early_error->code != ErrorCode::kNotFound &&
        early_error->code != ErrorCode::kMethodNotAllowed) {
      keep_alive = false;
    }

    std::uint64_t bytes_out = 0;
    bool write_failed = false;
    if (response.stream) {
      bhttp::response<bhttp::empty_body> head{static_cast<bhttp::status>(response.status), 11};
      set_response_headers(head, response, request_id);
      head.content_length(response.stream_length);
      head.keep_alive(keep_alive);
      bhttp::response_serializer<bhttp::empty_body> serializer(head);
      stream.expires_after(config.body_timeout);
      auto [ec, n] = co_await bhttp::async_write_header(stream, serializer, kTuple);
      if (ec) {
        write_failed = true;
      } else {
        SocketBodySink sink(executor, stream, config.body_timeout, metrics);
        auto writer = [&response, &sink]() -> awaitable<Result<void>> {
          co_return response.stream(sink);
        };
        Result<void> wrote = co_await asio::co_spawn(workers.get_executor(), writer, use_awaitable);
        bytes_out = sink.written();
        if (!wrote || bytes_out != response.stream_length) {
          if (!wrote) log::app().warn("request {}: response body failed: {}", request_id, wrote.error().detail);
          write_failed = true;  // the client got fewer bytes than promised: close
        }
      }
    } else {
      bhttp::response<bhttp::string_body> message{static_cast<bhttp::status>(response.status), 11};
      set_response_headers(message, response, request_id);
      message.body() = std::move(response.body);
      message.keep_alive(keep_alive);
      message.prepare_payload();
      bytes_out = message.body().size();
      stream.expires_after(config.body_timeout);
      auto [ec, n] = co_await bhttp::async_write(stream, message, kTuple);
      if (ec) write_failed = true;
      metrics.bytes_out.fetch_add(bytes_out, std::memory_order_relaxed);
    }

    const auto elapsed = Clock::now() - started;
    route_metrics->record(response.status, elapsed);
    if (config.access_log) {
      log::access(access_fields(remote, method_text, target_text, response.status, bytes_out,
                                std::chrono::duration<double, std::milli>(elapsed).count(), request_id,
                                route_metrics->route()));
    }
    if (write_failed || !keep_alive) break;
  }

  boost::system::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream.socket().close(ignored);
}

void Server::Impl::begin_shutdown() {
  if (stopping.exchange(true)) return;
  log::app().info("shutting down: refusing new connections, finishing requests in flight");
  for (auto& thread : io) {
    asio::post(thread->ioc, [t = thread.get()] {
      for (auto& acceptor : t->acceptors) {
        boost::system::error_code ignored;
        acceptor.close(ignored);
      }
      for (Connection* c : t->connections) {
        if (c->idle) {
          boost::system::error_code ignored;
          c->stream->socket().cancel(ignored);
        }
      }
    });
  }
}

void block_shutdown_signals() {
  sigset_t shutdown_signals;
  sigemptyset(&shutdown_signals);
  sigaddset(&shutdown_signals, SIGINT);
  sigaddset(&shutdown_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &shutdown_signals, nullptr);
}

Server::Server(const HttpConfig& config, std::vector<Listener> listeners, Metrics& metrics)
    : impl_(std::make_unique<Impl>(config, std::move(listeners), metrics)) {}

Server::~Server() {
  impl_->workers.join();
}

void Server::bind() { impl_->bind(); }

std::uint16_t Server::port(std::size_t listener) const { return impl_->ports.at(listener); }

void Server::stop() { impl_->begin_shutdown(); }

bool Server::run() {
  Impl& s = *impl_;
  s.register_route_metrics();
  for (auto& thread : s.io) {
    for (std::size_t l = 0; l < thread->acceptors.size(); ++l) {
      asio::co_spawn(thread->ioc, s.accept_loop(*thread, thread->acceptors[l], l), asio::detached);
    }
  }
  IoThread& main = *s.io.front();
  asio::signal_set signals(main.ioc, SIGINT, SIGTERM);
  signals.async_wait([&s](boost::system::error_code ec, int) {
    if (!ec) s.begin_shutdown();
  });
  // A SIGTERM that came during start-up was held back (block_shutdown_signals); it is handled
  // now, as a graceful shutdown.
  sigset_t shutdown_signals;
  sigemptyset(&shutdown_signals);
  sigaddset(&shutdown_signals, SIGINT);
  sigaddset(&shutdown_signals, SIGTERM);
  pthread_sigmask(SIG_UNBLOCK, &shutdown_signals, nullptr);

  // Watches the shutdown: done when no connection is left, forced after the grace period.
  asio::steady_timer watch(main.ioc);
  std::optional<Clock::time_point> deadline;
  std::function<void(boost::system::error_code)> tick = [&](boost::system::error_code ec) {
    if (ec) return;
    if (s.stopping.load()) {
      if (!deadline) deadline = Clock::now() + s.config.shutdown_grace;
      if (s.open_connections.load() == 0 || Clock::now() >= *deadline) {
        if (s.open_connections.load() != 0) {
          s.clean = false;
          log::app().warn("shutdown grace period over with {} connections open",
                          s.open_connections.load());
        }
        signals.cancel();
        for (auto& thread : s.io) thread->ioc.stop();
        return;
      }
    }
    watch.expires_after(std::chrono::milliseconds(50));
    watch.async_wait(tick);
  };
  watch.expires_after(std::chrono::milliseconds(50));
  watch.async_wait(tick);

  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < s.io.size(); ++i) {
    threads.emplace_back([t = s.io[i].get()] { t->ioc.run(); });
  }
  main.ioc.run();
  for (auto& t : threads) t.join();
  return s.clean.load();
}

}  // namespace coffer::http
