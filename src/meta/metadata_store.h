// MetadataStore: every row Coffer keeps, behind one interface with two backends (sqlite/,
// postgres/). All methods are synchronous, thread-safe, and atomic: each is one transaction.
// Errors: kNotFound / kConflict / kPreconditionFailed / kQuotaExceeded as documented per method;
// kStorageUnavailable when the database cannot be reached; kInternal for anything else.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "meta/records.h"

namespace coffer::meta {

// Called inside a write transaction with the current state of the file it is about to change,
// so that the access decision and the write are one atomic step. Returning an error rolls back.
// It must not call back into the store (a backend may hold its write lock meanwhile).
using FileCheck = std::function<Result<void>(const FileView& current)>;

enum class CommitMode {
  kCreate,            // the path must be free (kConflict otherwise)
  kCreateOrReplace,   // replace the content of the file at the path, or create it
};

struct CommitRequest {
  std::string tenant_id;
  // Dropped in the same transaction ("" if none). kNotFound if it is gone or a collector has
  // claimed it (its object may already be deleted).
  std::string intent_id;
  std::string new_file_id; // id for a created file
  std::string path;
  std::int64_t size = 0;
  std::string content_type;
  std::string sha256;
  std::string object_key;
  std::string user_id;     // the committer: owner of a created file; whose grants `check` sees
  CommitMode mode = CommitMode::kCreate;
  FileCheck check;         // run on an existing file before it is replaced; may be empty
  // ETag the existing file must have ("*": any existing file); kPreconditionFailed also when
  // there is no file at the path.
  std::optional<std::string> if_match;
  SystemTime now;
  SystemTime replaced_not_before;       // when the replaced object may be deleted
};

struct CommitResult {
  FileRecord file;
  bool created = false;
};

struct TenantPatch {
  std::optional<std::string> name;
  std::optional<std::optional<std::int64_t>> quota_bytes;  // set (possibly to unlimited) when present
  std::optional<std::optional<std::int64_t>> quota_files;
};

struct UserPatch {
  std::optional<TenantRole> role;
  std::optional<bool> disabled;
  std::optional<std::string> password_hash;
};

// Which files a listing may return: all of the tenant's, or only those a user has some role on.
struct ListFilter {
  std::string tenant_id;
  std::string user_id;       // whose grants the FileViews carry
  bool all_files = false;    // true for tenant admins
};

class MetadataStore {
 public:
  virtual ~MetadataStore() = default;

  // Creates or upgrades the schema to the newest version; safe to run concurrently.
  virtual Result<void> migrate() = 0;
  // Cheap round trip, for /readyz.
  virtual Result<void> ping() = 0;
  // True when reads are cheap enough to run on an I/O thread (an embedded database).
  virtual bool reads_are_local() const = 0;

  // --- tenants ---
  // kConflict if the slug is taken. The admin user is created in the same transaction.
  virtual Result<void> create_tenant(const TenantRecord& tenant, const UserRecord& admin) = 0;
  virtual Result<TenantRecord> get_tenant(const std::string& id) = 0;
  virtual Result<TenantRecord> find_tenant_by_slug(const std::string& slug) = 0;
  // Ordered by slug, after `after_slug` (exclusive; "" from the start).
  virtual Result<std::vector<TenantRecord>> list_tenants(const std::string& after_slug, int limit) = 0;
  virtual Result<TenantRecord> update_tenant(const std::string& id, const TenantPatch& patch) = 0;
  // Removes the tenant and all its rows; queues every object key it referenced for deletion at
  // `now`. kNotFound if absent.
  virtual Result<void> delete_tenant(const std::string& id, SystemTime now) = 0;

  // --- users ---
  // kConflict if the username is taken in the tenant; kNotFound if the tenant is absent.
  virtual Result<void> create_user(const UserRecord& user) = 0;
  virtual Result<UserRecord> get_user(const std::string& tenant_id, const std::string& id) = 0;
  virtual Result<UserRecord> find_user_by_name(const std::string& tenant_id,
                                               const std::string& username) = 0;
  // Ordered by username, after `after_username` (exclusive).
  virtual Result<std::vector<UserRecord>> list_users(const std::string& tenant_id,
                                                     const std::string& after_username,
                                                     int limit) = 0;
  // kConflict when the change would leave the tenant without an enabled admin.
  virtual Result<UserRecord> update_user(const std::string& tenant_id, const std::string& id,
                                         const UserPatch& patch) = 0;
  // Passes the user's files to `new_owner_id`, removes the grants the user holds, deletes the
  // user. kConflict when it would leave the tenant without an enabled admin, or when
  // new_owner_id is the user; kNotFound if the user or the new owner is not in the tenant.
  virtual Result<void> delete_user(const std::string& tenant_id, const std::string& id,
                                   const std::string& new_owner_id) = 0;

