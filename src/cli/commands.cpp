#include "cli/commands.h"

#include <iostream>

#include "api/service_handlers.h"
#include "cli/app.h"
#include "core/log.h"
#include "core/metrics.h"
#include "http/routes.h"
#include "http/server.h"
#include "service/health.h"

namespace coffer::cli {
namespace {

int not_yet(const char* what, const char* issue) {
  std::cerr << "coffer: " << what << " is not available yet (it arrives with the " << issue
            << " issue)\n";
  return 2;
}

}  // namespace

int run_serve(const GlobalOptions& global) {
  auto config = load_configuration(global);
  if (!config) return 2;
  auto db = open_database(*config);
  if (!db) {
    log::app().error("database: {} {}", db.error().message, db.error().detail);
    return 1;
  }
  auto store = open_object_store(*config);
  if (!store) {
    log::app().error("{} {}", store.error().message, store.error().detail);
    return 1;
  }

  Metrics metrics;
  service::Health health(**db, **store);
  api::ServiceHandlers service_handlers(health, metrics);
  http::Handlers handlers{&service_handlers};
  const bool separate_metrics = !config->http.metrics_listen.empty();
  http::Router api_router = http::make_api_router(handlers, (*db)->reads_are_local(), !separate_metrics);
  http::Router metrics_router = http::make_metrics_router(handlers);
  std::vector<http::Listener> listeners{{config->http.listen, &api_router}};
  if (separate_metrics) listeners.push_back({config->http.metrics_listen, &metrics_router});

  http::Server server(config->http, std::move(listeners), metrics);
  try {
    server.bind();
  } catch (const std::exception& e) {
    log::app().error("{}", e.what());
    return 1;
  }
  log::app().info("coffer listening on http://{}:{} (database: {}, storage: {})",
                  config->http.listen.substr(0, config->http.listen.rfind(':')), server.port(0),
                  (*db)->reads_are_local() ? "sqlite" : "postgresql", (*store)->kind());
  if (separate_metrics) log::app().info("metrics on port {}", server.port(1));
  bool clean = server.run();
  log::app().info("coffer stopped{}", clean ? "" : " (grace period exceeded)");
  log::app().flush();
  if (!clean) std::_Exit(1);  // workers may still wait on the stopped I/O threads
  return 0;
}

int run_migrate(const GlobalOptions& global) {
  auto config = load_configuration(global);
  if (!config) return 2;
  auto db = open_database(*config);
  if (!db) {
    std::cerr << "coffer: migrate: " << db.error().message << " " << db.error().detail << "\n";
    return 1;
  }
  std::cout << "database schema is up to date\n";
  return 0;
}

int run_token(const GlobalOptions&, const TokenOptions&) {
  return not_yet("coffer token", "identity and access");
}

int run_tenant_create(const GlobalOptions&, const TenantCreateOptions&) {
  return not_yet("coffer tenant create", "identity and access");
}

int run_user_create(const GlobalOptions&, const UserCreateOptions&) {
  return not_yet("coffer user create", "identity and access");
}

int run_gc(const GlobalOptions&) { return not_yet("coffer gc", "files"); }

}  // namespace coffer::cli
