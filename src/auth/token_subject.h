// Whom a verified token names.
#pragma once

#include <string>

namespace coffer::auth {

struct TokenSubject {
  enum class Kind { kUser, kOperator };
  Kind kind = Kind::kUser;
  // Coffer's own tokens name tenant and user by id; external issuers by tenant slug and username
  // (their claim names are configured per issuer).
  bool by_name = false;
  std::string tenant;
  std::string user;
};

}  // namespace coffer::auth
