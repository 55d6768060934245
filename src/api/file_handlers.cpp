#include "api/file_handlers.h"

#include <boost/algorithm/string/predicate.hpp>
#include <boost/json.hpp>
#include <memory>

#include "api/handler_support.h"
#include "api/json_input.h"
#include "api/multipart_reader.h"
#include "api/object_stream.h"
#include "api/paging.h"
#include "api/render.h"
#include "core/byte_range.h"
#include "core/content_disposition.h"
#include "core/encoding.h"

namespace coffer::api {

namespace json = boost::json;

namespace {

constexpr std::string_view kCursorKind = "files";
constexpr std::size_t kMaxPathPartBytes = 4096;
constexpr std::int64_t kMaxPresignSeconds = 7 * 24 * 3600;

Response file_answer(int status, const service::VisibleFile& f) {
  return json_answer(status, render_file(f.file, f.role));
}

std::optional<std::string> header(const Request& r, std::string_view name) {
  auto v = r.headers.get(name);
  return v ? std::optional<std::string>(std::string(*v)) : std::nullopt;
}

Result<bool> flag(const Request& r, std::string_view name) {
  auto v = r.query_param(name);
  if (!v || *v == "false") return false;
  if (*v == "true") return true;
  return Error::BadRequest(std::string(name) + " must be true or false");
}

Result<std::optional<std::string>> checksum_header(const Request& r) {
  auto v = r.headers.get("X-Checksum-Sha256");
  if (!v) return std::optional<std::string>();
  if (!is_sha256_hex(*v)) return Error::BadRequest("X-Checksum-Sha256 must be 64 hex digits");
  std::string lower(*v);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return std::optional<std::string>(std::move(lower));
}

bool valid_list_position(const std::string& cursor) {
  if (cursor.size() < 2) return false;
  return cursor[0] == 'f' || (cursor[0] == 'd' && cursor.back() == '/');
}

bool is_multipart(const Request& r) {
  auto type = r.headers.get("Content-Type");
  return type && boost::algorithm::istarts_with(*type, "multipart/form-data");
}

// The media type stored with a file and sent back with it: visible ASCII and spaces, as a header
// value may hold (bytes beyond ASCII are not text a database column can be trusted to keep).
Result<std::string> content_type_or_default(std::optional<std::string_view> type) {
  if (!type || type->empty()) return std::string("application/octet-stream");
  for (unsigned char c : *type) {
    if (c < 0x20 || c > 0x7e) return Error::BadRequest("Content-Type must be printable ASCII");
  }
  return std::string(*type);
}

// Reads a small form field whole.
Result<std::string> read_field(ByteSource& source) {
  std::string out;
  char buf[1024];
  for (;;) {
    COFFER_TRY(std::size_t n, source.read(buf));
    if (n == 0) return out;
    out.append(buf, n);
    if (out.size() > kMaxPathPartBytes) return Error::InvalidPath("path is longer than 1024 bytes");
  }
}

// Reads what is left of the body after the closing boundary (the epilogue): an upload counts
// only if its HTTP request arrived whole.
Result<void> finish_body(ByteSource& source) {
  char buf[4096];
  for (std::size_t total = 0;;) {
    COFFER_TRY(std::size_t n, source.read(buf));
    if (n == 0) return Ok();
    total += n;
    if (total > 65536) return Error::BadRequest("too much data after the form's closing boundary");
  }
}

// Removes staged bytes unless released: nothing half-written stays behind an error.
class StagedGuard {
 public:
  explicit StagedGuard(service::Files& files) : files_(files) {}
  ~StagedGuard() {
    if (staged_) files_.discard(*staged_);
  }
  void hold(service::StagedObject s) { staged_ = std::move(s); }
  const service::StagedObject& get() const { return *staged_; }
  bool holds() const { return staged_.has_value(); }
  void release() { staged_.reset(); }

