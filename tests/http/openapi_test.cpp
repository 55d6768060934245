// Keeps the OpenAPI document (src/api/openapi.cpp) true to the router and to itself: every route
// that make_api_router registers is documented with its method and nothing else is, every $ref
// resolves, and error responses are the shared components of API.md's error table.
#include "api/openapi.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cctype>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/error_response.h"
#include "http/routes.h"

namespace coffer::http {
namespace {

namespace json = boost::json;

const std::set<std::string> kOperationKeys = {"get",     "put",  "post",  "delete",
                                              "options", "head", "patch", "trace"};

// The parsed document; a null value when it is not valid JSON (the first test says why).
const json::value& document() {
  static const json::value doc = [] {
    boost::system::error_code ec;
    json::value v = json::parse(api::openapi_document(), ec);
    return ec ? json::value() : v;
  }();
  return doc;
}

const json::object& doc_object() {
  static const json::object empty;
  const json::value& doc = document();
  return doc.is_object() ? doc.as_object() : empty;
}

// The router as the server builds it. The handlers are only stored in closures, never called
// here, so a null ServiceHandlers pointer is safe.
const Router& router() {
  static const Router r = make_api_router(Handlers{}, /*inline_reads=*/true, /*with_metrics=*/true);
  return r;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

bool is_str(const json::value* v, std::string_view s) {
  return v != nullptr && v->is_string() && v->as_string() == s;
}

bool is_bool(const json::value* v, bool b) {
  return v != nullptr && v->is_bool() && v->as_bool() == b;
}

// "{key*}" (the router's rest parameter) → "{key}".
std::string openapi_path(std::string_view pattern) {
  std::string out(pattern);
  for (std::size_t pos; (pos = out.find("*}")) != std::string::npos;) out.erase(pos, 1);
  return out;
}

// Parameter names do not distinguish routes (nor OpenAPI paths): "/a/{id}/b" → "/a/{}/b".
std::string shape(std::string_view path) {
  std::string out;
  bool in_param = false;
  for (char c : path) {
    if (c == '{') {
      in_param = true;
      out += "{}";
    } else if (c == '}') {
      in_param = false;
    } else if (!in_param) {
      out += c;
    }
  }
  return out;
}

std::vector<std::string> template_names(std::string_view path) {
  std::vector<std::string> names;
  for (std::size_t open = path.find('{'); open != std::string_view::npos;
       open = path.find('{', open + 1)) {
    std::size_t close = path.find('}', open);
    if (close == std::string_view::npos) break;
    names.emplace_back(path.substr(open + 1, close - open - 1));
  }
  return names;
}

// A request path for a documented path: every parameter replaced by a sample value.
std::string sample_path(std::string_view path) {
  std::string out;
  bool in_param = false;
  for (char c : path) {
    if (c == '{') {
      in_param = true;
      out += "sample-1";
    } else if (c == '}') {
      in_param = false;
    } else if (!in_param) {
      out += c;
    }
  }
  return out;
}

// Resolves a local reference "#/a/b~1c" against the document; nullptr when it does not resolve.
const json::value* resolve(std::string_view ref) {
  if (ref.substr(0, 2) != "#/") return nullptr;
  const json::value* at = &document();
  std::string_view rest = ref.substr(2);
  for (;;) {
    std::size_t slash = rest.find('/');
    std::string_view raw = rest.substr(0, slash);
    std::string token;
    for (std::size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '~' && i + 1 < raw.size() && (raw[i + 1] == '0' || raw[i + 1] == '1')) {
        token += raw[i + 1] == '0' ? '~' : '/';
        ++i;
      } else {
        token += raw[i];
      }
    }
    if (at->is_object()) {
      at = at->as_object().if_contains(token);
    } else if (at->is_array()) {
      std::size_t index = 0;
      if (token.empty() || token.find_first_not_of("0123456789") != std::string::npos) {
        return nullptr;
      }
      index = std::stoul(token);
      at = index < at->as_array().size() ? &at->as_array()[index] : nullptr;
    } else {
      return nullptr;
    }
    if (at == nullptr) return nullptr;
    if (slash == std::string_view::npos) return at;
    rest = rest.substr(slash + 1);
  }
}

// An object that may be a {"$ref": ...}: the object it names (one level), else itself.
const json::object* deref(const json::value& v) {
  if (!v.is_object()) return nullptr;
  const json::object& o = v.as_object();
  if (const json::value* ref = o.if_contains("$ref"); ref != nullptr && ref->is_string()) {
    const json::value* target = resolve(ref->as_string());
    return target != nullptr && target->is_object() ? &target->as_object() : nullptr;
  }
  return &o;
}

void collect_refs(const json::value& v, const std::string& where,
                  std::vector<std::pair<std::string, std::string>>& out) {
  if (v.is_object()) {
    for (const auto& [key, child] : v.as_object()) {
      if (key == "$ref" && child.is_string())
        out.emplace_back(where, std::string(child.as_string()));
      collect_refs(child, where + "/" + std::string(key), out);
    }
  } else if (v.is_array()) {
    std::size_t i = 0;
    for (const auto& child : v.as_array())
      collect_refs(child, where + "/" + std::to_string(i++), out);
  }
}

struct Operation {
  std::string path;
  std::string method;  // lower case, as in the document
  const json::object* path_item = nullptr;
  const json::object* op = nullptr;
  std::string name() const { return method + " " + path; }
};

std::vector<Operation> operations() {
  std::vector<Operation> out;
  const json::value* paths = doc_object().if_contains("paths");
  if (paths == nullptr || !paths->is_object()) return out;
  for (const auto& [path, item] : paths->as_object()) {
    if (!item.is_object()) continue;
    for (const auto& [key, op] : item.as_object()) {
      if (kOperationKeys.count(std::string(key)) && op.is_object()) {
        out.push_back({std::string(path), std::string(key), &item.as_object(), &op.as_object()});
      }
    }
  }
  return out;
}

// All parameters of an operation (path-item level and its own), dereferenced.
std::vector<const json::object*> parameters(const Operation& op) {
  std::vector<const json::object*> out;
  for (const json::object* holder : {op.path_item, op.op}) {
    const json::value* list = holder->if_contains("parameters");
    if (list == nullptr || !list->is_array()) continue;
    for (const auto& p : list->as_array()) out.push_back(deref(p));
  }
  return out;
}

bool has_parameter(const Operation& op, std::string_view in) {
  for (const json::object* p : parameters(op)) {
    if (p != nullptr && is_str(p->if_contains("in"), in)) return true;
  }
  return false;
}

bool has_header_parameter(const Operation& op, std::string_view name) {
  for (const json::object* p : parameters(op)) {
    if (p != nullptr && is_str(p->if_contains("in"), "header") && p->if_contains("name") &&
        p->at("name").is_string() && lower(p->at("name").as_string()) == lower(name)) {
      return true;
    }
  }
  return false;
}

bool is_public(const Operation& op) {
  const json::value* security = op.op->if_contains("security");
  return security != nullptr && security->is_array() && security->as_array().empty();
}

bool lists(const Operation& op, std::string_view status) {
  const json::value* responses = op.op->if_contains("responses");
  return responses != nullptr && responses->is_object() && responses->as_object().contains(status);
}

bool has_json_body(const Operation& op) {
  const json::value* body = op.op->if_contains("requestBody");
  if (body == nullptr) return false;
  const json::object* b = deref(*body);
  return b != nullptr && b->if_contains("content") && b->at("content").is_object() &&
         b->at("content").as_object().contains("application/json");
}

TEST(OpenApi, IsValidJsonOfOpenApi3) {
  boost::system::error_code ec;
  json::value doc = json::parse(api::openapi_document(), ec);
  ASSERT_FALSE(ec) << "openapi_document() is not valid JSON: " << ec.message();
  ASSERT_TRUE(doc.is_object());
  const json::object& o = doc.as_object();
  ASSERT_TRUE(o.contains("openapi") && o.at("openapi").is_string());
  EXPECT_EQ(o.at("openapi").as_string().subview().substr(0, 2), "3.");
  ASSERT_TRUE(o.contains("info") && o.at("info").is_object());
  EXPECT_TRUE(o.at("info").as_object().contains("title"));
  EXPECT_TRUE(o.at("info").as_object().contains("version"));
  ASSERT_TRUE(o.contains("paths") && o.at("paths").is_object());
  EXPECT_FALSE(o.at("paths").as_object().empty());
  ASSERT_TRUE(o.contains("components") && o.at("components").is_object());
}

TEST(OpenApi, EveryRouteIsDocumented) {
  ASSERT_FALSE(router().routes().empty());
  std::set<std::pair<std::string, std::string>> documented;
  for (const Operation& op : operations()) documented.insert({shape(op.path), op.method});
  for (const Route& route : router().routes()) {
    std::string path = openapi_path(route.pattern);
    std::string method = lower(api::to_string(route.method));
    EXPECT_TRUE(documented.count({shape(path), method}))
        << method << " " << path << " is a route but is not in the document's paths";
  }
}

TEST(OpenApi, EveryDocumentedOperationIsARoute) {
  std::set<std::pair<std::string, std::string>> routes;
  for (const Route& route : router().routes()) {
    routes.insert({shape(openapi_path(route.pattern)), lower(api::to_string(route.method))});
  }
  std::vector<Operation> ops = operations();
  ASSERT_FALSE(ops.empty());
  for (const Operation& op : ops) {
    EXPECT_TRUE(routes.count({shape(op.path), op.method}))
        << op.name() << " is documented but the router has no such route";
    // And the router itself takes a request for it, with or without a trailing slash.
    for (const std::string& target : {sample_path(op.path), sample_path(op.path) + "/"}) {
      RouteMatch m = router().match(api::parse_method(upper(op.method)), target);
      if (m.kind != RouteMatch::Kind::kFound) {
        ADD_FAILURE() << "the router does not take " << op.name() << " as " << target
                      << " (match kind " << static_cast<int>(m.kind) << ")";
        continue;
      }
      EXPECT_EQ(shape(openapi_path(m.route->pattern)), shape(op.path)) << target;
    }
  }
}

TEST(OpenApi, PathParametersMatchTheTemplate) {
  for (const Operation& op : operations()) {
    std::set<std::string> declared;
    for (const json::object* p : parameters(op)) {
      ASSERT_NE(p, nullptr) << op.name() << ": a parameter does not resolve";
      ASSERT_TRUE(p->contains("name") && p->contains("in")) << op.name();
      if (!is_str(p->if_contains("in"), "path")) continue;
      declared.insert(std::string(p->at("name").as_string()));
      EXPECT_TRUE(is_bool(p->if_contains("required"), true))
          << op.name() << ": path parameter " << p->at("name") << " must be required";
    }
    std::vector<std::string> names = template_names(op.path);
    EXPECT_EQ(declared, std::set<std::string>(names.begin(), names.end())) << op.name();
  }
}

TEST(OpenApi, OperationIdsAreUnique) {
  std::set<std::string> ids;
  for (const Operation& op : operations()) {
    ASSERT_TRUE(op.op->contains("operationId")) << op.name();
    EXPECT_TRUE(ids.insert(std::string(op.op->at("operationId").as_string())).second)
        << op.name() << ": duplicate operationId";
  }
}

TEST(OpenApi, EveryRefResolves) {
  std::vector<std::pair<std::string, std::string>> refs;
  collect_refs(document(), "#", refs);
  ASSERT_FALSE(refs.empty());
  for (const auto& [where, ref] : refs) {
    EXPECT_NE(resolve(ref), nullptr) << where << ": $ref " << ref << " does not resolve";
  }
}

TEST(OpenApi, BearerAuthIsGlobalAndLiftedOnlyWhereApiMdSays) {
  const json::object& doc = doc_object();
  ASSERT_TRUE(doc.contains("security"));
  EXPECT_EQ(doc.at("security"), json::parse(R"([{"bearerAuth": []}])"));
  const json::value* scheme = resolve("#/components/securitySchemes/bearerAuth");
  ASSERT_NE(scheme, nullptr);
  EXPECT_TRUE(is_str(scheme->as_object().if_contains("type"), "http"));
  EXPECT_TRUE(is_str(scheme->as_object().if_contains("scheme"), "bearer"));
  EXPECT_TRUE(is_str(scheme->as_object().if_contains("bearerFormat"), "JWT"));

  const std::set<std::string> expected_public = {"get /healthz",
                                                 "get /readyz",
                                                 "get /metrics",
                                                 "get /api/v1/openapi.json",
                                                 "post /api/v1/auth/token",
                                                 "get /blob/{key}",
                                                 "put /blob/{key}"};
  std::set<std::string> actual_public;
  for (const Operation& op : operations()) {
    if (is_public(op))
      actual_public.insert(op.name());
    else
      EXPECT_FALSE(op.op->contains("security")) << op.name() << ": overrides security";
  }
  EXPECT_EQ(actual_public, expected_public);
}

// The error code enum is the set of codes api::error_response can send.
TEST(OpenApi, ErrorSchemaHasEveryErrorCode) {
  const json::value* code = resolve("#/components/schemas/Error/properties/error/properties/code");
  ASSERT_NE(code, nullptr);
  std::set<std::string> documented;
  for (const auto& c : code->at("enum").as_array()) documented.insert(std::string(c.as_string()));
  std::set<std::string> sent;
  for (int i = 0; i <= static_cast<int>(ErrorCode::kInternal); ++i) {
    sent.insert(std::string(api::error_code_name(static_cast<ErrorCode>(i))));
  }
  EXPECT_EQ(documented, sent);
  const json::value* error = resolve("#/components/schemas/Error");
  ASSERT_NE(error, nullptr);
  EXPECT_EQ(error->at("required"), json::parse(R"(["error"])"));
  EXPECT_EQ(error->at("properties").at("error").at("required"),
            json::parse(R"(["code", "message", "request_id"])"));
}

// One reusable response per error status; its example's code is one that error_response sends
// with that status.
const std::map<std::string, std::string> kErrorResponses = {
    {"400", "BadRequest"},
    {"401", "Unauthenticated"},
    {"403", "Forbidden"},
    {"404", "NotFound"},
    {"405", "MethodNotAllowed"},
    {"409", "Conflict"},
    {"412", "PreconditionFailed"},
    {"413", "PayloadTooLarge"},
    {"415", "UnsupportedMediaType"},
    {"416", "RangeNotSatisfiable"},
    {"429", "RateLimited"},
    {"503", "StorageUnavailable"},
    {"507", "QuotaExceeded"},
};

TEST(OpenApi, ErrorResponseComponentsCarryTheErrorBody) {
  for (const auto& [status, name] : kErrorResponses) {
    const json::value* response = resolve("#/components/responses/" + name);
    ASSERT_NE(response, nullptr) << "components/responses/" << name << " is missing";
    const json::value* media =
        resolve("#/components/responses/" + name + "/content/application~1json");
    ASSERT_NE(media, nullptr) << name;
    EXPECT_EQ(media->at("schema"), json::parse(R"({"$ref": "#/components/schemas/Error"})"))
        << name;
    std::string example(media->at("example").at("error").at("code").as_string());
    bool found = false;
    for (int i = 0; i <= static_cast<int>(ErrorCode::kInternal); ++i) {
      auto c = static_cast<ErrorCode>(i);
      if (api::error_code_name(c) == example && std::to_string(api::http_status(c)) == status) {
        found = true;
      }
    }
    EXPECT_TRUE(found) << name << ": code " << example << " is not sent with status " << status;
  }
  const json::value* unauthenticated = resolve("#/components/responses/Unauthenticated/headers");
  ASSERT_NE(unauthenticated, nullptr);
  EXPECT_TRUE(unauthenticated->as_object().contains("WWW-Authenticate"));
  EXPECT_TRUE(resolve("#/components/responses/MethodNotAllowed/headers/Allow") != nullptr);
  EXPECT_TRUE(resolve("#/components/responses/RateLimited/headers/Retry-After") != nullptr);
  EXPECT_TRUE(resolve("#/components/responses/StorageUnavailable/headers/Retry-After") != nullptr);
}

TEST(OpenApi, OperationsListTheirErrorsByRef) {
  for (const Operation& op : operations()) {
    ASSERT_TRUE(op.op->contains("responses") && op.op->at("responses").is_object()) << op.name();
    const json::object& responses = op.op->at("responses").as_object();
    bool has_success = false;
    for (const auto& [status, response] : responses) {
      ASSERT_EQ(status.size(), 3u) << op.name() << ": status " << status;
      if (status[0] == '2') has_success = true;
      if (status[0] != '4' && status[0] != '5') continue;
      // An error response is nothing but a $ref to the shared component of its status.
      ASSERT_TRUE(response.is_object() && response.as_object().size() == 1 &&
                  response.as_object().contains("$ref"))
          << op.name() << " " << status << " is not a $ref to components/responses";
      std::string ref(response.at("$ref").as_string());
      std::string expected = "#/components/responses/";
      if (op.name() == "get /readyz" && status == "503") {
        expected += "NotReady";  // readyz says which check failed, not an Error body
      } else {
        ASSERT_TRUE(kErrorResponses.count(std::string(status)))
            << op.name() << ": unexpected error status " << status;
        expected += kErrorResponses.at(std::string(status));
      }
      EXPECT_EQ(ref, expected) << op.name() << " " << status;
    }
    EXPECT_TRUE(has_success) << op.name() << " lists no 2xx response";

    // The errors API.md's table implies for this kind of operation.
    auto expect_lists = [&](std::string_view status, std::string_view why) {
      EXPECT_TRUE(lists(op, status))
          << op.name() << " should list " << status << " (" << why << ")";
    };
    if (!is_public(op)) {
      expect_lists("401", "bearer token");
      expect_lists("403", "role or operator token");
      expect_lists("429", "per-tenant rate limit");
      expect_lists("503", "database or object store");
      if (!template_names(op.path).empty()) expect_lists("404", "path parameter");
    }
    if (has_json_body(op)) {
      expect_lists("400", "JSON body");
      expect_lists("413", "JSON body limit");
      expect_lists("415", "JSON body content type");
    }
    if (op.op->contains("requestBody") || has_parameter(op, "query")) {
      expect_lists("400", "body or query");
    }
    if (has_header_parameter(op, "If-Match")) expect_lists("412", "If-Match");
    if (has_header_parameter(op, "Range")) expect_lists("416", "Range");
  }
}

// JSON is strict: every JSON request body rejects unknown fields.
TEST(OpenApi, JsonRequestBodiesAreClosed) {
  for (const Operation& op : operations()) {
    if (!has_json_body(op)) continue;
    const json::object* body = deref(op.op->at("requestBody"));
    ASSERT_NE(body, nullptr);
    const json::object* schema = deref(body->at("content").at("application/json").at("schema"));
    ASSERT_NE(schema, nullptr) << op.name();
    EXPECT_TRUE(is_str(schema->if_contains("type"), "object")) << op.name();
    EXPECT_TRUE(is_bool(schema->if_contains("additionalProperties"), false))
        << op.name() << ": the JSON body schema must say additionalProperties: false";
  }
}

TEST(OpenApi, SchemasOfApiMdObjects) {
  for (const char* name : {"File", "Grant", "User", "Tenant", "Error"}) {
    EXPECT_NE(resolve(std::string("#/components/schemas/") + name), nullptr) << name;
  }
  // Ids are opaque strings, times RFC 3339 date-time strings.
  EXPECT_TRUE(is_str(resolve("#/components/schemas/Id/type"), "string"));
  EXPECT_TRUE(is_str(resolve("#/components/schemas/Time/type"), "string"));
  EXPECT_TRUE(is_str(resolve("#/components/schemas/Time/format"), "date-time"));
  const json::value* file_required = resolve("#/components/schemas/File/required");
  ASSERT_NE(file_required, nullptr);
  EXPECT_EQ(file_required->as_array().size(), 11u);
}

}  // namespace
}  // namespace coffer::http
