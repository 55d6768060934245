// Direct (presigned) uploads, API.md "Direct transfers": Coffer decides and signs, the bytes go
// straight from the client to the object store, and DESIGN.md's consistency protocol makes them
// a file only at complete.
//
// An upload is an upload intent of kind kPresigned (its id is the upload id the client sees) with
// a fresh, never-reused object key under the tenant, and a direct upload of the store on that key
// (ObjectStore::begin_upload; its id is the intent's multipart_id). Its URLs can only ever write
// that key, and only while the store's upload is open: complete and abort close it, after which
// no URL of it can change any object, let alone a file's.
//
// Who wins when complete, abort and the collector race: the one that drops the intent. complete
// drops it in the commit transaction (Files::commit_transaction), abort with delete_intent, the
// collector claims it with a lease that commit_file refuses. Nobody removes an object it has not
// won, so a committed file always keeps its bytes.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/path.h"
#include "meta/metadata_store.h"
#include "service/caller.h"
#include "service/files.h"
#include "storage/object_store.h"

namespace coffer::service {

// The upload size limit is Files' (FilesConfig::max_upload_bytes), checked through
// Files::precheck_upload.
struct UploadsConfig {
  std::uint64_t part_size = 64ULL << 20;       // transfer.upload_part_size
  std::chrono::seconds presign_expiry{900};    // URLs' default life
  // How long an upload may still be completed after its URLs expire; the collector aborts it and
  // removes its bytes after that.
  std::chrono::seconds upload_ttl{24 * 3600};
};

inline constexpr std::chrono::seconds kMinPresignExpiry{1};
inline constexpr std::chrono::seconds kMaxPresignExpiry{7 * 24 * 3600};

struct NewUpload {
  FilePath path;
  std::uint64_t size = 0;
  std::string content_type;  // "" → application/octet-stream
  std::string sha256;        // lower-case hex of the whole file, "" when not declared
  bool overwrite = false;
  std::optional<std::chrono::seconds> expires_in;  // 1 s - 7 days; default presign_expiry
};

struct IssuedPart {
  int number = 0;
  std::string url;
  std::uint64_t size = 0;
};

struct IssuedUpload {
  std::string upload_id;
  bool single = true;  // `url` for the whole file; else `parts`
  std::string url;
  // Headers the client must send with every PUT. For part URLs these are the ones common to
  // all parts: each part also carries Content-Length: its size.
  std::map<std::string, std::string> headers;
  std::vector<IssuedPart> parts;
  SystemTime expires_at;
};

class Uploads {
 public:
  Uploads(meta::MetadataStore& db, storage::ObjectStore& store, Files& files, const Clock& clock,
          UploadsConfig config)
      : db_(db), store_(store), files_(files), clock_(clock), config_(config) {}

  // Checks what POST /api/v1/files checks before any byte (tenant role editor+, 409 for an
  // existing path without overwrite, 413 over the upload limit, 507 when the size cannot fit
  // the quota), then opens the store's upload and signs its URLs.
  Result<IssuedUpload> create(const Caller& caller, const NewUpload& request);

  // Completes the caller's own upload (another user's or tenant's, an expired, completed or
  // aborted one: 404). `parts` may be absent only for an upload of one part. In order:
  //  1. the checks of create again (403/409/507; the upload stays open, so the client may fix
  //     the cause and complete again, or abort);
  //  2. the store's complete (400 for a part not uploaded or another ETag; the upload stays open);
  //  3. the stored object's size, then its SHA-256 (read back once, streaming, unless the store
  //     enforced a declared one on the single part's PUT) against the declared values: on a
  //     mismatch 400, the object removed and the upload gone;
  //  4. Files::commit_transaction (the permission, path and quota checks, atomically): on
  //     failure the object removed and the upload gone.
  Result<VisibleFile> complete(const Caller& caller, const std::string& upload_id,
                               const std::optional<std::vector<storage::CompletedPartRef>>& parts);

  // Aborts the caller's own open upload: the store's upload is aborted, the intent dropped and any
  // object at its key removed. 404 like complete.
  Result<void> abort(const Caller& caller, const std::string& upload_id);

 private:
  Result<meta::UploadIntent> load(const Caller& caller, const std::string& upload_id);
  Result<std::string> stored_sha256(const meta::UploadIntent& intent, bool enforced);
  // Removes the completed object of an upload that will not become a file, then its intent.
  void drop(const meta::UploadIntent& intent);

  meta::MetadataStore& db_;
  storage::ObjectStore& store_;
  Files& files_;
  const Clock& clock_;
  UploadsConfig config_;
};

}  // namespace coffer::service
