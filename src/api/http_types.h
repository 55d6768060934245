// Requests and responses as plain values: what handlers see of HTTP. No sockets, no Beast.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/byte_stream.h"
#include "core/error.h"

namespace coffer::api {

enum class Method { kGet, kHead, kPost, kPut, kPatch, kDelete, kOptions, kOther };

std::string_view to_string(Method m);
Method parse_method(std::string_view text);

// Header fields, names compared case-insensitively.
class Headers {
 public:
  void add(std::string name, std::string value) {
    fields_.emplace_back(std::move(name), std::move(value));
  }
  // The first field of that name.
  std::optional<std::string_view> get(std::string_view name) const;
  const std::vector<std::pair<std::string, std::string>>& fields() const { return fields_; }

 private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

struct Request {
  Method method = Method::kGet;
  std::string path;  // the target's path, still percent-encoded
  std::vector<std::pair<std::string, std::string>> query;  // decoded
  Headers headers;
  std::map<std::string, std::string> params;  // decoded path parameters of the matched route
  std::string body;                           // the whole body, for routes that read it at once
  ByteSource* body_stream = nullptr;          // the body as a stream, for streaming routes
  std::optional<std::uint64_t> content_length;
  std::string request_id;

  // The last value of a query parameter.
  std::optional<std::string_view> query_param(std::string_view name) const;
  const std::string& param(const std::string& name) const { return params.at(name); }
};

// Writes a streamed response body; runs on a worker thread.
using BodyWriter = std::function<Result<void>(ByteSink& out)>;

struct Response {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  BodyWriter stream;               // when set, `stream_length` bytes come from it instead of body
  std::uint64_t stream_length = 0;

  Response& header(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
    return *this;
  }
};

}  // namespace coffer::api
