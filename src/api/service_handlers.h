// GET /healthz, /readyz, /metrics and /api/v1/openapi.json.
#pragma once

#include "api/http_types.h"
#include "core/metrics.h"
#include "service/health.h"

namespace coffer::api {

class ServiceHandlers {
 public:
  ServiceHandlers(const service::Health& health, const Metrics& metrics)
      : health_(health), metrics_(metrics) {}

  Response healthz(Request& request) const;
  Response readyz(Request& request) const;
  Response metrics(Request& request) const;
  Response openapi(Request& request) const;

 private:
  const service::Health& health_;
  const Metrics& metrics_;
};

}  // namespace coffer::api
