// The HTTP server: Boost.Beast on one io_context per I/O thread (SO_REUSEPORT acceptors), one
// coroutine per connection, handlers inline or on a worker pool. Everything Asio/Beast is in
// server.cpp; nothing of it leaks through this header.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/metrics.h"
#include "http/router.h"

namespace coffer::http {

struct Listener {
  std::string address;  // host:port; port 0 picks a free one
  // Read from run() on; may still be empty at construction and bind().
  const Router* router = nullptr;
};

// Holds SIGINT and SIGTERM back from the calling thread and the threads it starts later, until
// Server::run() handles them; call it first thing, so a signal during start-up is not fatal.
void block_shutdown_signals();

class Server {
 public:
  Server(const HttpConfig& config, std::vector<Listener> listeners, Metrics& metrics);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds every listener; throws std::runtime_error naming the address on failure.
  void bind();
  // The port a listener is bound to (after bind()).
  std::uint16_t port(std::size_t listener) const;
  // Serves until SIGTERM/SIGINT or stop(): then refuses new connections, lets requests in
  // flight finish within the grace period, and returns. True when shutdown was clean.
  bool run();
  // Starts the graceful shutdown; thread-safe.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace coffer::http
