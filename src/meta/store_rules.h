// What every MetadataStore backend decides alike, as pure functions of the rows it has read (and
// locked) inside its own transaction: the backends differ in how they read and write rows, never
// in what a write means.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.h"
#include "meta/metadata_store.h"

namespace coffer::meta {

// Replaces the public message of a kConflict (from a unique violation) with one for the client.
Error conflict_as(Error e, const char* message);
Error last_admin_conflict();

bool is_enabled_admin(const UserRecord& u);
// `u` with the fields `patch` sets.
UserRecord patched(UserRecord u, const UserPatch& patch);

std::string_view principal_name(Principal p);

// The precondition and access checks every write to an existing file runs, in this order:
// `check` (may be empty), then If-Match (RFC 9110: the exact ETag, or "*" for any existing file).
Result<void> check_existing(const FileView& view, const FileCheck& check,
                            const std::optional<std::string>& if_match);

// What committing `r` does, given the tenant's row and the file now at r.path (both read under
// the backend's locks): the file row as it will be, and the change to the tenant's usage.
// Errors: kConflict (create mode, the path is taken), those of check_existing,
// kPreconditionFailed (If-Match, no file), kQuotaExceeded, kInternal (an object key reused).
struct CommitPlan {
  CommitResult result;
  std::int64_t bytes_delta = 0;
  std::int64_t files_delta = 0;
};
Result<CommitPlan> plan_commit(const CommitRequest& r, const TenantRecord& tenant,
                               const std::optional<FileView>& existing);

}  // namespace coffer::meta