  // --- files ---
  virtual Result<FileView> get_file(const std::string& tenant_id, const std::string& id,
                                    const std::string& user_id) = 0;
  virtual Result<FileView> find_file_by_path(const std::string& tenant_id, const std::string& path,
                                             const std::string& user_id) = 0;
  // Files with lower < path < upper (upper "" = no bound), ordered by path, at most `limit`,
  // restricted by `filter`. Uses the (tenant, path) index: cost grows with `limit`, not with
  // the number of files in the tenant.
  virtual Result<std::vector<FileView>> scan_files(const ListFilter& filter,
                                                   const std::string& lower,
                                                   bool lower_inclusive,
                                                   const std::string& upper, int limit) = 0;
  // The consistency protocol's commit: quota check, insert or replace the row (version + 1),
  // drop the intent, queue the replaced object, update usage — one transaction.
  // kConflict (path taken, mode kCreate), kPreconditionFailed (if_match), kQuotaExceeded, or
  // whatever `check` returns.
  virtual Result<CommitResult> commit_file(const CommitRequest& request) = 0;
  // kConflict if new_path is taken; `check` sees the file first; kNotFound if absent.
  virtual Result<FileRecord> rename_file(const std::string& tenant_id, const std::string& id,
                                         const std::string& user_id, const std::string& new_path,
                                         const std::optional<std::string>& if_match,
                                         const FileCheck& check, SystemTime now) = 0;
  // Removes the row, updates usage and queues its object for deletion at `object_not_before`.
  // Of concurrent deletes exactly one succeeds; the others get kNotFound.
  virtual Result<FileRecord> delete_file(const std::string& tenant_id, const std::string& id,
                                         const std::string& user_id,
                                         const std::optional<std::string>& if_match,
                                         const FileCheck& check, SystemTime object_not_before) = 0;

  // --- grants ---
  virtual Result<std::vector<GrantRecord>> grants_for_file(const std::string& tenant_id,
                                                           const std::string& file_id) = 0;
  virtual Result<std::vector<GrantRecord>> grants_for_user(const std::string& tenant_id,
                                                           const std::string& user_id) = 0;
  // Creates or replaces the grant of (file, principal, user). kNotFound if the file or the user
  // is not in the tenant. `check` sees the file (with the granter's grants) first.
  virtual Result<GrantRecord> put_grant(const GrantRecord& grant, const FileCheck& check) = 0;
  // Succeeds also when there was no such grant. `check` as for put_grant.
  virtual Result<void> remove_grant(const std::string& tenant_id, const std::string& file_id,
                                    Principal principal, const std::string& user_id,
                                    const std::string& acting_user_id, const FileCheck& check) = 0;

  // --- upload intents ---
  virtual Result<void> create_intent(const UploadIntent& intent) = 0;
  virtual Result<UploadIntent> get_intent(const std::string& tenant_id, const std::string& id) = 0;
  // kNotFound if it was already gone (completed, aborted or collected).
  virtual Result<void> delete_intent(const std::string& id) = 0;
  // Expired intents, each leased to the caller until `lease_until` so that collectors on other
  // nodes skip it. The caller removes the objects, then delete_intent().
  virtual Result<std::vector<UploadIntent>> claim_expired_intents(SystemTime now,
                                                                  SystemTime lease_until,
                                                                  int limit) = 0;

  // --- deletion queue ---
  virtual Result<void> enqueue_deletion(const std::string& object_key, SystemTime not_before) = 0;
  // Due entries, leased like claim_expired_intents.
  virtual Result<std::vector<Deletion>> claim_deletions(SystemTime now, SystemTime lease_until,
                                                        int limit) = 0;
  virtual Result<void> complete_deletions(const std::vector<std::int64_t>& ids) = 0;
  // Which of `keys` are referenced by a file, an intent or the deletion queue.
  virtual Result<std::vector<std::string>> referenced_keys(const std::vector<std::string>& keys) = 0;
};

// Opens the store a database URL names: sqlite:///abs/path.db, sqlite:relative.db, or
// postgresql://... (relative sqlite paths are relative to the working directory).
Result<std::unique_ptr<MetadataStore>> open_metadata_store(const std::string& url, int pool_size);

}  // namespace coffer::meta
