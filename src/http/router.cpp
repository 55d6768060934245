#include "http/router.h"

#include <algorithm>

namespace coffer::http {
namespace {

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  if (path.size() > 0 && path.back() == '/') path.remove_suffix(1);
  if (path.empty()) return out;
  std::size_t start = 0;
  for (;;) {
    std::size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) {
      out.push_back(path.substr(start));
      return out;
    }
    out.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
}

bool is_param(std::string_view s) { return s.size() > 2 && s.front() == '{' && s.back() == '}'; }
bool is_rest_param(std::string_view s) { return is_param(s) && s[s.size() - 2] == '*'; }
std::string param_name(std::string_view s) {
  s = s.substr(1, s.size() - 2);
  if (!s.empty() && s.back() == '*') s.remove_suffix(1);
  return std::string(s);
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::optional<std::string> percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;
    int hi = hex_digit(text[i + 1]);
    int lo = hex_digit(text[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

void Router::add(Route route) {
  Compiled c;
  for (auto s : split_path(route.pattern)) c.segments.emplace_back(s);
  routes_.push_back(std::move(route));
  compiled_.push_back(std::move(c));
}

RouteMatch Router::match(api::Method method, std::string_view path) const {
  RouteMatch result;
  // "//" or an empty path segment never names a route here.
  std::vector<std::string_view> segments = split_path(path);
  std::vector<std::string> allowed;
  for (std::size_t r = 0; r < routes_.size(); ++r) {
    const auto& pattern = compiled_[r].segments;
    std::map<std::string, std::string> params;
    bool ok = true;
    std::size_t i = 0;
    for (; i < pattern.size() && ok; ++i) {
      const std::string& p = pattern[i];
      if (is_rest_param(p)) {
        if (i >= segments.size()) {
          ok = false;
          break;
        }
        // The rest of the path, as received, from this segment on.
        std::string_view first = segments[i];
        std::string_view last = segments.back();
        std::string_view rest(first.data(), last.data() + last.size() - first.data());
        auto decoded = percent_decode(rest);
        if (!decoded) {
          result.kind = RouteMatch::Kind::kBadPath;
          return result;
        }
        params[param_name(p)] = std::move(*decoded);
        i = segments.size();
        break;
      }
      if (i >= segments.size()) {
        ok = false;
        break;
      }
      if (is_param(p)) {
        if (segments[i].empty()) {
          ok = false;
          break;
        }
        auto decoded = percent_decode(segments[i]);
        if (!decoded) {
          result.kind = RouteMatch::Kind::kBadPath;
          return result;
        }
        params[param_name(p)] = std::move(*decoded);
      } else if (segments[i] != p) {
        ok = false;
      }
    }
    if (!ok) continue;
    if (i != segments.size() && !(pattern.size() > 0 && is_rest_param(pattern.back()))) continue;
    if (pattern.size() > segments.size()) continue;
    if (routes_[r].method != method) {
      std::string m(api::to_string(routes_[r].method));
      if (std::find(allowed.begin(), allowed.end(), m) == allowed.end()) allowed.push_back(m);
      continue;
    }
    result.kind = RouteMatch::Kind::kFound;
    result.route = &routes_[r];
    result.params = std::move(params);
    return result;
  }
  if (!allowed.empty()) {
    result.kind = RouteMatch::Kind::kMethodNotAllowed;
    for (const auto& m : allowed) result.allow += (result.allow.empty() ? "" : ", ") + m;
  }
  return result;
}

}  // namespace coffer::http
