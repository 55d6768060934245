// The coffer command: serve, migrate, token, tenant create, user create, gc (API.md "Running").
#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>

#include "cli/commands.h"

int main(int argc, char** argv) {
  using namespace coffer::cli;
  CLI::App app{"Coffer: multi-tenant file storage over one S3 bucket"};
  app.require_subcommand(1);
  GlobalOptions global;
  app.add_option("--config", global.config_file, "TOML configuration file")->check(CLI::ExistingFile);

  auto* serve = app.add_subcommand("serve", "run the server");
  auto* migrate = app.add_subcommand("migrate", "create or upgrade the database schema");

  TokenOptions token;
  auto* token_cmd = app.add_subcommand("token", "print an access token");
  token_cmd->add_flag("--operator", token.operator_token, "an operator token");
  token_cmd->add_option("--tenant", token.tenant, "tenant slug");
  token_cmd->add_option("--user", token.user, "username");
  token_cmd->add_option("--ttl", token.ttl, "lifetime, e.g. 1h")->default_val("1h");

  TenantCreateOptions tenant;
  auto* tenant_cmd = app.add_subcommand("tenant", "manage tenants")->require_subcommand(1);
  auto* tenant_create = tenant_cmd->add_subcommand("create", "create a tenant and its first admin");
  tenant_create->add_option("slug", tenant.slug, "tenant slug")->required();
  tenant_create->add_option("--name", tenant.name, "display name");
  tenant_create->add_option("--admin", tenant.admin, "username of the first admin")->required();
  tenant_create->add_option("--password", tenant.password, "password of the first admin");

  UserCreateOptions user;
  auto* user_cmd = app.add_subcommand("user", "manage users")->require_subcommand(1);
  auto* user_create = user_cmd->add_subcommand("create", "create a user in a tenant");
  user_create->add_option("--tenant", user.tenant, "tenant slug")->required();
  user_create->add_option("username", user.username, "username")->required();
  user_create->add_option("--role", user.role, "admin, editor or viewer")->required();
  user_create->add_option("--password", user.password, "password");

  auto* gc = app.add_subcommand("gc", "remove objects that no committed file references");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help prints and exits 0; every bad argument exits 2 (CLI11's own codes are 100+).
    return app.exit(e) == 0 ? 0 : 2;
  }

  if (*serve) return run_serve(global);
  if (*migrate) return run_migrate(global);
  if (*token_cmd) return run_token(global, token);
  if (*tenant_create) return run_tenant_create(global, tenant);
  if (*user_create) return run_user_create(global, user);
  if (*gc) return run_gc(global);
  return 2;
}
