#include "http/routes.h"

#include "api/error_response.h"

namespace coffer::http {
namespace {

using api::Method;

Handler not_yet() {
  return [](api::Request& request) {
    return api::error_response(Error::NotFound("no such route"), request.request_id);
  };
}

// A handler bound to its object; a route whose handlers are not built (a feature that has not
// landed, or a router built for tests) answers 404.
template <class T>
Handler bind(const T* object, api::Response (T::*method)(api::Request&) const) {
  if (!object) return not_yet();
  return [object, method](api::Request& request) { return (object->*method)(request); };
}

}  // namespace

Router make_api_router(const Handlers& h, bool inline_reads, bool with_metrics) {
  const Dispatch read = inline_reads ? Dispatch::kInline : Dispatch::kWorker;
  const Dispatch write = Dispatch::kWorker;
  Router r;
  r.add({Method::kGet, "/healthz", BodyMode::kBuffered, Dispatch::kInline,
         bind(h.service, &api::ServiceHandlers::healthz)});
  r.add({Method::kGet, "/readyz", BodyMode::kBuffered, Dispatch::kWorker,
         bind(h.service, &api::ServiceHandlers::readyz)});
  if (with_metrics) {
    r.add({Method::kGet, "/metrics", BodyMode::kBuffered, Dispatch::kInline,
           bind(h.service, &api::ServiceHandlers::metrics)});
  }
  r.add({Method::kGet, "/api/v1/openapi.json", BodyMode::kBuffered, Dispatch::kInline,
         bind(h.service, &api::ServiceHandlers::openapi)});

  r.add({Method::kPost, "/api/v1/auth/token", BodyMode::kBuffered, write,
         bind(h.auth, &api::AuthHandlers::token)});
  r.add({Method::kGet, "/api/v1/me", BodyMode::kBuffered, read, bind(h.auth, &api::AuthHandlers::me)});

  r.add({Method::kGet, "/api/v1/files", BodyMode::kBuffered, read, bind(h.files, &api::FileHandlers::list)});
  r.add({Method::kPost, "/api/v1/files", BodyMode::kStream, write,
         bind(h.files, &api::FileHandlers::upload)});
  r.add({Method::kGet, "/api/v1/files/{id}", BodyMode::kBuffered, read,
         bind(h.files, &api::FileHandlers::get)});
  r.add({Method::kPatch, "/api/v1/files/{id}", BodyMode::kBuffered, write,
         bind(h.files, &api::FileHandlers::rename)});
  r.add({Method::kDelete, "/api/v1/files/{id}", BodyMode::kBuffered, write,
         bind(h.files, &api::FileHandlers::remove)});
  r.add({Method::kGet, "/api/v1/files/{id}/download", BodyMode::kBuffered, write,
         bind(h.files, &api::FileHandlers::download)});
  r.add({Method::kGet, "/api/v1/files/{id}/Download", BodyMode::kBuffered, write,
         bind(h.files, &api::FileHandlers::download)});
  r.add({Method::kPost, "/api/v1/files/{id}/download-url", BodyMode::kBuffered, read,
         bind(h.files, &api::FileHandlers::download_url)});

  r.add({Method::kPost, "/api/v1/uploads", BodyMode::kBuffered, write,
         bind(h.uploads, &api::UploadHandlers::create)});
  r.add({Method::kPost, "/api/v1/uploads/{id}/complete", BodyMode::kBuffered, write,
         bind(h.uploads, &api::UploadHandlers::complete)});
  r.add({Method::kDelete, "/api/v1/uploads/{id}", BodyMode::kBuffered, write,
         bind(h.uploads, &api::UploadHandlers::abort)});

  r.add({Method::kGet, "/api/v1/permissions", BodyMode::kBuffered, read,
         bind(h.permissions, &api::PermissionHandlers::get)});
  r.add({Method::kPost, "/api/v1/permissions", BodyMode::kBuffered, write,
         bind(h.permissions, &api::PermissionHandlers::set)});
  r.add({Method::kDelete, "/api/v1/permissions", BodyMode::kBuffered, write,
         bind(h.permissions, &api::PermissionHandlers::remove)});

  r.add({Method::kGet, "/api/v1/users", BodyMode::kBuffered, read, bind(h.users, &api::UserHandlers::list)});
  r.add({Method::kPost, "/api/v1/users", BodyMode::kBuffered, write,
         bind(h.users, &api::UserHandlers::create)});
  r.add({Method::kGet, "/api/v1/users/{id}", BodyMode::kBuffered, read,
         bind(h.users, &api::UserHandlers::get)});
  r.add({Method::kPatch, "/api/v1/users/{id}", BodyMode::kBuffered, write,
         bind(h.users, &api::UserHandlers::update)});
  r.add({Method::kDelete, "/api/v1/users/{id}", BodyMode::kBuffered, write,
         bind(h.users, &api::UserHandlers::remove)});

  r.add({Method::kGet, "/api/v1/tenants", BodyMode::kBuffered, read,
         bind(h.tenants, &api::TenantHandlers::list)});
  r.add({Method::kPost, "/api/v1/tenants", BodyMode::kBuffered, write,
         bind(h.tenants, &api::TenantHandlers::create)});
  r.add({Method::kGet, "/api/v1/tenants/{id}", BodyMode::kBuffered, read,
         bind(h.tenants, &api::TenantHandlers::get)});
  r.add({Method::kPatch, "/api/v1/tenants/{id}", BodyMode::kBuffered, write,
         bind(h.tenants, &api::TenantHandlers::update)});
  r.add({Method::kDelete, "/api/v1/tenants/{id}", BodyMode::kBuffered, write,
         bind(h.tenants, &api::TenantHandlers::remove)});

  r.add({Method::kGet, "/blob/{key*}", BodyMode::kBuffered, write, bind(h.blobs, &api::BlobHandlers::get)});
  r.add({Method::kPut, "/blob/{key*}", BodyMode::kStream, write, bind(h.blobs, &api::BlobHandlers::put)});
  return r;
}

Router make_metrics_router(const Handlers& h) {
  Router r;
  r.add({Method::kGet, "/metrics", BodyMode::kBuffered, Dispatch::kInline,
         bind(h.service, &api::ServiceHandlers::metrics)});
  return r;
}

}  // namespace coffer::http
