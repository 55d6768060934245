#include "storage/fs/fs_object_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <span>
#include <stdexcept>
#include <system_error>
#include <utility>
#include <vector>

#include "core/crypto.h"
#include "core/encoding.h"
#include "storage/fs/fs_key.h"

namespace coffer::storage {

namespace {

constexpr std::chrono::seconds kMaxPresignExpiry = std::chrono::hours(24 * 7);
constexpr int kDirFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;

Error not_found() { return Error::NotFound("object not found"); }

SystemTime mtime_of(const struct stat& st) {
  auto since_epoch =
      std::chrono::seconds(st.st_mtim.tv_sec) + std::chrono::nanoseconds(st.st_mtim.tv_nsec);
  return SystemTime(std::chrono::duration_cast<SystemTime::duration>(since_epoch));
}

// A directory descriptor that is either borrowed (the store's objects/) or owned (below it).
class DirRef {
 public:
  explicit DirRef(int borrowed) : borrowed_(borrowed) {}
  explicit DirRef(UniqueFd owned) : owned_(std::move(owned)) {}
  int get() const { return owned_ ? owned_.get() : borrowed_; }

 private:
  int borrowed_ = -1;
  UniqueFd owned_;
};

// Opens the directory that holds the object named by `segments`, one segment at a time and never
// through a symlink. With `create`, missing directories are made (and their parents fsynced so
// that the new entries survive a crash). Without it, a missing directory → kNotFound.
Result<DirRef> open_parent(int objects_fd, const std::vector<std::string_view>& segments,
                           bool create) {
  DirRef dir(objects_fd);
  for (std::size_t i = 0; i + 1 < segments.size(); ++i) {
    const std::string name(segments[i]);
    int fd = ::openat(dir.get(), name.c_str(), kDirFlags);
    if (fd < 0 && errno == ENOENT && create) {
      if (::mkdirat(dir.get(), name.c_str(), 0700) == 0) {
        if (::fsync(dir.get()) != 0) return errno_error("fsync directory", errno);
      } else if (errno != EEXIST) {
        return errno_error("mkdir", errno);
      }
      fd = ::openat(dir.get(), name.c_str(), kDirFlags);
    }
    if (fd < 0) {
      const int err = errno;
      if (err == ENOENT && !create) return not_found();
      if (err == ENOTDIR) {
        // A segment is an object, not a directory: no such key, or a key that cannot be made.
        if (!create) return not_found();
        return Error::Internal("fs: key collides with an existing object: " + name);
      }
      if (err == ELOOP) return Error::Internal("fs: refused a symlink in an object path");
      return errno_error("open directory", err);
    }
    dir = DirRef(UniqueFd(fd));
  }
  return dir;
}

struct OpenObject {
  UniqueFd fd;
  struct stat st {};
};

// Opens the object's file for reading without following a symlink; kNotFound when there is no
// regular file at the key.
Result<OpenObject> open_object(int objects_fd, const std::string& key) {
  COFFER_TRY(auto segments, split_fs_key(key));
  COFFER_TRY(DirRef dir, open_parent(objects_fd, segments, false));
  const std::string leaf(segments.back());
  // O_NONBLOCK: opening a FIFO planted under the root must not hang; it is harmless for files.
  int fd = ::openat(dir.get(), leaf.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT || err == ENOTDIR) return not_found();
    if (err == ELOOP) return Error::Internal("fs: refused a symlink as an object");
    return errno_error("open object", err);
  }
  OpenObject obj{UniqueFd(fd), {}};
  if (::fstat(fd, &obj.st) != 0) return errno_error("fstat object", errno);
  if (S_ISDIR(obj.st.st_mode)) return not_found();  // a directory of other keys, not an object
  if (!S_ISREG(obj.st.st_mode)) return Error::Internal("fs: object is not a regular file");
  return obj;
}

Result<void> write_all(int fd, const char* data, std::size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, data, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return errno_error("write", errno);
    }
    data += w;
    n -= static_cast<std::size_t>(w);
  }
  return Ok();
}

