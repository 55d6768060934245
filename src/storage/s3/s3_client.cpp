// The S3 client's operations: requests built and signed here, exchanged over s3_transport's
// connections by coroutines on the client's I/O thread, and waited for by the calling thread.
#include "storage/s3/s3_client.h"

#include <algorithm>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/beast/http/error.hpp>
#include <charconv>
#include <deque>
#include <filesystem>
#include <future>
#include <random>
#include <span>
#include <stdexcept>
#include <thread>
#include <variant>

#include "core/crypto.h"
#include "core/encoding.h"
#include "storage/s3/s3_protocol.h"
#include "storage/s3/s3_retry.h"
#include "storage/s3/s3_transport.h"
#include "storage/s3/sigv4.h"

namespace coffer::s3 {

namespace asio = boost::asio;
using detail::awaitable;
using detail::Connection;
using detail::ConnectionPool;
using detail::error_code;
using detail::SteadyClock;
using detail::SteadyTime;
using detail::TransportError;
namespace http = detail::http;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
// Bodies of answers read into memory: errors, listings, multipart results.
constexpr std::size_t kErrorBodyLimit = 64 * 1024;
constexpr std::size_t kXmlBodyLimit = 32 * 1024 * 1024;
// The two buffers of a streaming PUT.
constexpr std::size_t kStreamChunk = 1 << 20;
// Idle connections older than this are not reused (servers close idle ones after about a minute).
constexpr Duration kMaxIdle = std::chrono::seconds(20);
// How long to wait for an error answer after a streamed body could not be written.
constexpr Duration kEarlyAnswerWait = std::chrono::seconds(2);
constexpr int kMaxStaleRetries = 3;
constexpr std::size_t kDeleteBatch = 1000;

struct Request {
  std::string method;
  std::string path;       // on the wire, encoded
  QueryParams query;      // decoded
  Headers headers;        // signed; never Host, Content-Length or the signer's own
  std::string_view body;  // replayable body; for streamed requests empty
  std::uint64_t content_length = 0;
  std::string payload_hash;  // "" = UNSIGNED-PAYLOAD
  std::string what;          // "GET <key>" for error details
  bool head() const { return method == "HEAD"; }
};

struct ResponseHead {
  int status = 0;
  std::string etag;
  std::string last_modified;
  std::string content_type;
  std::string content_range;
  std::optional<std::uint64_t> content_length;
};

// A request's connection with the answer's head read, its body not yet.
struct Opened {
  std::unique_ptr<Connection> connection;
  ResponseHead head;
};

struct Response {
  ResponseHead head;
  std::string body;
};

// One attempt's outcome, for the retry loop.
struct Failure {
  Error error;
  bool retryable = false;
  bool stale = false;  // a reused connection was found dead before any answer: try a fresh one
};

Error source_shorter() { return Error::BadRequest("body is shorter than its declared length"); }
Error source_longer() { return Error::BadRequest("body is longer than its declared length"); }

bool is_success(int status) { return status >= 200 && status < 300; }

bool connection_dropped(const error_code& ec) {
  return ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == asio::error::broken_pipe || ec == http::error::end_of_stream ||
         ec == asio::error::connection_aborted;
}

std::string describe(const error_code& ec) {
  if (ec == boost::beast::error::timeout) return "timed out";
  return ec.message();
}

ResponseHead head_of(const Connection& c) {
  const auto& r = c.response();
  ResponseHead h;
  h.status = c.status();
  h.etag = std::string(r[http::field::etag]);
  h.last_modified = std::string(r[http::field::last_modified]);
  h.content_type = std::string(r[http::field::content_type]);
  h.content_range = std::string(r[http::field::content_range]);
  h.content_length = c.body_length();
  if (c.response().count(http::field::content_length) != 0) {
    // A HEAD answer has no body, but its Content-Length is the object's size.
    std::uint64_t n = 0;
    const std::string_view v = r[http::field::content_length];
    auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec == std::errc() && ptr == v.data() + v.size()) h.content_length = n;
  }
  return h;
}

