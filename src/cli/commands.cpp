#include "cli/commands.h"

#include <iostream>

#include "api/auth_handlers.h"
#include "api/blob_handlers.h"
#include "api/file_handlers.h"
#include "api/permission_handlers.h"
#include "api/service_handlers.h"
#include "api/tenant_handlers.h"
#include "api/upload_handlers.h"
#include "api/user_handlers.h"
#include "auth/password.h"
#include "cli/app.h"
#include "core/log.h"
#include "core/metrics.h"
#include "http/routes.h"
#include "http/server.h"
#include "service/blobs.h"
#include "service/collector.h"
#include "service/directory.h"
#include "service/files.h"
#include "service/health.h"
#include "service/identity.h"
#include "service/login.h"
#include "service/permissions.h"
#include "service/uploads.h"
#include "storage/instrumented_object_store.h"

namespace coffer::cli {
namespace {

int fail(const char* what, const Error& e) {
  std::cerr << "coffer: " << what << ": " << e.message;
  if (!e.detail.empty() && e.code != ErrorCode::kInternal) std::cerr << " (" << e.detail << ")";
  if (e.code == ErrorCode::kInternal && !e.detail.empty()) std::cerr << ": " << e.detail;
  std::cerr << "\n";
  return 1;
}

std::chrono::seconds seconds(Duration d) {
  return std::chrono::duration_cast<std::chrono::seconds>(d);
}

service::UploadsConfig uploads_config(const Config& config) {
  service::UploadsConfig u;
  u.part_size = config.transfer.upload_part_size;
  u.presign_expiry = seconds(config.transfer.presign_expiry);
  u.upload_ttl = seconds(config.transfer.upload_ttl);
  return u;
}

service::FilesConfig files_config(const Config& config) {
  service::FilesConfig f;
  f.max_upload_bytes = config.http.max_upload_bytes;
  f.upload_ttl = seconds(config.transfer.upload_ttl);
  f.deletion_grace = seconds(config.gc.grace);
  f.presign_expiry = seconds(config.transfer.presign_expiry);
  return f;
}

// The collector of the configured store: an S3 store also has its stale incomplete multipart
// uploads aborted (those begun more than the upload TTL ago).
service::CollectorOptions collector_options(const Config& config, storage::ObjectStore& opened) {
  service::CollectorOptions options;
  options.upload_ttl = seconds(config.transfer.upload_ttl);
  options.sweep_incomplete_uploads = incomplete_upload_sweeper(opened);
  return options;
}

std::optional<std::chrono::seconds> parse_ttl(const std::string& text) {
  auto d = parse_duration(text);
  if (!d || d->count() < 1000) return std::nullopt;
  return std::chrono::duration_cast<std::chrono::seconds>(*d);
}

}  // namespace

int run_serve(const GlobalOptions& global) {
  http::block_shutdown_signals();
  auto config = load_configuration(global);
  if (!config) return 2;

  // Bound first: the URLs Coffer hands out (presigned /blob URLs) need the real port.
  Metrics metrics;
  http::Router api_router;
  http::Router metrics_router;
  const bool separate_metrics = !config->http.metrics_listen.empty();
  std::vector<http::Listener> listeners{{config->http.listen, &api_router}};
  if (separate_metrics) listeners.push_back({config->http.metrics_listen, &metrics_router});
  http::Server server(config->http, std::move(listeners), metrics);
  try {
    server.bind();
  } catch (const std::exception& e) {
    log::app().error("{}", e.what());
    return 1;
  }
  if (config->http.public_url.empty())
    config->http.public_url = public_base_url(*config, server.port(0));

  auto db = open_database(*config);
  if (!db) {
    log::app().error("database: {} {}", db.error().message, db.error().detail);
    return 1;
  }
  auto storage = open_object_store(*config);
  if (!storage) {
    log::app().error("{} {}", storage.error().message, storage.error().detail);
    return 1;
  }
  // Every call to the store is timed and counted for /metrics.
  storage::InstrumentedObjectStore store(*storage->store, metrics);
  SystemClock clock;
  auto tokens = make_token_authority(*config, clock, /*trust_external_issuers=*/true);
  if (!tokens) {
    log::app().error("authentication: {} {}", tokens.error().message, tokens.error().detail);
    return 1;
  }

  auth::PasswordHasher hasher;
  service::Health health(**db, store);
  service::TenantRateLimiter rate_limiter(config->http.tenant_rate_limit);
  // SQLite: every change goes through this process, which empties the cache at once, so it is
  // exact. PostgreSQL: another node may change a user, and a disabled user must be refused by
  // every node at once; the user is read on every request there.
  std::optional<service::UserCache> user_cache;
  if ((*db)->reads_are_local()) user_cache.emplace();
  service::UserCache* users = user_cache ? &*user_cache : nullptr;
  service::Identity identity(**tokens, **db, rate_limiter, users);
  service::LoginThrottle throttle(config->auth.max_login_failures,
                                  seconds(config->auth.login_lockout));
  service::Login login(**db, hasher, **tokens, throttle, clock, seconds(config->auth.token_ttl));
  service::Directory directory(**db, store, hasher, clock, users);
  service::Permissions permissions(**db, clock);
  service::Files files(**db, store, clock, files_config(*config));
  service::Uploads uploads(**db, store, files, clock, uploads_config(*config));
  service::Blobs blobs(storage->blob_signer ? &*storage->blob_signer : nullptr, storage->fs_store,
                       store, clock);
  service::Collector collector(**db, store, clock, collector_options(*config, *storage->store));
  service::BackgroundCollector background_collector(collector, config->gc.interval);

  api::ServiceHandlers service_handlers(health, metrics);
  api::AuthHandlers auth_handlers(login, identity, directory);
  api::TenantHandlers tenant_handlers(identity, directory);
  api::UserHandlers user_handlers(identity, directory);
  api::PermissionHandlers permission_handlers(identity, permissions);
  api::FileHandlers file_handlers(identity, files);
  api::BlobHandlers blob_handlers(blobs);
  api::UploadHandlers upload_handlers(identity, uploads);
  http::Handlers handlers{&service_handlers,    &auth_handlers, &tenant_handlers,
                          &user_handlers,       &permission_handlers, &file_handlers,
                          &blob_handlers,       &upload_handlers};
  api_router = http::make_api_router(handlers, (*db)->reads_are_local(), !separate_metrics);
  metrics_router = http::make_metrics_router(handlers);

  log::app().info("coffer listening on http://{}:{} (database: {}, storage: {})",
                  config->http.listen.substr(0, config->http.listen.rfind(':')), server.port(0),
                  (*db)->reads_are_local() ? "sqlite" : "postgresql", store.kind());
  if (separate_metrics) log::app().info("metrics on port {}", server.port(1));
  bool clean = server.run();
  background_collector.stop();
  log::app().info("coffer stopped{}", clean ? "" : " (grace period exceeded)");
  log::flush();
  if (!clean) std::_Exit(1);  // workers may still wait on the stopped I/O threads
  return 0;
}

int run_migrate(const GlobalOptions& global) {
  auto config = load_configuration(global);
  if (!config) return 2;
  auto db = open_database(*config);
  if (!db) return fail("migrate", db.error());
  std::cout << "database schema is up to date\n";
  return 0;
}

int run_token(const GlobalOptions& global, const TokenOptions& options) {
  if (options.operator_token == (!options.tenant.empty() || !options.user.empty()) ||
      (!options.operator_token && (options.tenant.empty() || options.user.empty()))) {
    std::cerr << "coffer: token: give --operator, or --tenant SLUG and --user USERNAME\n";
    return 2;
  }
  auto ttl = parse_ttl(options.ttl);
  if (!ttl) {
    std::cerr << "coffer: token: --ttl must be a duration of at least 1s (e.g. 15m, 1h)\n";
    return 2;
  }
  auto config = load_configuration(global);
  if (!config) return 2;
  SystemClock clock;
  auto tokens = make_token_authority(*config, clock, /*trust_external_issuers=*/false);
  if (!tokens) return fail("token", tokens.error());
  Result<std::string> token = Error::Internal("");
  if (options.operator_token) {
    token = (*tokens)->issue_operator_token(*ttl);
  } else {
    auto db = open_database(*config);
    if (!db) return fail("token", db.error());
    auto tenant = (*db)->find_tenant_by_slug(options.tenant);
    if (!tenant) return fail("token", Error::NotFound("no tenant '" + options.tenant + "'"));
    auto user = (*db)->find_user_by_name(tenant->id, options.user);
    if (!user) {
      return fail("token", Error::NotFound("no user '" + options.user + "' in tenant '" +
                                           options.tenant + "'"));
    }
    if (user->disabled) return fail("token", Error::BadRequest("user is disabled"));
    token = (*tokens)->issue_user_token(tenant->id, user->id, *ttl);
  }
  if (!token) return fail("token", token.error());
  std::cout << *token << "\n";
  return 0;
}

int run_tenant_create(const GlobalOptions& global, const TenantCreateOptions& options) {
  auto config = load_configuration(global);
  if (!config) return 2;
  auto db = open_database(*config);
  if (!db) return fail("tenant create", db.error());
  auto storage = open_object_store(*config);
  if (!storage) return fail("tenant create", storage.error());
  SystemClock clock;
  auth::PasswordHasher hasher(1);
  service::Directory directory(**db, *storage->store, hasher, clock);
  service::NewTenant request;
  request.slug = options.slug;
  request.name = options.name;
  request.admin_username = options.admin;
  if (!options.password.empty()) request.admin_password = options.password;
  auto created = directory.create_tenant(service::Caller::operator_caller(), request);
  if (!created) return fail("tenant create", created.error());
  std::cout << "tenant " << created->first.slug << " (" << created->first.id
            << ") created with admin " << created->second.username << " (" << created->second.id
            << ")\n";
  return 0;
}

int run_user_create(const GlobalOptions& global, const UserCreateOptions& options) {
  auto role = access::parse_tenant_role(options.role);
  if (!role) {
    std::cerr << "coffer: user create: --role must be admin, editor or viewer\n";
    return 2;
  }
  auto config = load_configuration(global);
  if (!config) return 2;
  auto db = open_database(*config);
  if (!db) return fail("user create", db.error());
  auto storage = open_object_store(*config);
  if (!storage) return fail("user create", storage.error());
  SystemClock clock;
  auth::PasswordHasher hasher(1);
  service::Directory directory(**db, *storage->store, hasher, clock);
  service::NewUser request;
  request.username = options.username;
  request.role = *role;
  if (!options.password.empty()) request.password = options.password;
  auto created = directory.create_user_in(options.tenant, request);
  if (!created) return fail("user create", created.error());
  std::cout << "user " << created->username << " (" << created->id << ") created in tenant "
            << options.tenant << "\n";
  return 0;
}

int run_gc(const GlobalOptions& global) {
  auto config = load_configuration(global);
  if (!config) return 2;
  auto db = open_database(*config);
  if (!db) return fail("gc", db.error());
  auto storage = open_object_store(*config);
  if (!storage) return fail("gc", storage.error());
  SystemClock clock;
  service::Collector collector(**db, *storage->store, clock,
                               collector_options(*config, *storage->store));
  auto due = collector.collect_due();
  if (!due) return fail("gc", due.error());
  auto orphans = collector.sweep_orphans();
  if (!orphans) return fail("gc", orphans.error());
  std::cout << "gc: removed " << due->expired_uploads << " objects of abandoned uploads, "
            << due->deleted_objects << " objects of deleted or replaced files, " << orphans->orphans
            << " unreferenced objects, " << due->stale_uploads << " incomplete uploads\n";
  return 0;
}

}  // namespace coffer::cli