// Unlinks a temporary file unless released: every early return of put() cleans up after itself.
class TempFileGuard {
 public:
  TempFileGuard(int dir_fd, std::string name) : dir_fd_(dir_fd), name_(std::move(name)) {}
  ~TempFileGuard() {
    if (!name_.empty()) ::unlinkat(dir_fd_, name_.c_str(), 0);
  }
  TempFileGuard(const TempFileGuard&) = delete;
  TempFileGuard& operator=(const TempFileGuard&) = delete;
  void release() { name_.clear(); }

 private:
  int dir_fd_;
  std::string name_;
};

class FsObjectReader final : public ObjectReader {
 public:
  FsObjectReader(UniqueFd fd, std::uint64_t offset, std::uint64_t length)
      : fd_(std::move(fd)), offset_(offset), remaining_(length), size_(length) {}

  std::uint64_t size() const override { return size_; }

  Result<std::size_t> read(std::span<char> out) override {
    if (remaining_ == 0 || out.empty()) return std::size_t{0};
    const std::size_t want =
        static_cast<std::size_t>(std::min<std::uint64_t>(out.size(), remaining_));
    for (;;) {
      ssize_t r = ::pread(fd_.get(), out.data(), want, static_cast<off_t>(offset_));
      if (r < 0) {
        if (errno == EINTR) continue;
        return errno_error("read object", errno);
      }
      // Objects are never modified in place, so a short file means someone else changed it.
      if (r == 0) return Error::Internal("fs: object file ended before its size");
      offset_ += static_cast<std::uint64_t>(r);
      remaining_ -= static_cast<std::uint64_t>(r);
      return static_cast<std::size_t>(r);
    }
  }

 private:
  UniqueFd fd_;
  std::uint64_t offset_;
  std::uint64_t remaining_;
  std::uint64_t size_;
};

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

UniqueFd open_store_dir(const std::filesystem::path& path) {
  if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
    throw std::system_error(errno, std::generic_category(), "cannot create " + path.string());
  }
  int fd = ::open(path.c_str(), kDirFlags);
  if (fd < 0) {
    throw std::system_error(errno, std::generic_category(),
                            "cannot open directory " + path.string());
  }
  return UniqueFd(fd);
}

// Reads a whole directory: (name, is_dir) of its regular files and directories, skipping
// symlinks and anything else.
Result<std::vector<std::pair<std::string, bool>>> read_dir(int dir_fd) {
  int fd = ::openat(dir_fd, ".", kDirFlags);
  if (fd < 0) return errno_error("open directory", errno);
  DIR* d = ::fdopendir(fd);
  if (d == nullptr) {
    const int err = errno;
    ::close(fd);
    return errno_error("fdopendir", err);
  }
  std::vector<std::pair<std::string, bool>> entries;
  for (;;) {
    errno = 0;
    struct dirent* e = ::readdir(d);
    if (e == nullptr) {
      const int err = errno;
      ::closedir(d);
      if (err != 0) return errno_error("readdir", err);
      return entries;
    }
    std::string_view name = e->d_name;
    if (name == "." || name == "..") continue;
    unsigned char type = e->d_type;
    if (type == DT_UNKNOWN) {
      struct stat st {};
      if (::fstatat(dir_fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
      type = S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG : DT_UNKNOWN;
    }
    if (type == DT_DIR || type == DT_REG) entries.emplace_back(std::string(name), type == DT_DIR);
  }
}

struct ListWalk {
  const std::string& prefix;
  const std::string& token;
  std::size_t limit;
  std::vector<ListedObject>& out;

  // Appends the objects under `dir_fd` (whose keys start with `base`) in key order until `limit`
  // are collected. A directory sorts as its name plus '/', which puts its keys exactly where
  // bytewise order wants them ("a-b" < "a/b" < "a0").
  Result<void> walk(int dir_fd, const std::string& base) {
    COFFER_TRY(auto entries, read_dir(dir_fd));
    for (auto& [name, is_dir] : entries) {
      if (is_dir) name.push_back('/');
    }
    std::sort(entries.begin(), entries.end());
    for (const auto& [name, is_dir] : entries) {
      if (out.size() >= limit) return Ok();
      const std::string full = base + name;
      if (is_dir) {
        if (!full.starts_with(prefix) && !prefix.starts_with(full)) continue;
        // Every key below sorts before `token` unless `token` itself lies below.
        if (!token.empty() && full < token && !token.starts_with(full)) continue;
        const std::string dir_name = name.substr(0, name.size() - 1);
        int fd = ::openat(dir_fd, dir_name.c_str(), kDirFlags);
        if (fd < 0) {
          if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP) continue;  // changed meanwhile
          return errno_error("open directory", errno);
        }
        UniqueFd sub(fd);
        COFFER_TRY_VOID(walk(sub.get(), full));
      } else {
        if (!full.starts_with(prefix) || full <= token) continue;
        struct stat st {};
        if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
          if (errno == ENOENT) continue;  // removed meanwhile
          return errno_error("stat object", errno);
        }
        if (!S_ISREG(st.st_mode)) continue;
        out.push_back({full, static_cast<std::uint64_t>(st.st_size), mtime_of(st)});
      }
    }
    return Ok();
  }
};

}  // namespace

