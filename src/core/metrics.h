// Process metrics in Prometheus text format. Lock-free on the hot path: every series is a set of
// atomics registered at start-up.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>

namespace coffer {

// Counts of observations per latency bucket (seconds) plus their sum.
class LatencyHistogram {
 public:
  static constexpr std::array<double, 14> kBounds = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                     0.1,    0.25,  0.5,    1.0,   2.5,   5.0,  10.0};
  void observe(std::chrono::nanoseconds d);
  // Appends the _bucket/_sum/_count lines of this histogram with the given labels.
  void render(std::string& out, std::string_view name, std::string_view labels) const;
  std::uint64_t count() const { return count_.load(std::memory_order_relaxed); }

 private:
  std::array<std::atomic<std::uint64_t>, kBounds.size() + 1> buckets_{};
  std::atomic<std::uint64_t> sum_ns_{0};
  std::atomic<std::uint64_t> count_{0};
};

// The series of one route template.
class RouteMetrics {
 public:
  explicit RouteMetrics(std::string route) : route_(std::move(route)) {}
  void record(int status, std::chrono::nanoseconds latency);
  void render(std::string& out) const;
  const std::string& route() const { return route_; }

 private:
  static constexpr std::array<int, 24> kStatuses = {100, 200, 201, 204, 206, 304, 307, 400,
                                                    401, 403, 404, 405, 408, 409, 412, 413,
                                                    415, 416, 429, 431, 500, 503, 507, 0};
  std::string route_;
  std::array<std::atomic<std::uint64_t>, kStatuses.size()> by_status_{};
  LatencyHistogram latency_;
};

// One kind of call to the object store ("put", "get", ...).
class StorageCallMetrics {
 public:
  explicit StorageCallMetrics(std::string op) : op_(std::move(op)) {}
  void record(bool ok, std::chrono::nanoseconds latency);
  void render(std::string& out) const;
  const std::string& op() const { return op_; }
  std::uint64_t calls() const { return calls_.load(std::memory_order_relaxed); }
  std::uint64_t errors() const { return errors_.load(std::memory_order_relaxed); }

 private:
  std::string op_;
  std::atomic<std::uint64_t> calls_{0};
  std::atomic<std::uint64_t> errors_{0};
  LatencyHistogram latency_;
};

class Metrics {
 public:
  // Registers (once, at start-up) and returns the series of a route template. Stable address.
  RouteMetrics& route(std::string_view route);
  // The series of one kind of object store call, registered on first use. Stable address.
  StorageCallMetrics& storage_call(std::string_view op);

  std::atomic<std::int64_t> requests_in_flight{0};
  std::atomic<std::int64_t> connections_open{0};
  std::atomic<std::uint64_t> connections_refused{0};
  std::atomic<std::uint64_t> bytes_in{0};   // request bodies
  std::atomic<std::uint64_t> bytes_out{0};  // response bodies

  std::string render() const;

 private:
  mutable std::mutex mu_;  // guards registration only
  std::deque<RouteMetrics> routes_;
  std::deque<StorageCallMetrics> storage_;
};

}  // namespace coffer
