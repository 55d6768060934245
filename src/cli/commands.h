// The subcommands of the coffer binary. Each returns the process exit code: 0 success, 1 failure,
// 2 usage error or a feature that has not landed yet.
#pragma once

#include <string>

namespace coffer::cli {

struct GlobalOptions {
  std::string config_file;
};

struct TokenOptions {
  bool operator_token = false;
  std::string tenant;
  std::string user;
  std::string ttl = "1h";
};

struct TenantCreateOptions {
  std::string slug;
  std::string name;
  std::string admin;
  std::string password;
};

struct UserCreateOptions {
  std::string tenant;
  std::string username;
  std::string role;
  std::string password;
};

int run_serve(const GlobalOptions& global);
int run_migrate(const GlobalOptions& global);
int run_token(const GlobalOptions& global, const TokenOptions& options);
int run_tenant_create(const GlobalOptions& global, const TenantCreateOptions& options);
int run_user_create(const GlobalOptions& global, const UserCreateOptions& options);
int run_gc(const GlobalOptions& global);

}  // namespace coffer::cli
