// The router: method + path → route and path parameters. Pure; built once at start-up.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "api/http_types.h"

namespace coffer::http {

using Handler = std::function<api::Response(api::Request&)>;

// How the server hands the body to a handler.
enum class BodyMode {
  kBuffered,  // read whole (up to the JSON limit) into Request::body before the handler runs
  kStream,    // the handler reads Request::body_stream itself (uploads)
};

// Where a handler runs: on the I/O thread (cheap, never blocks) or on a worker thread.
enum class Dispatch { kInline, kWorker };

struct Route {
  api::Method method = api::Method::kGet;
  // Literal segments and {name} parameters; a last segment {name*} takes the rest of the path.
  // A trailing slash on a request path is ignored.
  std::string pattern;
  BodyMode body = BodyMode::kBuffered;
  Dispatch dispatch = Dispatch::kWorker;
  Handler handler;
};

struct RouteMatch {
  enum class Kind { kFound, kNotFound, kMethodNotAllowed, kBadPath };
  Kind kind = Kind::kNotFound;
  const Route* route = nullptr;
  std::map<std::string, std::string> params;  // percent-decoded
  std::string allow;                          // for kMethodNotAllowed: "GET, POST"
};

class Router {
 public:
  void add(Route route);
  // `path` is the request target's path, percent-encoded as received.
  RouteMatch match(api::Method method, std::string_view path) const;
  const std::vector<Route>& routes() const { return routes_; }

 private:
  struct Compiled {
    std::vector<std::string> segments;  // "{x}" for a parameter, "{x*}" for the rest
  };
  std::vector<Route> routes_;
  std::vector<Compiled> compiled_;
};

// Decodes %XX escapes; nullopt for a malformed escape. '+' stays '+'.
std::optional<std::string> percent_decode(std::string_view text);

}  // namespace coffer::http