 private:
  service::Files& files_;
  std::optional<service::StagedObject> staged_;
};

}  // namespace

Response FileHandlers::list(Request& request) const {
  return with_caller(identity_, request, [&](const service::Caller& caller) -> Result<Response> {
    service::ListRequest list;
    COFFER_TRY(list.prefix, validate_prefix(request.query_param("prefix").value_or("")));
    if (auto d = request.query_param("delimiter")) {
      if (*d != "/") return Error::BadRequest("delimiter must be /");
      list.delimiter = true;
    }
    COFFER_TRY(list.limit, page_limit(request));
    COFFER_TRY(list.cursor, decode_cursor(request, kCursorKind));
    if (!list.cursor.empty() && !valid_list_position(list.cursor)) {
      return Error::BadRequest("cursor is not valid for this list");
    }
    COFFER_TRY(service::ListPage page, files_.list(caller, list));
    JsonText body;
    body.text.reserve(64 + page.items.size() * 400);
    JsonWriter out(body.text);
    out.begin_object().key("items").begin_array();
    for (const auto& f : page.items) write_file(out, f.file, f.role);
    out.end_array().key("folders").begin_array();
    for (const auto& folder : page.folders) out.value(folder);
    out.end_array().key("next_cursor");
    if (page.next_cursor.empty()) {
      out.null();
    } else {
      out.value(encode_cursor(kCursorKind, page.next_cursor));
    }
    out.end_object();
    return json_answer(200, std::move(body));
  });
}

Response FileHandlers::upload(Request& request) const {
  return with_caller(identity_, request, [&](const service::Caller& caller) -> Result<Response> {
    COFFER_TRY(bool overwrite, flag(request, "overwrite"));
    COFFER_TRY(auto checksum, checksum_header(request));
    const auto if_match = header(request, "If-Match");
    if (!request.body_stream) return Error::Internal("upload route without a body stream");
    StagedGuard staged(files_);
    std::optional<FilePath> path;
    std::string content_type;

    if (is_multipart(request)) {
      COFFER_TRY(std::string boundary, multipart_boundary(*request.headers.get("Content-Type")));
      MultipartReader form(*request.body_stream, boundary);
      std::optional<std::string> path_field;
      std::optional<std::string> filename;
      for (;;) {
        COFFER_TRY(std::optional<PartInfo> part, form.next_part());
        if (!part) break;
        if (part->name == "path") {
          if (path_field) return Error::BadRequest("more than one path field");
          COFFER_TRY(std::string value, read_field(form.part_body()));
          path_field = std::move(value);
          if (!staged.holds() && !path_field->empty()) {
            COFFER_TRY(FilePath p, FilePath::parse(*path_field));
            COFFER_TRY_VOID(files_.precheck_upload(caller, p, overwrite, std::nullopt));
          }
        } else if (part->name == "file") {
          if (staged.holds()) return Error::BadRequest("more than one file part");
          filename = part->filename;
          COFFER_TRY(content_type, content_type_or_default(part->content_type));
          // A path field may still follow the file, so the file name decides nothing yet.
          std::optional<FilePath> early;
          if (path_field && !path_field->empty()) {
            COFFER_TRY(early, FilePath::parse(*path_field));
          }
          COFFER_TRY_VOID(files_.precheck_upload(caller, early, overwrite, std::nullopt));
          COFFER_TRY(service::StagedObject s,
                     files_.stage(caller, form.part_body(), {std::nullopt, checksum}));
          staged.hold(std::move(s));
        } else {
          return Error::BadRequest("unexpected form field '" + part->name +
                                   "' (use file and path)");
        }
      }
      if (!staged.holds()) return Error::BadRequest("the form has no file part");
      const std::string chosen =
          path_field && !path_field->empty() ? *path_field : filename.value_or("");
      if (chosen.empty()) return Error::InvalidPath("no path: send a path field or a file name");
      COFFER_TRY(path, FilePath::parse(chosen));
      COFFER_TRY_VOID(finish_body(*request.body_stream));
    } else {
      auto raw_path = request.query_param("path");
      if (!raw_path) return Error::InvalidPath("give ?path= for a raw upload, or send a form");
      COFFER_TRY(path, FilePath::parse(*raw_path));
      COFFER_TRY(content_type, content_type_or_default(request.headers.get("Content-Type")));
      COFFER_TRY_VOID(files_.precheck_upload(caller, path, overwrite, request.content_length));
      COFFER_TRY(service::StagedObject s,
                 files_.stage(caller, *request.body_stream, {request.content_length, checksum}));
      staged.hold(std::move(s));
    }

    service::CommitOptions commit{*path, content_type, overwrite, if_match};
    auto file = files_.commit(caller, staged.get(), commit);
    staged.release();  // commit made it a file, or already removed it
    if (!file) return file.error();
    Response r = file_answer(201, *file);
    r.header("Location", "/api/v1/files/" + file->file.id);
    return r;
  });
}

Response FileHandlers::get(Request& request) const {
  return with_caller(identity_, request, [&](const service::Caller& caller) -> Result<Response> {
    COFFER_TRY(service::VisibleFile f, files_.get(caller, request.param("id")));
    return file_answer(200, f);
  });
}

Response FileHandlers::rename(Request& request) const {
  return with_caller(identity_, request, [&](const service::Caller& caller) -> Result<Response> {
    COFFER_TRY_VOID(service::require_user(caller));
    COFFER_TRY(JsonObjectReader body, JsonObjectReader::from_request(request));
    COFFER_TRY(std::string text, body.required_string("path"));
    COFFER_TRY_VOID(body.finish());
    COFFER_TRY(FilePath path, FilePath::parse(text));
    COFFER_TRY(service::VisibleFile f,
               files_.rename(caller, request.param("id"), path, header(request, "If-Match")));
    return file_answer(200, f);
  });
}

Response FileHandlers::remove(Request& request) const {
  return with_caller(identity_, request, [&](const service::Caller& caller) -> Result<Response> {
    COFFER_TRY_VOID(files_.remove(caller, request.param("id"), header(request, "If-Match")));
    return no_content();
  });
}

Response FileHandlers::download(Request& request) const {
  return with_caller(identity_, request, [&](const service::Caller& caller) -> Result<Response> {
    COFFER_TRY(bool redirect, flag(request, "redirect"));
    if (redirect) {
      COFFER_TRY(storage::PresignedUrl url,
                 files_.download_url(caller, request.param("id"), std::nullopt));
      Response r;
      r.status = 307;
      r.header("Location", url.url);
      r.header("Cache-Control", "no-store");
      return r;
    }
    service::DownloadRequest d{header(request, "Range"), header(request, "If-None-Match"),
                               header(request, "If-Range")};
    COFFER_TRY(service::Download dl, files_.download(caller, request.param("id"), d));
    const auto size = static_cast<std::uint64_t>(dl.file.size);
    const std::string etag = meta::file_etag(dl.file);
    if (dl.kind == service::Download::Kind::kUnsatisfiable) {
      Response r = fail(request, Error::RangeNotSatisfiable());
      r.header("Content-Range", content_range_unsatisfied(size));
      return r;
    }
    Response r;
    r.header("ETag", etag);
    r.header("Last-Modified", format_http_date(dl.file.updated_at));
    r.header("Cache-Control", "private, no-cache");
    if (dl.kind == service::Download::Kind::kNotModified) {
      r.status = 304;
      return r;
    }
    r.header("Content-Type",
             dl.file.content_type.empty() ? "application/octet-stream" : dl.file.content_type);
    r.header("Content-Disposition",
             attachment_disposition(FilePath::parse(dl.file.path)->filename()));
    r.header("Accept-Ranges", "bytes");
    if (dl.kind == service::Download::Kind::kPartial) {
      r.status = 206;
      r.header("Content-Range", content_range(dl.first, dl.last, size));
    }
    stream_object(r, std::move(dl.reader));
    return r;
  });
}

Response FileHandlers::download_url(Request& request) const {
  return with_caller(identity_, request, [&](const service::Caller& caller) -> Result<Response> {
    COFFER_TRY(JsonObjectReader body, JsonObjectReader::from_optional_body(request));
    COFFER_TRY(auto expires_in, body.optional_int("expires_in", 1, kMaxPresignSeconds));
    COFFER_TRY_VOID(body.finish());
    std::optional<std::chrono::seconds> expiry;
    if (expires_in) expiry = std::chrono::seconds(*expires_in);
    COFFER_TRY(storage::PresignedUrl url, files_.download_url(caller, request.param("id"), expiry));
    return json_answer(200, json::object{{"url", url.url},
                                         {"method", "GET"},
                                         {"expires_at", format_rfc3339(url.expires_at)}});
  });
}

}  // namespace coffer::api
