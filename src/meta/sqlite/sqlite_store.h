// SqliteStore: MetadataStore on one SQLite database file (the embedded default). Thread-safe: any
// thread may call any method. Writes run as BEGIN IMMEDIATE transactions, so writers — threads of
// this process, or other processes sharing the file — serialise instead of deadlocking on a lock
// upgrade; reads run concurrently with them (WAL). A FileCheck runs inside the write transaction
// and must not call back into the store.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "meta/metadata_store.h"
#include "meta/sqlite/sqlite_db.h"

namespace coffer::meta::sqlite {

struct SqliteOptions {
  int pool_size = 4;  // connections kept open; at least 1
  // How long a statement waits for another process's write lock before kStorageUnavailable.
  std::chrono::milliseconds busy_timeout{5000};
};

class SqliteStore final : public MetadataStore {
 public:
  // Opens (creating if needed) the database file; its parent directory must exist.
  // kStorageUnavailable if it cannot be opened. Does not migrate.
  static Result<std::unique_ptr<SqliteStore>> open(const std::string& path,
                                                   SqliteOptions options = {});
  ~SqliteStore() override;

  // The scan_files query for a filter shape; exposed so that tests can EXPLAIN it.
  // Parameters: ?1 tenant, ?2 user, ?3 lower, ?4 upper (when has_upper), ?5 limit.
  static std::string scan_files_sql(bool all_files, bool lower_inclusive, bool has_upper);

  Result<void> migrate() override;
  Result<void> ping() override;
  bool reads_are_local() const override { return true; }

  Result<void> create_tenant(const TenantRecord& tenant, const UserRecord& admin) override;
  Result<TenantRecord> get_tenant(const std::string& id) override;
  Result<TenantRecord> find_tenant_by_slug(const std::string& slug) override;
  Result<std::vector<TenantRecord>> list_tenants(const std::string& after_slug, int limit) override;
  Result<TenantRecord> update_tenant(const std::string& id, const TenantPatch& patch) override;
  Result<void> delete_tenant(const std::string& id, SystemTime now) override;

  Result<void> create_user(const UserRecord& user) override;
  Result<UserRecord> get_user(const std::string& tenant_id, const std::string& id) override;
  Result<UserRecord> find_user_by_name(const std::string& tenant_id,
                                       const std::string& username) override;
  Result<std::vector<UserRecord>> list_users(const std::string& tenant_id,
                                             const std::string& after_username, int limit) override;
  Result<UserRecord> update_user(const std::string& tenant_id, const std::string& id,
                                 const UserPatch& patch) override;
  Result<void> delete_user(const std::string& tenant_id, const std::string& id,
                           const std::string& new_owner_id) override;

  Result<FileView> get_file(const std::string& tenant_id, const std::string& id,
                            const std::string& user_id) override;
  Result<FileView> find_file_by_path(const std::string& tenant_id, const std::string& path,
                                     const std::string& user_id) override;
  Result<std::vector<FileView>> scan_files(const ListFilter& filter, const std::string& lower,
                                           bool lower_inclusive, const std::string& upper,
                                           int limit) override;
  Result<CommitResult> commit_file(const CommitRequest& request) override;
  Result<FileRecord> rename_file(const std::string& tenant_id, const std::string& id,
                                 const std::string& user_id, const std::string& new_path,
                                 const std::optional<std::string>& if_match, const FileCheck& check,
                                 SystemTime now) override;
  Result<FileRecord> delete_file(const std::string& tenant_id, const std::string& id,
                                 const std::string& user_id,
                                 const std::optional<std::string>& if_match, const FileCheck& check,
                                 SystemTime object_not_before) override;

  Result<std::vector<GrantRecord>> grants_for_file(const std::string& tenant_id,
                                                   const std::string& file_id) override;
  Result<std::vector<GrantRecord>> grants_for_user(const std::string& tenant_id,
                                                   const std::string& user_id) override;
  Result<GrantRecord> put_grant(const GrantRecord& grant, const FileCheck& check) override;
  Result<void> remove_grant(const std::string& tenant_id, const std::string& file_id,
                            Principal principal, const std::string& user_id,
                            const std::string& acting_user_id, const FileCheck& check) override;

  Result<void> create_intent(const UploadIntent& intent) override;
  Result<UploadIntent> get_intent(const std::string& tenant_id, const std::string& id) override;
  Result<void> delete_intent(const std::string& id) override;
  Result<std::vector<UploadIntent>> claim_expired_intents(SystemTime now, SystemTime lease_until,
                                                          int limit) override;

  Result<void> enqueue_deletion(const std::string& object_key, SystemTime not_before) override;
  Result<std::vector<Deletion>> claim_deletions(SystemTime now, SystemTime lease_until,
                                                int limit) override;
  Result<void> complete_deletions(const std::vector<std::int64_t>& ids) override;
  Result<std::vector<std::string>> referenced_keys(const std::vector<std::string>& keys) override;

 private:
  class Lease;

  SqliteStore(std::string path, SqliteOptions options);

  // A connection for the caller's exclusive use until the Lease is destroyed.
  Result<Lease> acquire();
  void release(std::unique_ptr<Connection> conn);

  // Runs `body(Connection&) -> Result<T>` in one BEGIN IMMEDIATE transaction: committed when it
  // succeeds, rolled back when it fails (or throws).
  template <class Body>
  auto write(Body&& body) -> decltype(body(std::declval<Connection&>()));
  // Runs `body(Connection&) -> Result<T>` on a leased connection, outside any explicit
  // transaction: each statement is its own snapshot.
  template <class Body>
  auto read(Body&& body) -> decltype(body(std::declval<Connection&>()));

  const std::string path_;
  const SqliteOptions options_;

  // Writers of this process queue here rather than in SQLite's busy handler, which polls with
  // sleeps; BEGIN IMMEDIATE still serialises them against other processes.
  std::mutex write_mutex_;

  std::mutex pool_mutex_;
  std::condition_variable pool_cv_;
  std::vector<std::unique_ptr<Connection>> idle_;  // guarded by pool_mutex_
  int open_connections_ = 0;                       // guarded by pool_mutex_
};

}  // namespace coffer::meta::sqlite
