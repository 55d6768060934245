// Every route of API.md, bound to its handler. Routes whose feature has not landed yet answer
// 404 not_found, so that nothing pretends to work.
#pragma once

#include "api/auth_handlers.h"
#include "api/blob_handlers.h"
#include "api/file_handlers.h"
#include "api/permission_handlers.h"
#include "api/service_handlers.h"
#include "api/tenant_handlers.h"
#include "api/upload_handlers.h"
#include "api/user_handlers.h"
#include "http/router.h"

namespace coffer::http {

struct Handlers {
  const api::ServiceHandlers* service = nullptr;
  const api::AuthHandlers* auth = nullptr;
  const api::TenantHandlers* tenants = nullptr;
  const api::UserHandlers* users = nullptr;
  const api::PermissionHandlers* permissions = nullptr;
  const api::FileHandlers* files = nullptr;
  const api::BlobHandlers* blobs = nullptr;
  const api::UploadHandlers* uploads = nullptr;
};

// The public API router. `inline_reads`: metadata reads may run on I/O threads (SQLite).
// `with_metrics`: serve /metrics here too (false when it has a listener of its own).
Router make_api_router(const Handlers& handlers, bool inline_reads, bool with_metrics);
// The router of a separate metrics listener: /metrics only.
Router make_metrics_router(const Handlers& handlers);

}  // namespace coffer::http
