#include "core/metrics.h"

#include <cstdio>

namespace coffer {
namespace {

void append_number(std::string& out, double v) {
  char buf[64];
  int n = std::snprintf(buf, sizeof buf, "%.9g", v);
  out.append(buf, static_cast<std::size_t>(n));
}

}  // namespace

void LatencyHistogram::observe(std::chrono::nanoseconds d) {
  double s = std::chrono::duration<double>(d).count();
  std::size_t i = 0;
  while (i < kBounds.size() && s > kBounds[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_ns_.fetch_add(static_cast<std::uint64_t>(d.count()), std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
}

void LatencyHistogram::render(std::string& out, std::string_view name, std::string_view labels) const {
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i <= kBounds.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    out += name;
    out += "_bucket{";
    out += labels;
    out += labels.empty() ? "le=\"" : ",le=\"";
    if (i < kBounds.size()) {
      append_number(out, kBounds[i]);
    } else {
      out += "+Inf";
    }
    out.append("\"} ").append(std::to_string(cumulative)).append("\n");
  }
  out.append(name).append("_sum{").append(labels).append("} ");
  append_number(out, static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e9);
  out.append("\n").append(name).append("_count{").append(labels).append("} ");
  out.append(std::to_string(count_.load(std::memory_order_relaxed))).append("\n");
}

void RouteMetrics::record(int status, std::chrono::nanoseconds latency) {
  std::size_t i = 0;
  while (i + 1 < kStatuses.size() && kStatuses[i] != status) ++i;
  by_status_[i].fetch_add(1, std::memory_order_relaxed);
  latency_.observe(latency);
}

void RouteMetrics::render(std::string& out) const {
  if (latency_.count() == 0) return;  // a route never requested adds no series
  for (std::size_t i = 0; i < kStatuses.size(); ++i) {
    std::uint64_t n = by_status_[i].load(std::memory_order_relaxed);
    if (n == 0) continue;
    out.append("coffer_http_requests_total{route=\"").append(route_).append("\",status=\"");
    out.append(kStatuses[i] == 0 ? std::string("other") : std::to_string(kStatuses[i]));
    out.append("\"} ").append(std::to_string(n)).append("\n");
  }
  latency_.render(out, "coffer_http_request_duration_seconds", "route=\"" + route_ + "\"");
}

void StorageCallMetrics::record(bool ok, std::chrono::nanoseconds latency) {
  calls_.fetch_add(1, std::memory_order_relaxed);
  if (!ok) errors_.fetch_add(1, std::memory_order_relaxed);
  latency_.observe(latency);
}

void StorageCallMetrics::render(std::string& out) const {
  out.append("coffer_storage_calls_total{op=\"").append(op_).append("\"} ");
  out.append(std::to_string(calls_.load())).append("\n");
  out.append("coffer_storage_errors_total{op=\"").append(op_).append("\"} ");
  out.append(std::to_string(errors_.load())).append("\n");
  latency_.render(out, "coffer_storage_call_duration_seconds", "op=\"" + op_ + "\"");
}

RouteMetrics& Metrics::route(std::string_view route) {
  std::lock_guard lock(mu_);
  for (auto& r : routes_) {
    if (r.route() == route) return r;
  }
  return routes_.emplace_back(std::string(route));
}

StorageCallMetrics& Metrics::storage_call(std::string_view op) {
  std::lock_guard lock(mu_);
  for (auto& s : storage_) {
    if (s.op() == op) return s;
  }
  return storage_.emplace_back(std::string(op));
}

std::string Metrics::render() const {
  std::string out;
  out.reserve(16384);
  out += "# HELP coffer_http_requests_total HTTP requests by route template and status.\n";
  out += "# TYPE coffer_http_requests_total counter\n";
  out += "# HELP coffer_http_request_duration_seconds HTTP request latency by route template.\n";
  out += "# TYPE coffer_http_request_duration_seconds histogram\n";
  std::lock_guard lock(mu_);
  for (const auto& r : routes_) r.render(out);
  out += "# HELP coffer_http_requests_in_flight Requests being served.\n";
  out += "# TYPE coffer_http_requests_in_flight gauge\n";
  out += "coffer_http_requests_in_flight " + std::to_string(requests_in_flight.load()) + "\n";
  out += "# TYPE coffer_http_connections_open gauge\n";
  out += "coffer_http_connections_open " + std::to_string(connections_open.load()) + "\n";
  out += "# TYPE coffer_http_connections_refused_total counter\n";
  out += "coffer_http_connections_refused_total " + std::to_string(connections_refused.load()) + "\n";
  out += "# HELP coffer_http_bytes_in_total Request body bytes received.\n";
  out += "# TYPE coffer_http_bytes_in_total counter\n";
  out += "coffer_http_bytes_in_total " + std::to_string(bytes_in.load()) + "\n";
  out += "# HELP coffer_http_bytes_out_total Response body bytes sent.\n";
  out += "# TYPE coffer_http_bytes_out_total counter\n";
  out += "coffer_http_bytes_out_total " + std::to_string(bytes_out.load()) + "\n";
  out += "# HELP coffer_storage_calls_total Object store calls by operation.\n";
  out += "# TYPE coffer_storage_calls_total counter\n";
  out += "# TYPE coffer_storage_errors_total counter\n";
  out += "# TYPE coffer_storage_call_duration_seconds histogram\n";
  for (const auto& s : storage_) s.render(out);
  return out;
}

}  // namespace coffer
