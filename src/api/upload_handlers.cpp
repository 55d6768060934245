#include "api/upload_handlers.h"

#include <boost/json.hpp>

#include <algorithm>
#include <cctype>

#include "api/handler_support.h"
#include "api/json_input.h"
#include "api/render.h"
#include "core/encoding.h"

namespace coffer::api {

namespace json = boost::json;

namespace {

constexpr std::size_t kMaxContentTypeBytes = 255;

// A media type becomes a header of the store's object: printable ASCII only, no line breaks.
Result<std::string> content_type_field(const std::optional<std::string>& value) {
  if (!value || value->empty()) return std::string("application/octet-stream");
  if (value->size() > kMaxContentTypeBytes ||
      !std::all_of(value->begin(), value->end(), [](char c) { return c >= 0x20 && c < 0x7f; })) {
    return Error::BadRequest("field 'content_type' must be a media type of printable ASCII");
  }
  return *value;
}

Result<std::string> sha256_field(const std::optional<std::string>& value) {
  if (!value) return std::string();
  if (!is_sha256_hex(*value)) return Error::BadRequest("field 'sha256' must be 64 hex digits");
  std::string lower = *value;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower;
}

// {"parts": [{"number": 1, "etag": "..."}, ...]}, strictly; absent → nullopt.
Result<std::optional<std::vector<storage::CompletedPartRef>>> parts_field(JsonObjectReader& body) {
  using Parts = std::optional<std::vector<storage::CompletedPartRef>>;
  const json::value* raw = body.raw("parts");
  if (!raw) return Parts();
  if (!raw->is_array()) return Error::BadRequest("field 'parts' must be an array");
  const json::array& items = raw->get_array();
  if (items.size() > 10000) return Error::BadRequest("field 'parts' lists more than 10000 parts");
  std::vector<storage::CompletedPartRef> parts;
  parts.reserve(items.size());
  for (const json::value& item : items) {
    if (!item.is_object()) {
      return Error::BadRequest("each of 'parts' must be an object {\"number\", \"etag\"}");
    }
    JsonObjectReader part(item.get_object());
    COFFER_TRY(std::int64_t number, part.required_int("number", 1, 10000));
    COFFER_TRY(std::string etag, part.required_string("etag"));
    COFFER_TRY_VOID(part.finish());
    parts.push_back({static_cast<int>(number), std::move(etag)});
  }
  return Parts(std::move(parts));
}

json::object render_headers(const std::map<std::string, std::string>& headers) {
  json::object out;
  for (const auto& [name, value] : headers) out[name] = value;
  return out;
}

}  // namespace

Response UploadHandlers::create(Request& request) const {
  return with_caller(identity_, request, [&](const service::Caller& caller) -> Result<Response> {
    COFFER_TRY_VOID(service::require_user(caller));
    COFFER_TRY(JsonObjectReader body, JsonObjectReader::from_request(request));
    COFFER_TRY(std::string path, body.required_string("path"));
    COFFER_TRY(std::int64_t size, body.required_int("size", 0, INT64_MAX));
    COFFER_TRY(auto content_type, body.optional_string("content_type"));
    COFFER_TRY(auto sha256, body.optional_string("sha256"));
    COFFER_TRY(auto overwrite, body.optional_bool("overwrite"));
    COFFER_TRY(auto expires_in, body.optional_int("expires_in", service::kMinPresignExpiry.count(),
                                                  service::kMaxPresignExpiry.count()));
    COFFER_TRY_VOID(body.finish());
    COFFER_TRY(FilePath parsed, FilePath::parse(path));
    service::NewUpload upload{std::move(parsed)};
    upload.size = static_cast<std::uint64_t>(size);
    COFFER_TRY(upload.content_type, content_type_field(content_type));
    COFFER_TRY(upload.sha256, sha256_field(sha256));
    upload.overwrite = overwrite.value_or(false);
    if (expires_in) upload.expires_in = std::chrono::seconds(*expires_in);

    COFFER_TRY(service::IssuedUpload issued, uploads_.create(caller, upload));
    json::object out{{"upload_id", issued.upload_id}, {"method", "PUT"}};
    if (issued.single) {
      out["url"] = issued.url;
    } else {
      json::array parts;
      parts.reserve(issued.parts.size());
      for (const auto& p : issued.parts) {
        parts.push_back(json::object{{"number", p.number}, {"url", p.url}, {"size", p.size}});
      }
      out["parts"] = std::move(parts);
    }
    out["headers"] = render_headers(issued.headers);
    out["expires_at"] = format_rfc3339(issued.expires_at);
    return json_answer(201, out);
  });
}

Response UploadHandlers::complete(Request& request) const {
  return with_caller(identity_, request, [&](const service::Caller& caller) -> Result<Response> {
    COFFER_TRY_VOID(service::require_user(caller));
    COFFER_TRY(JsonObjectReader body, JsonObjectReader::from_optional_body(request));
    COFFER_TRY(auto parts, parts_field(body));
    COFFER_TRY_VOID(body.finish());
    COFFER_TRY(service::VisibleFile file, uploads_.complete(caller, request.param("id"), parts));
    Response r = json_answer(201, render_file(file.file, file.role));
    r.header("Location", "/api/v1/files/" + file.file.id);
    return r;
  });
}

Response UploadHandlers::abort(Request& request) const {
  return with_caller(identity_, request, [&](const service::Caller& caller) -> Result<Response> {
    COFFER_TRY_VOID(uploads_.abort(caller, request.param("id")));
    return no_content();
  });
}

}  // namespace coffer::api
