// Per-file ACLs (API.md "Permissions"). Every decision goes through access::decide.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "meta/metadata_store.h"
#include "service/caller.h"

namespace coffer::service {

struct FileAcl {
  std::string file_id;
  std::string owner_id;
  std::vector<meta::GrantRecord> grants;
};

struct GrantChange {
  std::string file_id;
  meta::Principal principal = meta::Principal::kUser;
  std::string user_id;                 // for Principal::kUser
  access::FileRole role = access::FileRole::kNone;  // kNone revokes
};

// The facts access::decide needs, from a FileView.
access::FileFacts facts_of(const meta::FileView& view);

class Permissions {
 public:
  Permissions(meta::MetadataStore& db, const Clock& clock) : db_(db), clock_(clock) {}

  // `viewer` on the file.
  Result<FileAcl> for_file(const Caller& caller, const std::string& file_id);
  // The grants a user holds: tenant admins, or the user themself.
  Result<std::vector<meta::GrantRecord>> for_user(const Caller& caller, const std::string& user_id);
  // Creates or changes a grant (`admin` on the file, and never above the caller's own role);
  // nullopt when the change revoked it.
  Result<std::optional<meta::GrantRecord>> set(const Caller& caller, const GrantChange& change);
  // Removes a grant; succeeds when there was none.
  Result<void> revoke(const Caller& caller, const std::string& file_id, meta::Principal principal,
                      const std::string& user_id);

 private:
  meta::MetadataStore& db_;
  const Clock& clock_;
};

}  // namespace coffer::service
