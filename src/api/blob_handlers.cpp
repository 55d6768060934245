#include "api/blob_handlers.h"

#include <map>

#include "api/handler_support.h"
#include "api/object_stream.h"
#include "core/byte_range.h"

namespace coffer::api {

namespace {

// The URL's query as BlobSigner::verify takes it. A parameter given twice is refused, so that no
// reader of the URL can take another value of it than the one that was verified.
Result<std::map<std::string, std::string>> blob_query(const Request& request) {
  std::map<std::string, std::string> query;
  for (const auto& [name, value] : request.query) {
    if (!query.emplace(name, value).second) return Error::Forbidden("invalid blob URL");
  }
  return query;
}

}  // namespace

Response BlobHandlers::get(Request& request) const {
  auto query = blob_query(request);
  if (!query) return fail(request, query.error());
  std::optional<std::string> range;
  if (auto r = request.headers.get("Range")) range = std::string(*r);
  auto blob = blobs_.get(request.param("key"), *query, range);
  if (!blob) return fail(request, blob.error());
  if (blob->unsatisfiable) {
    Response r = fail(request, Error::RangeNotSatisfiable());
    r.header("Content-Range", content_range_unsatisfied(blob->size));
    return r;
  }
  Response r;
  r.header("Content-Type", blob->grant.content_type.empty() ? "application/octet-stream"
                                                            : blob->grant.content_type);
  if (!blob->grant.response_content_disposition.empty()) {
    r.header("Content-Disposition", blob->grant.response_content_disposition);
  }
  r.header("Accept-Ranges", "bytes");
  if (blob->partial) {
    r.status = 206;
    r.header("Content-Range", content_range(blob->first, blob->last, blob->size));
  }
  stream_object(r, std::move(blob->reader));
  return r;
}

Response BlobHandlers::put(Request& request) const {
  auto query = blob_query(request);
  if (!query) return fail(request, query.error());
  if (!request.body_stream) return fail(request, Error::Internal("blob PUT without a body stream"));
  service::BlobPutHeaders headers;
  headers.content_length = request.content_length;
  if (auto c = request.headers.get("X-Checksum-Sha256")) headers.checksum = std::string(*c);
  auto etag = blobs_.put_part(request.param("key"), *query, headers, *request.body_stream);
  if (!etag) return fail(request, etag.error());
  Response r;
  r.header("ETag", *etag);
  return r;
}

}  // namespace coffer::api
