// A TCP proxy on 127.0.0.1 that a test can cut, to make an S3 server vanish mid-request without
// stopping it: cut() resets every connection and refuses new ones; resume() accepts again on the
// same port. Plain sockets and threads, no Asio.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace coffer::storage::testing {

class TcpProxy {
 public:
  // Listens on an ephemeral port of 127.0.0.1 and forwards to target_host:target_port.
  TcpProxy(std::string target_host, std::uint16_t target_port);
  ~TcpProxy();
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  std::uint16_t port() const { return port_; }
  // Resets every open connection (both sides) and closes the listener: connects are refused.
  // Thread-safe; may be called from inside a request (e.g. a ByteSource's read()).
  void cut();
  // Listens again on the same port.
  void resume();
  // Bytes forwarded from clients to the target so far.
  std::uint64_t bytes_up() const { return bytes_up_.load(); }

 private:
  void listen_on(std::uint16_t port);
  void accept_loop();
  void pump(int client, int upstream);

  std::string target_host_;
  std::uint16_t target_port_;
  std::uint16_t port_ = 0;
  std::atomic<int> listener_{-1};
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint64_t> bytes_up_{0};
  std::mutex mu_;
  std::vector<int> open_fds_;  // guarded by mu_
  std::thread acceptor_;
  std::vector<std::thread> pumps_;  // guarded by mu_
};

}  // namespace coffer::storage::testing
