// PgStore: MetadataStore on PostgreSQL (libpq), for many Coffer nodes sharing one database.
// Thread-safe: any thread may call any method; each call holds one pooled connection.
//
// Every method is one transaction at READ COMMITTED. What must stay atomic across nodes is made so
// with row locks taken in one order (tenant row, then upload intent, then file row), so
// concurrent writers wait for each other rather than interleave:
//  - commit_file, delete_file and rename_file lock the tenant row (FOR NO KEY UPDATE) first:
//    quota checks and usage counters, version numbers of concurrent overwrites, and path
//    creation are decided one transaction at a time per tenant; the (tenant_id, path) unique
//    index is the backstop (kConflict).
//  - update_user (when it would demote or disable) and delete_user lock the tenant row too, so
//    the last-admin rule holds against concurrent changes of other admins.
//  - delete_file locks the file row; of concurrent deletes one finds it, the others kNotFound.
//  - grants are upserts (ON CONFLICT) under a share lock of their file.
//  - claim_expired_intents / claim_deletions pick rows with FOR UPDATE SKIP LOCKED and set the
//    lease in the same statement: collectors on many nodes never take the same row.
// A transaction that fails with a deadlock or serialization failure is retried, up to
// max_attempts in all, then answers kStorageUnavailable; a FileCheck may therefore run more than
// once. A FileCheck runs while the tenant row is locked: it must be quick and must not call back
// into the store.
//
// Failures: unique violations are kConflict; a database that cannot be reached, is restarting, or
// does not answer within the timeouts is kStorageUnavailable (the message says the database is
// unavailable; the detail never holds the URL); anything else is kInternal with the server's
// message in the detail.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "meta/metadata_store.h"
#include "meta/postgres/pg_connection.h"
#include "meta/postgres/pg_pool.h"

namespace coffer::meta::postgres {

struct PgOptions {
  int pool_size = 4;                        // connections at most; opened on demand; at least 1
  std::chrono::seconds connect_timeout{5};  // per connection attempt (libpq: >= 2 s)
  std::chrono::milliseconds statement_timeout{30000};  // server side, per statement
  // Client side, per round trip: past it the connection is dropped and the call fails, even
  // when the server itself does not answer. Keep it above statement_timeout.
  std::chrono::milliseconds response_timeout{35000};
  std::chrono::milliseconds pool_wait{10000};             // for a connection another call holds
  std::chrono::milliseconds migration_lock_wait{600000};  // for another node's migration
  int max_attempts = 5;  // of a transaction that deadlocks or fails to serialise
};

class PgStore final : public MetadataStore {
 public:
  // Validates `conninfo` (a postgresql:// URL or a key=value string) without connecting:
  // connections are opened on first use. kBadRequest if it does not parse (the message does not
  // repeat it: it may hold a password). Does not migrate.
  static Result<std::unique_ptr<PgStore>> open(const std::string& conninfo, PgOptions options = {});
  ~PgStore() override;

  // The scan_files query for a filter shape; exposed so that tests can EXPLAIN it.
  // Parameters: $1 tenant, $2 user, $3 lower, $4 limit, $5 upper (when has_upper).
  static std::string scan_files_sql(bool all_files, bool lower_inclusive, bool has_upper);

  Result<void> migrate() override;
  Result<void> ping() override;
  bool reads_are_local() const override { return false; }

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

  // Connections currently open; for tests.
  int open_connections() const { return pool_.open_connections(); }

 private:
  PgStore(ConnectionSettings settings, PgOptions options);

  // Runs `body(PgConnection&) -> Result<T>` in one transaction: committed when it succeeds,
  // rolled back when it fails (or throws). Retried from the start, on a fresh transaction, when
  // it failed with a deadlock or a serialization failure.
  template <class Body>
  auto transact(Body&& body) -> decltype(body(std::declval<PgConnection&>()));
  // Runs `body(PgConnection&) -> Result<T>` on a leased connection without an explicit
  // transaction: for calls that are one statement, which is its own transaction and snapshot.
  template <class Body>
  auto one_statement(Body&& body) -> decltype(body(std::declval<PgConnection&>()));

  const PgOptions options_;
  PgPool pool_;
};

}  // namespace coffer::meta::postgres
