// ObjectStore on a local directory: for one machine and for development (DESIGN.md "Shape").
//
// Layout under the root:
//   <root>/objects/<key>   one regular file per object; the key's '/' are directories
//   <root>/tmp/            puts in progress ("put-<random>"), renamed into objects/ when complete
//   <root>/uploads/<id>/   an open direct upload (the multipart-equivalent of S3):
//       info      its key, size and part size; also the file its locks are taken on
//       data      a sparse file of the declared size; part n is written at (n - 1) * part_size
//       part-<n>  written once part n's bytes are all in data (and synced): its ETag and size
// Objects and temporary files are created with mode 0600 and directories with 0700.
//
// Direct uploads: begin_upload makes the directory; part URLs are BlobSigner part URLs at
// Coffer's /blob route, which hands the verified grant and the body to write_part();
// complete_upload checks the listed parts' markers, fsyncs data and renames it over the key (as
// put() does: the object appears complete or not at all), then removes the directory;
// abort_upload removes it. A part write holds an open-file-description lock on byte n of `info`
// while it writes, and complete and abort lock bytes 1.. of it, so a part write either ends
// before the upload closes or finds `data` gone (kNotFound) after: a part URL can never change an
// object. Locks are released by the kernel when a process dies, so `coffer gc` and a crashed
// server take part too.
//
// Keys are checked by split_fs_key (fs_key.h) and resolved one segment at a time with
// O_NOFOLLOW from a descriptor of objects/, so neither a key nor a symlink planted under the root
// can reach outside it. Because a key's directories are real directories, a key cannot be both an
// object and a directory of other keys ("a" and "a/b"); such a put fails with kInternal and
// changes nothing. Coffer's keys ("<tenant_id>/<id>") never collide so.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/fs/blob_signer.h"
#include "storage/fs/fs_io.h"
#include "storage/object_store.h"

namespace coffer::storage {

class FsObjectStore final : public ObjectStore {
 public:
  // Bytes read from a source (or a file) per system call.
  static constexpr std::size_t kBufferBytes = 1 << 20;
  // Temporary files untouched this long are a crash's leftovers and may be swept.
  static constexpr std::chrono::seconds kTempMaxAge = std::chrono::hours(1);
  // How long complete_upload and abort_upload wait for part writes in progress to end.
  static constexpr std::chrono::seconds kCloseWait = std::chrono::seconds(30);

  // Opens (creating what is missing) the store under `root`, then sweeps leftovers older than
  // kTempMaxAge. `signer` makes presign()'s URLs. Throws std::runtime_error when the root cannot
  // be created or opened as a directory (a start-up failure).
  FsObjectStore(std::filesystem::path root, BlobSigner signer);
  ~FsObjectStore() override = default;

  // Streams into a temporary file through a kBufferBytes buffer, hashing as bytes pass, then
  // fsyncs it, renames it over `key` and fsyncs the directory. Refused before reading when
  // options.size exceeds max_bytes (kPayloadTooLarge); as soon as more than max_bytes arrive
  // (kPayloadTooLarge); when options.size is given and the body's length differs (kBadRequest);
  // on an expected_sha256 mismatch (kBadRequest "checksum mismatch"). A source's read error is
  // returned as is. On any failure the temporary file is removed and `key` is unchanged.
  Result<PutResult> put(const std::string& key, ByteSource& body,
                        const PutOptions& options) override;
  // The reader holds the file open: it delivers the bytes of the object as it was when get()
  // returned, even if the key is overwritten or removed meanwhile. A range past the end →
  // kRangeNotSatisfiable.
  Result<std::unique_ptr<ObjectReader>> get(const std::string& key,
                                            std::optional<ByteRange> range) override;
  Result<ObjectInfo> head(const std::string& key) override;
  // Empty parent directories are left in place (removing them would race with puts into them).
  Result<void> remove(const std::string& key) override;
  // Walks objects/ in bytewise key order, skipping whatever is neither a regular file nor a
  // directory (symlinks included) and directories that cannot hold a wanted key. Each directory
  // entered is read whole, so memory grows with the largest directory (one tenant's objects).
  // `token` is the last key of the previous page. max_keys < 1 → kInternal.
  Result<ObjectList> list(const std::string& prefix, const std::string& token,
                          int max_keys) override;
  // A BlobSigner URL for a valid key. kBadRequest when expires_in is outside 1 s – 7 days or a
  // PUT's sha256 is not 64 hex digits.
  Result<PresignedUrl> presign(const PresignRequest& request) override;
  // A directory under uploads/ with a fresh id (32 hex digits). kBadRequest when the size would
  // need more than 10000 parts of part_size.
  Result<std::string> begin_upload(const std::string& key, const std::string& content_type,
                                   std::uint64_t size, std::uint64_t part_size) override;
  // A BlobSigner part URL binding the part's length and, when given, sha256.
  Result<PresignedUrl> presign_upload_part(const PresignPartRequest& request) override;
  Result<std::vector<UploadedPart>> list_upload_parts(const std::string& key,
                                                      const std::string& upload_id) override;
  // `parts` must be 1..k without gaps (kBadRequest otherwise, as for a missing part or another
  // ETag; the upload stays open); the object is the first k parts' bytes. Waits up to
  // kCloseWait for part writes in progress, then kConflict.
  Result<void> complete_upload(const std::string& key, const std::string& upload_id,
                               const std::vector<CompletedPartRef>& parts) override;
  // Waits for part writes in progress like complete_upload.
  Result<void> abort_upload(const std::string& key, const std::string& upload_id) override;

  // Writes one part of an open upload from a verified part URL (grant.upload_id, part_number,
  // content_length and sha256): streams `body` into data at the part's offset, hashing it, and
  // returns the part's ETag (the quoted hex SHA-256 of its bytes). Refused: a grant for another
  // key, a part number past the upload's last part or a length other than the part's (kBadRequest
  // — the URL was signed wrongly); a body longer or shorter than the length or a sha256 mismatch
  // (kBadRequest; part n is then missing until written again); the same part being written at
  // the same time (kConflict); an upload that is not open, i.e. completed, aborted or unknown
  // (kNotFound).
  Result<std::string> write_part(const BlobGrant& grant, ByteSource& body);

  // The root must still be the directory opened at start (not removed or replaced) and writable:
  // creates and removes a file in tmp/. Failures → kStorageUnavailable.
  Result<void> check() override;
  std::string_view kind() const override { return "fs"; }

  // Removes temporary files last modified more than `max_age` before now, and upload directories
  // as old that hold no data (closed uploads a crash left); returns how many. Safe while puts run:
  // a put in progress keeps its file's modification time fresh.
  Result<int> sweep_temp(std::chrono::seconds max_age = kTempMaxAge);

  const std::filesystem::path& root() const { return root_; }

 private:
  std::filesystem::path root_;
  BlobSigner signer_;
  UniqueFd objects_fd_;  // <root>/objects, opened once
  UniqueFd tmp_fd_;      // <root>/tmp, opened once
  UniqueFd uploads_fd_;  // <root>/uploads, opened once
};

}  // namespace coffer::storage
