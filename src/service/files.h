// Files (API.md "Files") and DESIGN.md's consistency protocol: every write streams to a fresh
// key recorded as an upload intent, then one transaction makes it visible.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/byte_stream.h"
#include "core/clock.h"
#include "core/path.h"
#include "meta/metadata_store.h"
#include "service/caller.h"
#include "storage/object_store.h"

namespace coffer::service {

struct FilesConfig {
  std::uint64_t max_upload_bytes = UINT64_MAX;
  std::chrono::seconds upload_ttl{24 * 3600};  // an upload's intent outlives it by at most this
  std::chrono::seconds deletion_grace{300};    // replaced/deleted bytes stay this long for reads
  std::chrono::seconds presign_expiry{900};
};

// Bytes stored under a fresh key, not yet visible as a file.
struct StagedObject {
  std::string intent_id;
  std::string object_key;
  std::uint64_t size = 0;
  std::string sha256;
};

struct StageOptions {
  std::optional<std::uint64_t> size;            // declared length (Content-Length)
  std::optional<std::string> expected_sha256;   // X-Checksum-Sha256, lower-case hex
};

struct CommitOptions {
  FilePath path;
  std::string content_type;
  bool overwrite = false;
  std::optional<std::string> if_match;  // the If-Match header as sent
};

// A file as the caller sees it: the record and the caller's effective role.
struct VisibleFile {
  meta::FileRecord file;
  access::FileRole role = access::FileRole::kNone;
};

struct ListRequest {
  std::string prefix;        // validated
  bool delimiter = false;    // "/" was given
  int limit = 100;
  std::string cursor;        // decoded position ("" from the start)
};

struct ListPage {
  std::vector<VisibleFile> items;
  std::vector<std::string> folders;
  std::string next_cursor;   // "" when this is the last page
};

struct DownloadRequest {
  std::optional<std::string> range;
  std::optional<std::string> if_none_match;
  std::optional<std::string> if_range;
};

struct Download {
  meta::FileRecord file;
  enum class Kind { kFull, kPartial, kNotModified, kUnsatisfiable } kind = Kind::kFull;
  std::uint64_t first = 0, last = 0;   // for kPartial
  std::unique_ptr<storage::ObjectReader> reader;  // for kFull and kPartial only
};

class Files {
 public:
  Files(meta::MetadataStore& db, storage::ObjectStore& store, const Clock& clock, FilesConfig config)
      : db_(db), store_(store), clock_(clock), config_(config) {}

  // Cheap refusals before any byte is stored: tenant role, an existing path without overwrite
  // (409), a declared size that cannot fit the quota (507). Commit checks all again, atomically.
  Result<void> precheck_upload(const Caller& caller, const std::optional<FilePath>& path,
                               bool overwrite, std::optional<std::uint64_t> size);
  // Streams `body` to a fresh key of the caller's tenant, recorded as an upload intent.
  Result<StagedObject> stage(const Caller& caller, ByteSource& body, const StageOptions& options);
  // Makes staged bytes the content of a file (create or overwrite), or removes them.
  Result<VisibleFile> commit(const Caller& caller, const StagedObject& staged,
                             const CommitOptions& options);
  // The commit transaction alone (DESIGN.md's step 1: permission on the file it replaces,
  // path, If-Match, quota, dropping the intent): on failure nothing is removed, the caller
  // decides. kNotFound when the intent is gone or claimed by a collector.
  Result<VisibleFile> commit_transaction(const Caller& caller, const StagedObject& staged,
                                         const CommitOptions& options);
  // Removes staged bytes that will not be committed.
  void discard(const StagedObject& staged);

  Result<VisibleFile> get(const Caller& caller, const std::string& id);
  Result<ListPage> list(const Caller& caller, const ListRequest& request);
  Result<VisibleFile> rename(const Caller& caller, const std::string& id, const FilePath& path,
                             const std::optional<std::string>& if_match);
  Result<void> remove(const Caller& caller, const std::string& id,
                      const std::optional<std::string>& if_match);
  Result<Download> download(const Caller& caller, const std::string& id,
                            const DownloadRequest& request);
  // A presigned GET of the file's bytes (viewer); `expires_in` defaults to the configured expiry.
  Result<storage::PresignedUrl> download_url(const Caller& caller, const std::string& id,
                                             std::optional<std::chrono::seconds> expires_in);

 private:
  Result<meta::FileView> load(const Caller& caller, const std::string& id);

  meta::MetadataStore& db_;
  storage::ObjectStore& store_;
  const Clock& clock_;
  FilesConfig config_;
};

// A fresh upload intent of the caller's (DESIGN.md's step 1): a new id, and a new, never-reused
// object key under the caller's tenant. The caller sets its expiry and what its kind records.
meta::UploadIntent new_upload_intent(const Caller& caller, meta::IntentKind kind, SystemTime now);

// The smallest string greater than every string that starts with `prefix` ("" = no bound).
std::string prefix_upper_bound(const std::string& prefix);

}  // namespace coffer::service
