// ObjectStore on a local directory: for one machine and for development (DESIGN.md "Shape").
//
// Layout under the root:
//   <root>/objects/<key>   one regular file per object; the key's '/' are directories
//   <root>/tmp/            puts in progress ("put-<random>"), renamed into objects/ when complete
// Objects and temporary files are created with mode 0600 and directories with 0700.
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
  // The root must still be the directory opened at start (not removed or replaced) and writable:
  // creates and removes a file in tmp/. Failures → kStorageUnavailable.
  Result<void> check() override;
  std::string_view kind() const override { return "fs"; }

  // Removes temporary files last modified more than `max_age` before now; returns how many.
  // Safe while puts run: a put in progress keeps its file's modification time fresh.
  Result<int> sweep_temp(std::chrono::seconds max_age = kTempMaxAge);

  const std::filesystem::path& root() const { return root_; }

 private:
  std::filesystem::path root_;
  BlobSigner signer_;
  UniqueFd objects_fd_;  // <root>/objects, opened once
  UniqueFd tmp_fd_;      // <root>/tmp, opened once
};

}  // namespace coffer::storage