std::string lower_hex_or_empty(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace

// ---- Impl: the I/O side -------------------------------------------------------------------------

struct S3Client::Impl {
  S3Config config;
  std::string bucket;
  BucketAddress address;
  detail::Target target;
  RetryPolicy retry;
  Credentials creds;
  SigningKeyCache keys;

  asio::io_context ioc{1};
  std::optional<asio::ssl::context> tls;
  std::unique_ptr<ConnectionPool> pool;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::thread thread;
  std::atomic<std::thread::id> thread_id{};
  std::mt19937_64 rng{std::random_device{}()};  // I/O thread only

  std::atomic<std::uint64_t> requests_sent{0};
  std::atomic<std::uint64_t> retries{0};
  std::atomic<std::uint64_t> connections_opened{0};
  std::atomic<int> connections_open{0};

  Impl(const S3Config& c, std::string b) : config(c), bucket(std::move(b)) {
    auto endpoint = service_endpoint(config);
    if (!endpoint) throw std::runtime_error(endpoint.error().detail);
    auto addr = address_bucket(*endpoint, bucket, config.path_style);
    if (!addr) throw std::runtime_error(addr.error().detail);
    address = std::move(*addr);
    target = {address.https, address.connect_host, address.port, address.tls_name};
    retry = RetryPolicy::from_config(config);
    creds = {config.access_key_id, config.secret_access_key, config.session_token};
    if (address.https) {
      tls.emplace(asio::ssl::context::tls_client);
      SSL_CTX_set_min_proto_version(tls->native_handle(), TLS1_2_VERSION);
      tls->set_default_verify_paths();
      if (!config.ca_file.empty()) {
        error_code ec;
        tls->load_verify_file(config.ca_file, ec);
        if (ec)
          throw std::runtime_error("s3: cannot load CA file " + config.ca_file + ": " +
                                   ec.message());
      }
      tls->set_verify_mode(asio::ssl::verify_peer);
    }
    pool =
        std::make_unique<ConnectionPool>(ioc.get_executor(), tls ? &*tls : nullptr,
                                         config.max_connections, config.connect_timeout, kMaxIdle);
    work.emplace(ioc.get_executor());
    thread = std::thread([this] {
      thread_id = std::this_thread::get_id();
      ioc.run();
    });
  }

  ~Impl() {
    std::promise<void> closed;
    asio::post(ioc, [this, &closed] {
      pool->close_all();
      closed.set_value();
    });
    closed.get_future().wait();
    work.reset();
    ioc.stop();
    thread.join();
    pool.reset();
  }

  bool on_io_thread() const { return std::this_thread::get_id() == thread_id.load(); }

  // Runs `op` on the I/O thread and waits for it.
  template <class T>
  T run(awaitable<T> op) {
    return asio::co_spawn(ioc, std::move(op), asio::use_future).get();
  }
  template <class T>
  std::future<T> spawn(awaitable<T> op) {
    return asio::co_spawn(ioc, std::move(op), asio::use_future);
  }

  void update_stats() {
    connections_open = pool->open();
    connections_opened = pool->opened();
  }

  // The request head on the wire, signed now.
  Result<std::string> wire_head(const Request& req) {
    RequestToSign to_sign;
    to_sign.method = req.method;
    to_sign.path = req.path;
    to_sign.query = req.query;
    to_sign.headers = req.headers;
    to_sign.headers.emplace_back("Host", address.host);
    to_sign.payload_hash =
        req.payload_hash.empty() ? std::string(kUnsignedPayload) : req.payload_hash;
    SigningParams params;
    params.creds = creds;
    params.region = config.region;
    params.time = std::chrono::system_clock::now();
    COFFER_TRY(HeaderSignature signature, sign_with_headers(to_sign, params, &keys));

    std::string out;
    out.reserve(512);
    out += req.method;
    out += ' ';
    out += req.path;
    if (!req.query.empty()) {
      out += '?';
      out += canonical_query_string(req.query);
    }
    out += " HTTP/1.1\r\n";
    for (const auto& [name, value] : to_sign.headers) out += name + ": " + value + "\r\n";
    for (const auto& [name, value] : signature.headers) out += name + ": " + value + "\r\n";
    if (req.content_length > 0 || req.method == "PUT" || req.method == "POST") {
      out += "Content-Length: " + std::to_string(req.content_length) + "\r\n";
    }
    out += "\r\n";
    return out;
  }

  // Reads the error answer whose head `c` holds, gives the connection back, and says what it
  // means.
  awaitable<Failure> failure_from_answer(std::unique_ptr<Connection> c, const Request& req) {
    const int status = c->status();
    std::string body;
    bool body_ok = true;
    if (!req.head()) {
      auto [ec, text] = co_await c->read_body_string(kErrorBodyLimit, config.request_timeout);
      body = std::move(text);
      body_ok = !ec;
    }
    pool->release(std::move(c), body_ok);
    const S3ErrorInfo info = parse_error(body);
    co_return Failure{error_for_response(status, info, req.what),
                      is_retryable_status(status, info.code), false};
  }

  // One attempt: a connection, the request written (head and replayable body), the answer's
  // head read. On success the connection is the caller's.
  awaitable<std::variant<Opened, Failure>> attempt(const Request& req) {
    const SteadyTime deadline = SteadyClock::now() + config.request_timeout;
    ConnectionPool::Lease lease = co_await pool->acquire(target, deadline);
    update_stats();
    if (lease.failure) {
      co_return Failure{lease.failure->error, lease.failure->retryable, false};
    }
    std::unique_ptr<Connection> c = std::move(lease.connection);
    auto head = wire_head(req);
    if (!head) {
      pool->release(std::move(c), true);
      co_return Failure{head.error(), false, false};
    }
    ++requests_sent;
    error_code ec = co_await c->write(*head, req.body, config.request_timeout);
    if (!ec) ec = co_await c->read_head(req.head(), config.request_timeout);
    if (ec) {
      pool->release(std::move(c), false);
      update_stats();
      const bool stale = lease.reused && connection_dropped(ec);
      co_return Failure{Error::StorageUnavailable("s3: " + req.what + ": " + describe(ec)), true,
                        stale};
    }
    if (!is_success(c->status())) co_return co_await failure_from_answer(std::move(c), req);
    ResponseHead h = head_of(*c);
    co_return Opened{std::move(c), std::move(h)};
  }

  // Runs `attempt` until it succeeds, fails for good, or the retry policy says stop.
  awaitable<Result<Opened>> open(const Request& req) {
    const SteadyTime start = SteadyClock::now();
    int attempts = 0;
    int stale_retries = 0;
    for (;;) {
      ++attempts;
      auto outcome = co_await attempt(req);
      if (auto* opened = std::get_if<Opened>(&outcome)) co_return std::move(*opened);
      Failure failure = std::move(std::get<Failure>(outcome));
      if (failure.stale && stale_retries < kMaxStaleRetries) {
        ++stale_retries;
        --attempts;
        continue;
      }
      if (!failure.retryable) co_return failure.error;
      std::uniform_real_distribution<double> unit(0.0, 1.0);
      const Duration delay = backoff_delay(retry, attempts, unit(rng));
      const auto elapsed = std::chrono::duration_cast<Duration>(SteadyClock::now() - start);
      if (!may_retry(retry, attempts, elapsed, delay)) {
        Error e = std::move(failure.error);
        e.detail += " (after " + std::to_string(attempts) + " attempts)";
        co_return e;
      }
      ++retries;
      asio::steady_timer timer(ioc);
      timer.expires_after(delay);
      co_await timer.async_wait(kTuple);
    }
  }

  // A whole exchange: the answer's body read into memory (at most `limit` bytes).
  awaitable<Result<Response>> exchange(Request req, std::size_t limit) {
    req.content_length = req.body.size();
    const SteadyTime start = SteadyClock::now();
    int body_failures = 0;
    for (;;) {
      Result<Opened> opened = co_await open(req);
      if (!opened) co_return opened.error();
      Response response{std::move(opened->head), {}};
      std::unique_ptr<Connection> c = std::move(opened->connection);
      if (!req.head()) {
        auto [ec, body] = co_await c->read_body_string(limit, config.request_timeout);
        if (ec) {
          pool->release(std::move(c), false);
          update_stats();
          // The answer broke off: the request was done, so it may be asked again.
          ++body_failures;
          const auto elapsed = std::chrono::duration_cast<Duration>(SteadyClock::now() - start);
          if (ec != http::error::body_limit && body_failures < retry.max_attempts &&
              elapsed < retry.budget) {
            ++retries;
            continue;
          }
          co_return Error::StorageUnavailable("s3: " + req.what +
                                              ": reading the answer: " + describe(ec));
        }
        response.body = std::move(body);
      }
      pool->release(std::move(c), true);
      co_return response;
    }
  }

  // ---- Streaming pieces, each run by the calling thread in turn ----------------------------

  // A connection with the request head of a streamed body written.
  awaitable<Result<std::unique_ptr<Connection>>> begin_stream(Request req) {
    const SteadyTime start = SteadyClock::now();
    int attempts = 0;
    int stale_retries = 0;
    for (;;) {
      ++attempts;
      std::optional<Failure> failure;
      const SteadyTime deadline = SteadyClock::now() + config.request_timeout;
      ConnectionPool::Lease lease = co_await pool->acquire(target, deadline);
      update_stats();
      if (lease.failure) {
        failure = Failure{lease.failure->error, lease.failure->retryable, false};
      } else {
        auto head = wire_head(req);
        if (!head) {
          pool->release(std::move(lease.connection), true);
          co_return head.error();
        }
        ++requests_sent;
        error_code ec = co_await lease.connection->write(*head, {}, config.request_timeout);
        if (!ec) co_return std::move(lease.connection);
        pool->release(std::move(lease.connection), false);
        update_stats();
        failure = Failure{Error::StorageUnavailable("s3: " + req.what + ": " + describe(ec)), true,
                          lease.reused && connection_dropped(ec)};
      }
      if (failure->stale && stale_retries < kMaxStaleRetries) {
        ++stale_retries;
        --attempts;
        continue;
      }
      if (!failure->retryable) co_return failure->error;
      std::uniform_real_distribution<double> unit(0.0, 1.0);
      const Duration delay = backoff_delay(retry, attempts, unit(rng));
      const auto elapsed = std::chrono::duration_cast<Duration>(SteadyClock::now() - start);
      if (!may_retry(retry, attempts, elapsed, delay)) co_return failure->error;
      ++retries;
      asio::steady_timer timer(ioc);
      timer.expires_after(delay);
      co_await timer.async_wait(kTuple);
    }
  }

  awaitable<error_code> write_chunk(Connection* c, std::string_view data) {
    co_return co_await c->write(data, {}, config.request_timeout);
  }

  // The answer to a streamed request whose body was sent whole.
  awaitable<Result<Response>> finish_stream(std::unique_ptr<Connection> c, Request req) {
    error_code ec = co_await c->read_head(false, config.request_timeout);
    if (ec) {
      pool->release(std::move(c), false);
      update_stats();
      co_return Error::StorageUnavailable("s3: " + req.what + ": " + describe(ec));
    }
    if (!is_success(c->status())) {
      Failure f = co_await failure_from_answer(std::move(c), req);
      update_stats();
      co_return f.error;
    }
    Response response{head_of(*c), {}};
    auto [bec, body] = co_await c->read_body_string(kXmlBodyLimit, config.request_timeout);
    response.body = std::move(body);
    pool->release(std::move(c), !bec);
    update_stats();
    co_return response;
  }

  // After a write of a streamed body failed: the server may have answered and closed (an
  // authentication error, say). Reads that answer briefly; else the transport error stands.
  awaitable<Error> fail_stream(std::unique_ptr<Connection> c, Request req, error_code write_error) {
    Error error = Error::StorageUnavailable("s3: " + req.what +
                                            ": sending the body: " + describe(write_error));
    if (c->is_open()) {
      error_code ec = co_await c->read_head(false, kEarlyAnswerWait);
      if (!ec && !is_success(c->status())) {
        Failure f = co_await failure_from_answer(std::move(c), req);
        update_stats();
        co_return f.error;
      }
    }
    if (c) pool->release(std::move(c), false);
    update_stats();
    co_return error;
  }

  // Drops a streamed request unfinished: closing the connection before the body is whole makes
  // the server discard it.
  awaitable<bool> abandon(std::unique_ptr<Connection> c) {
    pool->release(std::move(c), false);
    update_stats();
    co_return true;
  }

  // Bytes read into `out` (what arrived before a failure counts), and the failure if any.
  struct ReadSome {
    std::size_t bytes = 0;
    std::optional<Error> error;
  };
  awaitable<ReadSome> read_some(Connection* c, std::span<char> out, std::string what) {
    ReadSome result;
    if (c == nullptr) {
      result.error = Error::StorageUnavailable("s3: " + what + ": no connection");
      co_return result;
    }
    auto [ec, n] = co_await c->read_body(out, config.request_timeout);
    result.bytes = n;
    if (ec) {
      result.error =
          Error::StorageUnavailable("s3: " + what + ": reading the body: " + describe(ec));
    }
    co_return result;
  }

  awaitable<bool> give_back(std::unique_ptr<Connection> c) {
    const bool reusable = c->keep_alive();
    pool->release(std::move(c), reusable);
    update_stats();
    co_return true;
  }

  // ---- Request builders ----------------------------------------------------------------------

  Request object_request(std::string method, const std::string& key) {
    Request r;
    r.method = std::move(method);
    r.path = address.object_path(key);
    r.what = r.method + " " + key;
    return r;
  }

  Request bucket_request(std::string method) {
    Request r;
    r.method = std::move(method);
    r.path = address.bucket_path();
    r.what = r.method + " bucket " + bucket;
    return r;
  }

  Result<Response> call(Request req, std::size_t limit = kXmlBodyLimit) {
    if (on_io_thread()) return Error::Internal("s3: a blocking call on the client's I/O thread");
    return run(exchange(std::move(req), limit));
  }
};

// ---- Readers ------------------------------------------------------------------------------------

namespace {

// Streams a GET answer's body: each read() runs on the I/O thread and fills the caller's buffer
// straight from the socket. A connection that breaks mid-body is replaced by a ranged GET for the
// rest, conditional on the same ETag (If-Match), so a reader never mixes two versions.
class S3BodyReader final : public storage::ObjectReader {
 public:
  // `first` is the object offset of the body's first byte; `etag` the object's (may be "": then
  // no resuming).
  S3BodyReader(S3Client::Impl& impl, std::unique_ptr<Connection> c, std::string key,
               std::uint64_t first, std::uint64_t size, std::string etag, std::string what)
      : impl_(impl),
        connection_(std::move(c)),
        key_(std::move(key)),
        next_(first),
        size_(size),
        remaining_(size),
        etag_(std::move(etag)),
        what_(std::move(what)),
        resumes_left_(impl.retry.max_attempts - 1) {}

  ~S3BodyReader() override {
    if (connection_) {
      // Not waited for: the I/O thread gives the connection back (or closes it) on its own.
      asio::co_spawn(impl_.ioc, impl_.give_back(std::move(connection_)), asio::detached);
    }
  }

  std::uint64_t size() const override { return size_; }

  Result<std::size_t> read(std::span<char> out) override {
    if (failed_) return *failed_;
    if (remaining_ == 0 || out.empty()) {
      if (remaining_ == 0) release();
      return std::size_t{0};
    }
    if (impl_.on_io_thread()) return Error::Internal("s3: a blocking read on the I/O thread");
    const std::size_t want =
        static_cast<std::size_t>(std::min<std::uint64_t>(out.size(), remaining_));
    for (;;) {
      auto got = impl_.run(impl_.read_some(connection_.get(), out.first(want), what_));
      if (got.bytes > 0) {
        remaining_ -= got.bytes;
        next_ += got.bytes;
        if (remaining_ == 0) release();
        return got.bytes;
      }
      Error error = got.error
                        ? *got.error
                        : Error::StorageUnavailable("s3: " + what_ + ": the body ended early");
      if (auto resumed = resume(); !resumed) {
        error.detail += "; resuming failed: " + resumed.error().detail;
        failed_ = error;
        return error;
      }
    }
  }

 private:
  void release() {
    if (connection_) impl_.run(impl_.give_back(std::move(connection_)));
  }

  // A new connection carrying the rest of the body, or why there is none.
  Result<void> resume() {
    if (etag_.empty()) return Error::Internal("no ETag to resume on");
    if (resumes_left_ <= 0) return Error::Internal("no attempts left");
    --resumes_left_;
    release();
    Request req = impl_.object_request("GET", key_);
    req.headers.emplace_back("Range", range_header({next_, next_ + remaining_ - 1}));
    req.headers.emplace_back("If-Match", etag_);
    ++impl_.retries;
    COFFER_TRY(Opened opened, impl_.run(impl_.open(req)));
    const auto cr = parse_content_range(opened.head.content_range);
    if (opened.head.status != 206 || !cr || cr->first != next_ ||
        cr->last - cr->first + 1 != remaining_) {
      impl_.run(impl_.abandon(std::move(opened.connection)));
      return Error::Internal("unexpected answer " + std::to_string(opened.head.status) + " " +
                             opened.head.content_range);
    }
    connection_ = std::move(opened.connection);
    return Ok();
  }

  S3Client::Impl& impl_;
  std::unique_ptr<Connection> connection_;
  std::string key_;
  std::uint64_t next_;
  std::uint64_t size_;
  std::uint64_t remaining_;
  std::string etag_;
  std::string what_;
  int resumes_left_;
  std::optional<Error> failed_;
};

// Reads from `source` into `out` until it is full or the source ends.
struct Filled {
  std::size_t bytes = 0;
  bool ended = false;
};
Result<Filled> fill(ByteSource& source, std::span<char> out) {
  Filled f;
  while (f.bytes < out.size()) {
    COFFER_TRY(std::size_t n, source.read(out.subspan(f.bytes)));
    if (n == 0) {
      f.ended = true;
      break;
    }
    if (n > out.size() - f.bytes) return Error::Internal("s3: a source returned more than asked");
    f.bytes += n;
  }
  return f;
}

// Reads from `source` into `out`, never past `remaining` (the rest of its declared length). When
// the declared length is reached, asks once more to see the end: more bytes, or an error from the
// source (which may be how it reports a checksum mismatch), fail the fill.
Result<Filled> fill_exact(ByteSource& source, std::span<char> out, std::uint64_t remaining) {
  Filled f;
  const std::size_t limit =
      static_cast<std::size_t>(std::min<std::uint64_t>(out.size(), remaining));
  while (f.bytes < limit) {
    COFFER_TRY(std::size_t n, source.read(out.subspan(f.bytes, limit - f.bytes)));
    if (n == 0) return source_shorter();
    if (n > limit - f.bytes) return Error::Internal("s3: a source returned more than asked");
    f.bytes += n;
  }
  if (f.bytes == remaining) {
    char probe[64];
    COFFER_TRY(std::size_t extra, source.read(probe));
    if (extra != 0) return source_longer();
    f.ended = true;
  }
  return f;
}

// Passes a source through, failing when it delivers more or fewer bytes than declared.
class ExactLengthSource final : public ByteSource {
 public:
  ExactLengthSource(ByteSource& inner, std::uint64_t size) : inner_(inner), size_(size) {}
  Result<std::size_t> read(std::span<char> out) override {
    COFFER_TRY(std::size_t n, inner_.read(out));
    if (n == 0 && seen_ != size_) return source_shorter();
    seen_ += n;
    if (seen_ > size_) return source_longer();
    return n;
  }

 private:
  ByteSource& inner_;
  std::uint64_t size_;
  std::uint64_t seen_ = 0;
};

}  // namespace

// ---- S3Client -----------------------------------------------------------------------------------

S3Client::S3Client(const S3Config& config, std::string bucket)
    : impl_(std::make_unique<Impl>(config, std::move(bucket))) {}

S3Client::~S3Client() = default;

const std::string& S3Client::bucket() const { return impl_->bucket; }
const BucketAddress& S3Client::address() const { return impl_->address; }

ClientStats S3Client::stats() const {
  ClientStats s;
  s.connections_opened = impl_->connections_opened.load();
  s.requests_sent = impl_->requests_sent.load();
  s.retries = impl_->retries.load();
  s.connections_open = impl_->connections_open.load();
  return s;
}

Result<void> S3Client::head_bucket() {
  COFFER_TRY_VOID(impl_->call(impl_->bucket_request("HEAD")));
  return Ok();
}

Result<ObjectHead> S3Client::head_object(const std::string& key) {
  COFFER_TRY(Response r, impl_->call(impl_->object_request("HEAD", key)));
  ObjectHead h;
  h.size = r.head.content_length.value_or(0);
  h.etag = r.head.etag.empty() ? std::string() : quoted_etag(r.head.etag);
  h.last_modified = parse_http_date(r.head.last_modified).value_or(SystemTime{});
  h.content_type = r.head.content_type;
  return h;
}

Result<GetObjectResult> S3Client::get_object(const std::string& key,
                                             std::optional<storage::ByteRange> range) {
  if (impl_->on_io_thread()) return Error::Internal("s3: a blocking call on the I/O thread");
  Request req = impl_->object_request("GET", key);
  if (range) {
    if (range->first > range->last) return Error::RangeNotSatisfiable();
    req.headers.emplace_back("Range", range_header(*range));
  }
  COFFER_TRY(Opened opened, impl_->run(impl_->open(req)));
  const ResponseHead& h = opened.head;
  GetObjectResult out;
  out.head.etag = h.etag.empty() ? std::string() : quoted_etag(h.etag);
  out.head.last_modified = parse_http_date(h.last_modified).value_or(SystemTime{});
  out.head.content_type = h.content_type;
  if (!h.content_length) {
    impl_->run(impl_->abandon(std::move(opened.connection)));
    return Error::Internal("s3: " + req.what + ": an answer without Content-Length");
  }
  const std::uint64_t length = *h.content_length;
  if (h.status == 206) {
    auto cr = parse_content_range(h.content_range);
    if (!cr || !range || cr->first != range->first || cr->last - cr->first + 1 != length) {
      impl_->run(impl_->abandon(std::move(opened.connection)));
      return Error::Internal("s3: " + req.what + ": unexpected Content-Range '" + h.content_range +
                             "'");
    }
    out.head.size = cr->total.value_or(0);
  } else {
    out.head.size = length;
    if (range && (range->first != 0 || range->last + 1 != length)) {
      impl_->run(impl_->abandon(std::move(opened.connection)));
      if (range->last >= length) return Error::RangeNotSatisfiable();
      return Error::Internal("s3: " + req.what + ": the server ignored Range");
    }
  }
  out.body =
      std::make_unique<S3BodyReader>(*impl_, std::move(opened.connection), key,
                                     range ? range->first : 0, length, out.head.etag, req.what);
  return out;
}

Result<PutObjectResult> S3Client::put_object(const std::string& key, std::string_view body,
                                             const PutObjectOptions& options) {
  Request req = impl_->object_request("PUT", key);
  if (!options.content_type.empty()) req.headers.emplace_back("Content-Type", options.content_type);
  req.body = body;
  COFFER_TRY(Response r, impl_->call(std::move(req)));
  return PutObjectResult{body.size(), quoted_etag(r.head.etag)};
}

Result<PutObjectResult> S3Client::put_object(const std::string& key, ByteSource& body,
                                             std::uint64_t size, const PutObjectOptions& options) {
  if (impl_->on_io_thread()) return Error::Internal("s3: a blocking call on the I/O thread");
  const std::size_t chunk = static_cast<std::size_t>(std::min<std::uint64_t>(size, kStreamChunk));
  std::vector<char> a(std::max<std::size_t>(chunk, 1));
  COFFER_TRY(Filled first, fill_exact(body, a, size));
  if (first.ended) {
    // The whole body is in memory: a replayable PUT.
    return put_object(key, std::string_view(a.data(), first.bytes), options);
  }

  Request req = impl_->object_request("PUT", key);
  if (!options.content_type.empty()) req.headers.emplace_back("Content-Type", options.content_type);
  req.content_length = size;
  COFFER_TRY(std::unique_ptr<Connection> c, impl_->run(impl_->begin_stream(req)));

  std::vector<char> b(a.size());
  std::vector<char>* current = &a;
  std::vector<char>* next = &b;
  std::size_t current_bytes = first.bytes;
  std::uint64_t taken = first.bytes;
  bool ended = false;
  for (;;) {
    const std::string_view data(current->data(), current_bytes);
    if (ended) {
      // The last bytes, sent only now that the source has ended without error.
      error_code ec = impl_->run(impl_->write_chunk(c.get(), data));
      if (ec) return impl_->run(impl_->fail_stream(std::move(c), req, ec));
      break;
    }
    std::future<error_code> sending = impl_->spawn(impl_->write_chunk(c.get(), data));
    Result<Filled> filled = fill_exact(body, *next, size - taken);
    error_code ec = sending.get();
    if (!filled) {
      impl_->run(impl_->abandon(std::move(c)));
      return filled.error();
    }
    if (ec) return impl_->run(impl_->fail_stream(std::move(c), req, ec));
    taken += filled->bytes;
    ended = filled->ended;
    current_bytes = filled->bytes;
    std::swap(current, next);
  }
  COFFER_TRY(Response r, impl_->run(impl_->finish_stream(std::move(c), req)));
  return PutObjectResult{size, quoted_etag(r.head.etag)};
}

std::uint64_t S3Client::part_size_for(std::uint64_t configured, int part_number) {
  const std::uint64_t base = std::clamp(configured, kMinPartSize, kMaxPartSize);
  const int doublings = std::clamp((part_number - 1) / 1000, 0, 9);
  return std::min(base << doublings, kMaxPartSize);
}

Result<PutObjectResult> S3Client::multipart_upload(const std::string& key, ByteSource& body,
                                                   const PutObjectOptions& options) {
  if (impl_->on_io_thread()) return Error::Internal("s3: a blocking call on the I/O thread");
  const std::size_t in_flight_max =
      static_cast<std::size_t>(std::max(1, impl_->config.parts_in_flight));

  struct Buffer {
    std::unique_ptr<char[]> data;
    std::size_t size = 0;
  };
  std::vector<Buffer> free_buffers;
  auto take_buffer = [&](int part_number) {
    const auto size = static_cast<std::size_t>(part_size_for(impl_->config.part_size, part_number));
    std::erase_if(free_buffers, [size](const Buffer& b) { return b.size != size; });
    if (free_buffers.empty()) return Buffer{std::make_unique_for_overwrite<char[]>(size), size};
    Buffer b = std::move(free_buffers.back());
    free_buffers.pop_back();
    return b;
  };

  Buffer buffer = take_buffer(1);
  COFFER_TRY(Filled filled, fill(body, std::span<char>(buffer.data.get(), buffer.size)));
  if (filled.ended) {
    return put_object(key, std::string_view(buffer.data.get(), filled.bytes), options);
  }

  COFFER_TRY(std::string upload_id, create_multipart_upload(key, options));

  struct InFlight {
    int number = 0;
    Buffer buffer;
    std::future<Result<Response>> answer;
  };
  std::deque<InFlight> in_flight;
  std::vector<CompletedPart> done;
  std::uint64_t total = 0;
  int number = 0;
  std::optional<Error> failure;

  auto launch = [&](Buffer data, std::size_t bytes) {
    Request req = impl_->object_request("PUT", key);
    req.query = {{"partNumber", std::to_string(number)}, {"uploadId", upload_id}};
    req.what = "UploadPart " + std::to_string(number) + " of " + key;
    req.body = std::string_view(data.data.get(), bytes);
    auto answer = impl_->spawn(impl_->exchange(std::move(req), kErrorBodyLimit));
    in_flight.push_back({number, std::move(data), std::move(answer)});
  };
  // Waits for the oldest part in flight; sets `failure` if it failed.
  auto settle_oldest = [&] {
    InFlight part = std::move(in_flight.front());
    in_flight.pop_front();
    Result<Response> answer = part.answer.get();
    free_buffers.push_back(std::move(part.buffer));
    if (!answer) {
      if (!failure) failure = answer.error();
    } else if (answer->head.etag.empty()) {
      if (!failure) failure = Error::Internal("s3: UploadPart answered without an ETag");
    } else {
      done.push_back({part.number, quoted_etag(answer->head.etag)});
    }
  };

  ++number;
  total += filled.bytes;
  launch(std::move(buffer), filled.bytes);
  while (!failure) {
    if (number >= kMaxParts) {
      // 10000 parts hold S3's largest object: anything more is refused.
      char probe[64];
      auto extra = body.read(probe);
      if (!extra)
        failure = extra.error();
      else if (*extra > 0)
        failure = Error::PayloadTooLarge("the body is larger than S3 accepts");
      break;
    }
    buffer = take_buffer(number + 1);
    Result<Filled> more = fill(body, std::span<char>(buffer.data.get(), buffer.size));
    if (!more) {
      failure = more.error();
      break;
    }
    if (more->bytes == 0) break;
    while (in_flight.size() >= in_flight_max && !failure) settle_oldest();
    if (failure) break;
    ++number;
    total += more->bytes;
    launch(std::move(buffer), more->bytes);
    if (more->ended) break;
  }
  while (!in_flight.empty()) settle_oldest();
  if (!failure) {
    auto etag = complete_multipart_upload(key, upload_id, done);
    if (etag) return PutObjectResult{total, *etag};
    failure = etag.error();
  }
  (void)abort_multipart_upload(key, upload_id);  // best effort; abort_incomplete_uploads sweeps
  return *failure;
}

Result<PutObjectResult> S3Client::upload(const std::string& key, ByteSource& body,
                                         std::optional<std::uint64_t> size,
                                         const PutObjectOptions& options) {
  if (!size) return multipart_upload(key, body, options);
  if (*size <= multipart_threshold_) return put_object(key, body, *size, options);
  ExactLengthSource exact(body, *size);
  return multipart_upload(key, exact, options);
}

Result<void> S3Client::delete_object(const std::string& key) {
  auto r = impl_->call(impl_->object_request("DELETE", key));
  if (!r && r.error().code != ErrorCode::kNotFound) return r.error();
  return Ok();
}

Result<std::vector<DeleteFailure>> S3Client::delete_objects(const std::vector<std::string>& keys) {
  std::vector<DeleteFailure> failures;
  for (std::size_t start = 0; start < keys.size(); start += kDeleteBatch) {
    const std::vector<std::string> batch(
        keys.begin() + static_cast<long>(start),
        keys.begin() + static_cast<long>(std::min(keys.size(), start + kDeleteBatch)));
    COFFER_TRY(std::string xml, delete_objects_body(batch));
    Request req = impl_->bucket_request("POST");
    req.query = {{"delete", ""}};
    req.headers = {{"Content-Type", "application/xml"}, {"Content-MD5", content_md5(xml)}};
    req.payload_hash = sha256_hex(xml);
    req.body = xml;
    req.what = "DeleteObjects (" + std::to_string(batch.size()) + " keys)";
    COFFER_TRY(Response r, impl_->call(std::move(req)));
    COFFER_TRY(auto batch_failures, parse_delete_result(r.body));
    for (auto& f : batch_failures) {
      // Deleting what is not there is what we wanted.
      if (f.code != "NoSuchKey") failures.push_back(std::move(f));
    }
  }
  return failures;
}

Result<ListObjectsPage> S3Client::list_objects_v2(const ListObjectsRequest& request) {
  Request req = impl_->bucket_request("GET");
  req.query = {{"list-type", "2"},
               {"max-keys", std::to_string(std::clamp(request.max_keys, 1, 1000))}};
  if (!request.prefix.empty()) req.query.emplace_back("prefix", request.prefix);
  if (!request.continuation_token.empty()) {
    req.query.emplace_back("continuation-token", request.continuation_token);
  }
  if (!request.start_after.empty()) req.query.emplace_back("start-after", request.start_after);
  if (!request.delimiter.empty()) req.query.emplace_back("delimiter", request.delimiter);
  req.what = "ListObjectsV2 " + request.prefix;
  COFFER_TRY(Response r, impl_->call(std::move(req)));
  return parse_list_objects_v2(r.body);
}

Result<std::string> S3Client::create_multipart_upload(const std::string& key,
                                                      const PutObjectOptions& options) {
  Request req = impl_->object_request("POST", key);
  req.query = {{"uploads", ""}};
  if (!options.content_type.empty()) req.headers.emplace_back("Content-Type", options.content_type);
  req.what = "CreateMultipartUpload " + key;
  COFFER_TRY(Response r, impl_->call(std::move(req)));
  return parse_initiate_multipart_upload(r.body);
}

Result<std::string> S3Client::upload_part(const std::string& key, const std::string& upload_id,
                                          int part_number, std::string_view data) {
  if (part_number < 1 || part_number > kMaxParts) return Error::BadRequest("bad part number");
  Request req = impl_->object_request("PUT", key);
  req.query = {{"partNumber", std::to_string(part_number)}, {"uploadId", upload_id}};
  req.body = data;
  req.what = "UploadPart " + std::to_string(part_number) + " of " + key;
  COFFER_TRY(Response r, impl_->call(std::move(req), kErrorBodyLimit));
  if (r.head.etag.empty()) return Error::Internal("s3: UploadPart answered without an ETag");
  return quoted_etag(r.head.etag);
}

Result<std::string> S3Client::complete_multipart_upload(const std::string& key,
                                                        const std::string& upload_id,
                                                        const std::vector<CompletedPart>& parts) {
  const std::string xml = complete_multipart_body(parts);
  for (int attempt = 1;; ++attempt) {
    Request req = impl_->object_request("POST", key);
    req.query = {{"uploadId", upload_id}};
    req.headers = {{"Content-Type", "application/xml"}};
    req.payload_hash = sha256_hex(xml);
    req.body = xml;
    req.what = "CompleteMultipartUpload " + key;
    COFFER_TRY(Response r, impl_->call(std::move(req)));
    COFFER_TRY(CompleteResult done, parse_complete_multipart_upload(r.body));
    if (done.error) {
      // A 200 whose body is an error: retry the transient ones like any 5xx.
      if (is_retryable_status(500, done.error->code) && attempt < impl_->retry.max_attempts) {
        continue;
      }
      return error_for_response(500, *done.error, "CompleteMultipartUpload " + key);
    }
    if (!done.etag.empty()) return quoted_etag(done.etag);
    COFFER_TRY(ObjectHead head, head_object(key));
    return head.etag;
  }
}

Result<void> S3Client::abort_multipart_upload(const std::string& key,
                                              const std::string& upload_id) {
  Request req = impl_->object_request("DELETE", key);
  req.query = {{"uploadId", upload_id}};
  req.what = "AbortMultipartUpload " + key;
  auto r = impl_->call(std::move(req));
  if (!r && r.error().code != ErrorCode::kNotFound) return r.error();
  return Ok();
}

Result<std::vector<ListedPart>> S3Client::list_parts(const std::string& key,
                                                     const std::string& upload_id) {
  std::vector<ListedPart> parts;
  int marker = 0;
  for (;;) {
    Request req = impl_->object_request("GET", key);
    req.query = {{"uploadId", upload_id}};
    if (marker > 0) req.query.emplace_back("part-number-marker", std::to_string(marker));
    req.what = "ListParts " + key;
    COFFER_TRY(Response r, impl_->call(std::move(req)));
    COFFER_TRY(ListPartsPage page, parse_list_parts(r.body));
    parts.insert(parts.end(), page.parts.begin(), page.parts.end());
    if (!page.is_truncated || page.next_part_number_marker <= marker) break;
    marker = page.next_part_number_marker;
  }
  std::sort(parts.begin(), parts.end(),
            [](const ListedPart& x, const ListedPart& y) { return x.part_number < y.part_number; });
  return parts;
}

Result<std::vector<ListedUpload>> S3Client::list_multipart_uploads(const std::string& prefix) {
  std::vector<ListedUpload> uploads;
  std::string key_marker;
  std::string id_marker;
  for (int page_count = 0; page_count < 100000; ++page_count) {
    Request req = impl_->bucket_request("GET");
    req.query = {{"uploads", ""}};
    if (!prefix.empty()) req.query.emplace_back("prefix", prefix);
    if (!key_marker.empty()) req.query.emplace_back("key-marker", key_marker);
    if (!id_marker.empty()) req.query.emplace_back("upload-id-marker", id_marker);
    req.what = "ListMultipartUploads " + prefix;
    COFFER_TRY(Response r, impl_->call(std::move(req)));
    COFFER_TRY(ListUploadsPage page, parse_list_multipart_uploads(r.body));
    uploads.insert(uploads.end(), page.uploads.begin(), page.uploads.end());
    if (!page.is_truncated) break;
    if (page.next_key_marker.empty() && !page.uploads.empty()) {
      page.next_key_marker = page.uploads.back().key;
      page.next_upload_id_marker = page.uploads.back().upload_id;
    }
    if (page.next_key_marker == key_marker && page.next_upload_id_marker == id_marker) break;
    key_marker = page.next_key_marker;
    id_marker = page.next_upload_id_marker;
  }
  return uploads;
}

Result<int> S3Client::abort_incomplete_uploads(const std::string& prefix, SystemTime older_than) {
  COFFER_TRY(auto uploads, list_multipart_uploads(prefix));
  int aborted = 0;
  for (const auto& u : uploads) {
    if (u.initiated >= older_than) continue;
    COFFER_TRY_VOID(abort_multipart_upload(u.key, u.upload_id));
    ++aborted;
  }
  return aborted;
}

// ---- Presigning ---------------------------------------------------------------------------------

namespace {

Result<PresignedRequest> presign_request(const S3Client::Impl& impl, std::string method,
                                         const std::string& path, QueryParams query, Headers bound,
                                         std::string payload_hash, const PresignOptions& options,
                                         SigningKeyCache& keys) {
  RequestToSign to_sign;
  to_sign.method = method;
  to_sign.path = path;
  to_sign.query = std::move(query);
  to_sign.headers = bound;
  to_sign.headers.emplace_back("Host", impl.address.host);
  to_sign.payload_hash = std::move(payload_hash);
  SigningParams params;
  params.creds = impl.creds;
  params.region = impl.config.region;
  params.time = options.now;
  COFFER_TRY(PresignedQuery signed_query, presign(to_sign, params, options.expires_in, &keys));
  PresignedRequest out;
  out.method = std::move(method);
  out.url = impl.address.url(path, signed_query.query);
  for (auto& [name, value] : bound) out.headers[name] = value;
  // SigV4 signs whole seconds: the URL lives from the signing second on.
  out.expires_at = std::chrono::floor<std::chrono::seconds>(options.now) + options.expires_in;
  return out;
}

}  // namespace

Result<PresignedRequest> S3Client::presign_get(const std::string& key,
                                               const PresignOptions& options,
                                               const std::string& response_content_disposition) {
  QueryParams query;
  if (!response_content_disposition.empty()) {
    query.emplace_back("response-content-disposition", response_content_disposition);
  }
  return presign_request(*impl_, "GET", impl_->address.object_path(key), std::move(query), {},
                         std::string(kUnsignedPayload), options, impl_->keys);
}

Result<PresignedRequest> S3Client::presign_put(const std::string& key,
                                               const PresignOptions& options,
                                               std::optional<std::uint64_t> content_length,
                                               const std::string& content_type,
                                               const std::string& sha256) {
  Headers bound;
  if (content_length) bound.emplace_back("Content-Length", std::to_string(*content_length));
  if (!content_type.empty()) bound.emplace_back("Content-Type", content_type);
  std::string payload_hash(kUnsignedPayload);
  if (!sha256.empty()) {
    if (!is_sha256_hex(sha256)) return Error::BadRequest("sha256 must be 64 hex digits");
    // S3 takes a sent x-amz-content-sha256 as the payload hash of the canonical request, presigned
    // or not, and refuses a body that does not match it.
    payload_hash = lower_hex_or_empty(sha256);
    bound.emplace_back("x-amz-content-sha256", payload_hash);
  }
  return presign_request(*impl_, "PUT", impl_->address.object_path(key), {}, std::move(bound),
                         std::move(payload_hash), options, impl_->keys);
}

Result<PresignedRequest> S3Client::presign_upload_part(
    const std::string& key, const std::string& upload_id, int part_number,
    const PresignOptions& options, std::optional<std::uint64_t> content_length,
    const std::string& sha256) {
  if (part_number < 1 || part_number > kMaxParts) return Error::BadRequest("bad part number");
  Headers bound;
  if (content_length) bound.emplace_back("Content-Length", std::to_string(*content_length));
  std::string payload_hash(kUnsignedPayload);
  if (!sha256.empty()) {
    if (!is_sha256_hex(sha256)) return Error::BadRequest("sha256 must be 64 hex digits");
    payload_hash = lower_hex_or_empty(sha256);  // as for presign_put
    bound.emplace_back("x-amz-content-sha256", payload_hash);
  }
  QueryParams query = {{"partNumber", std::to_string(part_number)}, {"uploadId", upload_id}};
  return presign_request(*impl_, "PUT", impl_->address.object_path(key), std::move(query),
                         std::move(bound), std::move(payload_hash), options, impl_->keys);
}

}  // namespace coffer::s3