FsObjectStore::FsObjectStore(std::filesystem::path root, BlobSigner signer)
    : root_(std::move(root)), signer_(std::move(signer)) {
  std::error_code ec;
  std::filesystem::create_directories(root_, ec);
  if (ec) throw std::system_error(ec, "cannot create storage root " + root_.string());
  objects_fd_ = open_store_dir(root_ / "objects");
  tmp_fd_ = open_store_dir(root_ / "tmp");
  (void)sweep_temp();  // best effort: a failure here shows again in check()
}

Result<PutResult> FsObjectStore::put(const std::string& key, ByteSource& body,
                                     const PutOptions& options) {
  COFFER_TRY(auto segments, split_fs_key(key));
  if (options.size && *options.size > options.max_bytes) {
    return Error::PayloadTooLarge("body exceeds the size limit");
  }

  const std::string tmp_name = "put-" + hex_encode(random_bytes(16));
  int raw_fd = ::openat(tmp_fd_.get(), tmp_name.c_str(),
                        O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (raw_fd < 0) return errno_error("create temporary file", errno);
  UniqueFd file(raw_fd);
  TempFileGuard guard(tmp_fd_.get(), tmp_name);

  auto buffer = std::make_unique_for_overwrite<char[]>(kBufferBytes);
  Sha256 hash;
  std::uint64_t total = 0;
  for (;;) {
    COFFER_TRY(std::size_t n, body.read(std::span<char>(buffer.get(), kBufferBytes)));
    if (n == 0) break;
    if (n > kBufferBytes) return Error::Internal("fs: source reported more bytes than asked for");
    if (options.max_bytes - total < n) return Error::PayloadTooLarge("body exceeds the size limit");
    total += n;
    if (options.size && total > *options.size) {
      return Error::BadRequest("body is longer than its declared length");
    }
    hash.update(std::string_view(buffer.get(), n));
    COFFER_TRY_VOID(write_all(file.get(), buffer.get(), n));
  }
  if (options.size && total != *options.size) {
    return Error::BadRequest("body is shorter than its declared length");
  }
  PutResult result{total, hex_encode(hash.finish())};
  if (options.expected_sha256 && lower(*options.expected_sha256) != result.sha256) {
    return Error::BadRequest("checksum mismatch");
  }

  if (::fsync(file.get()) != 0) return errno_error("fsync temporary file", errno);
  if (::close(file.release()) != 0) return errno_error("close temporary file", errno);

  COFFER_TRY(DirRef dir, open_parent(objects_fd_.get(), segments, true));
  const std::string leaf(segments.back());
  if (::renameat(tmp_fd_.get(), tmp_name.c_str(), dir.get(), leaf.c_str()) != 0) {
    const int err = errno;
    if (err == EISDIR || err == ENOTEMPTY || err == EEXIST) {
      return Error::Internal("fs: key collides with a directory of other keys");
    }
    return errno_error("rename into place", err);
  }
  guard.release();
  if (::fsync(dir.get()) != 0) return errno_error("fsync directory", errno);
  return result;
}

Result<std::unique_ptr<ObjectReader>> FsObjectStore::get(const std::string& key,
                                                         std::optional<ByteRange> range) {
  COFFER_TRY(OpenObject obj, open_object(objects_fd_.get(), key));
  const auto size = static_cast<std::uint64_t>(obj.st.st_size);
  std::uint64_t offset = 0;
  std::uint64_t length = size;
  if (range) {
    if (range->first > range->last || range->last >= size) return Error::RangeNotSatisfiable();
    offset = range->first;
    length = range->length();
  }
  return std::unique_ptr<ObjectReader>(
      std::make_unique<FsObjectReader>(std::move(obj.fd), offset, length));
}

Result<ObjectInfo> FsObjectStore::head(const std::string& key) {
  COFFER_TRY(OpenObject obj, open_object(objects_fd_.get(), key));
  return ObjectInfo{static_cast<std::uint64_t>(obj.st.st_size), mtime_of(obj.st)};
}

Result<void> FsObjectStore::remove(const std::string& key) {
  COFFER_TRY(auto segments, split_fs_key(key));
  auto dir = open_parent(objects_fd_.get(), segments, false);
  if (!dir) {
    if (dir.error().code == ErrorCode::kNotFound) return Ok();
    return std::move(dir).error();
  }
  const std::string leaf(segments.back());
  if (::unlinkat(dir->get(), leaf.c_str(), 0) != 0) {
    const int err = errno;
    // EISDIR: the key names a directory of other keys, so there is no object to remove.
    if (err == ENOENT || err == ENOTDIR || err == EISDIR) return Ok();
    return errno_error("unlink object", err);
  }
  return Ok();
}

Result<ObjectList> FsObjectStore::list(const std::string& prefix, const std::string& token,
                                       int max_keys) {
  if (max_keys < 1) return Error::Internal("fs: list with max_keys < 1");
  ObjectList result;
  ListWalk walker{prefix, token, static_cast<std::size_t>(max_keys) + 1, result.objects};
  COFFER_TRY_VOID(walker.walk(objects_fd_.get(), ""));
  if (result.objects.size() > static_cast<std::size_t>(max_keys)) {
    result.objects.resize(static_cast<std::size_t>(max_keys));
    result.next_token = result.objects.back().key;
  }
  return result;
}

Result<PresignedUrl> FsObjectStore::presign(const PresignRequest& request) {
  COFFER_TRY_VOID(split_fs_key(request.key));
  if (request.expires_in < std::chrono::seconds(1) || request.expires_in > kMaxPresignExpiry) {
    return Error::BadRequest("expires_in must be between 1 second and 7 days");
  }
  if (request.method == PresignMethod::kPut && !request.sha256.empty() &&
      !is_sha256_hex(request.sha256)) {
    return Error::BadRequest("sha256 must be 64 hex digits");
  }
  return signer_.sign(request);
}

Result<void> FsObjectStore::check() {
  // The root may have been removed or replaced under us: our descriptors would then point at
  // directories nobody else sees.
  struct stat by_path {};
  struct stat by_fd {};
  if (::stat((root_ / "objects").c_str(), &by_path) != 0)
    return errno_error("stat objects dir", errno);
  if (::fstat(objects_fd_.get(), &by_fd) != 0) return errno_error("fstat objects dir", errno);
  if (by_path.st_dev != by_fd.st_dev || by_path.st_ino != by_fd.st_ino) {
    return Error::StorageUnavailable("fs: storage root was replaced while in use");
  }
  const std::string name = "check-" + hex_encode(random_bytes(8));
  int fd = ::openat(tmp_fd_.get(), name.c_str(),
                    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return errno_error("create check file", errno);
  ::close(fd);
  if (::unlinkat(tmp_fd_.get(), name.c_str(), 0) != 0)
    return errno_error("unlink check file", errno);
  return Ok();
}

Result<int> FsObjectStore::sweep_temp(std::chrono::seconds max_age) {
  COFFER_TRY(auto entries, read_dir(tmp_fd_.get()));
  const SystemTime cutoff = std::chrono::system_clock::now() - max_age;
  int swept = 0;
  for (const auto& [name, is_dir] : entries) {
    if (is_dir) continue;
    struct stat st {};
    if (::fstatat(tmp_fd_.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (mtime_of(st) >= cutoff) continue;
    if (::unlinkat(tmp_fd_.get(), name.c_str(), 0) == 0) {
      ++swept;
    } else if (errno != ENOENT) {
      return errno_error("unlink temporary file", errno);
    }
  }
  return swept;
}

}  // namespace coffer::storage
