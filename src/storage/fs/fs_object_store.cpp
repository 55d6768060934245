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
#include <thread>
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

// ---- direct uploads ----------------------------------------------------------------------------

constexpr std::uint64_t kMaxUploadParts = 10000;
constexpr char kInfoName[] = "info";
constexpr char kDataName[] = "data";
constexpr std::string_view kInfoMagic = "coffer-upload-v1";
constexpr std::string_view kPartPrefix = "part-";

Error upload_not_found() { return Error::NotFound("upload not found"); }

bool valid_upload_id(std::string_view id) {
  return id.size() == 32 && std::all_of(id.begin(), id.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

std::optional<std::uint64_t> parse_u64(std::string_view s) {
  if (s.empty() || s.size() > 20) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    const std::uint64_t d = static_cast<std::uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

// Splits "a\nb\nc\n" into its lines (the last one must end with '\n').
std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> out;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    if (nl == std::string_view::npos) return {};
    out.push_back(text.substr(0, nl));
    text.remove_prefix(nl + 1);
  }
  return out;
}

struct UploadInfo {
  std::string key;
  std::uint64_t size = 0;
  std::uint64_t part_size = 0;

  std::uint64_t part_count() const { return size == 0 ? 1 : (size - 1) / part_size + 1; }
  std::uint64_t part_offset(std::uint64_t n) const { return (n - 1) * part_size; }
  std::uint64_t part_length(std::uint64_t n) const {
    return std::min(part_size, size - std::min(size, part_offset(n)));
  }
};

std::string format_info(const UploadInfo& info) {
  return std::string(kInfoMagic) + "\n" + info.key + "\n" + std::to_string(info.size) + "\n" +
         std::to_string(info.part_size) + "\n";
}

std::optional<UploadInfo> parse_info(std::string_view text) {
  const auto lines = lines_of(text);
  if (lines.size() != 4 || lines[0] != kInfoMagic) return std::nullopt;
  auto size = parse_u64(lines[2]);
  auto part_size = parse_u64(lines[3]);
  if (!size || !part_size || *part_size == 0) return std::nullopt;
  return UploadInfo{std::string(lines[1]), *size, *part_size};
}

// Reads a small file whole through `fd` (at most 4 KiB).
Result<std::string> read_small(int fd) {
  std::string out(4096, '\0');
  std::size_t got = 0;
  for (;;) {
    ssize_t r = ::pread(fd, out.data() + got, out.size() - got, static_cast<off_t>(got));
    if (r < 0) {
      if (errno == EINTR) continue;
      return errno_error("read upload file", errno);
    }
    if (r == 0) break;
    got += static_cast<std::size_t>(r);
    if (got == out.size()) return Error::Internal("fs: upload file is too large");
  }
  out.resize(got);
  return out;
}

// Reads `name` in `dir_fd`; kNotFound when it is absent.
Result<std::string> read_small_at(int dir_fd, const std::string& name) {
  int fd = ::openat(dir_fd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Error::NotFound(name + " not found");
    return errno_error("open upload file", errno);
  }
  UniqueFd file(fd);
  return read_small(file.get());
}

Result<void> pwrite_all(int fd, const char* data, std::size_t n, std::uint64_t offset) {
  while (n > 0) {
    ssize_t w = ::pwrite(fd, data, n, static_cast<off_t>(offset));
    if (w < 0) {
      if (errno == EINTR) continue;
      return errno_error("write upload data", errno);
    }
    data += w;
    offset += static_cast<std::uint64_t>(w);
    n -= static_cast<std::size_t>(w);
  }
  return Ok();
}

// Creates or atomically replaces `name` in `dir_fd` with `content`, fsynced.
Result<void> write_small_at(int dir_fd, const std::string& name, std::string_view content) {
  const std::string tmp = "tmp-" + name;
  int fd = ::openat(dir_fd, tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
                    0600);
  if (fd < 0) return errno_error("create upload file", errno);
  UniqueFd file(fd);
  COFFER_TRY_VOID(write_all(file.get(), content.data(), content.size()));
  if (::fsync(file.get()) != 0) return errno_error("fsync upload file", errno);
  if (::renameat(dir_fd, tmp.c_str(), dir_fd, name.c_str()) != 0) {
    return errno_error("rename upload file", errno);
  }
  return Ok();
}

// Tries once to take an exclusive open-file-description lock on bytes [start, start + len) of
// `fd` (len 0: to the end of any file). false when another description holds a conflicting lock.
Result<bool> try_lock(int fd, std::uint64_t start, std::uint64_t len) {
  struct flock lock {};
  lock.l_type = F_WRLCK;
  lock.l_whence = SEEK_SET;
  lock.l_start = static_cast<off_t>(start);
  lock.l_len = static_cast<off_t>(len);
  lock.l_pid = 0;
  for (;;) {
    if (::fcntl(fd, F_OFD_SETLK, &lock) == 0) return true;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EACCES) return false;
    return errno_error("lock upload", errno);
  }
}

// An open upload: its directory, its info file (held open: its locks live on this descriptor
// and are released when it closes) and what the info says.
struct OpenUpload {
  UniqueFd dir;
  UniqueFd info_fd;
  UploadInfo info;
};

// Opens upload `id` of `key`; kNotFound when there is none (or it is another key's).
Result<OpenUpload> open_upload(int uploads_fd, const std::string& id, const std::string& key) {
  if (!valid_upload_id(id)) return upload_not_found();
  int dfd = ::openat(uploads_fd, id.c_str(), kDirFlags);
  if (dfd < 0) {
    if (errno == ENOENT) return upload_not_found();
    return errno_error("open upload directory", errno);
  }
  OpenUpload up;
  up.dir = UniqueFd(dfd);
  int ifd = ::openat(up.dir.get(), kInfoName, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
  if (ifd < 0) {
    if (errno == ENOENT) return upload_not_found();  // being removed
    return errno_error("open upload info", errno);
  }
  up.info_fd = UniqueFd(ifd);
  COFFER_TRY(std::string text, read_small(up.info_fd.get()));
  auto info = parse_info(text);
  if (!info) return Error::Internal("fs: malformed upload info in uploads/" + id);
  if (info->key != key) return upload_not_found();
  up.info = std::move(*info);
  return up;
}

// Part writes lock byte n of info; closing the upload locks bytes 1.. of it, which waits for
// every part write in progress and keeps new ones out.
Result<void> lock_for_close(const OpenUpload& up, std::chrono::seconds wait) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  for (;;) {
    COFFER_TRY(bool locked, try_lock(up.info_fd.get(), 1, 0));
    if (locked) return Ok();
    if (std::chrono::steady_clock::now() >= deadline) {
      return Error::Conflict("parts of this upload are still being written");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::optional<std::uint64_t> part_number_of(std::string_view name) {
  if (!name.starts_with(kPartPrefix)) return std::nullopt;
  auto n = parse_u64(name.substr(kPartPrefix.size()));
  if (!n || *n < 1 || *n > kMaxUploadParts || std::to_string(*n).size() + kPartPrefix.size() != name.size()) {
    return std::nullopt;
  }
  return n;
}

// A part's marker: "<quoted etag>\n<size>\n".
std::optional<UploadedPart> parse_marker(std::uint64_t n, std::string_view text) {
  const auto lines = lines_of(text);
  if (lines.size() != 2) return std::nullopt;
  auto size = parse_u64(lines[1]);
  if (!size) return std::nullopt;
  return UploadedPart{static_cast<int>(n), std::string(lines[0]), *size};
}

std::string_view unquoted(std::string_view etag) {
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') {
    etag.remove_prefix(1);
    etag.remove_suffix(1);
  }
  return etag;
}

// Removes an upload's directory and everything in it; best effort (what is left holds no data
// file, so it is a closed upload that sweep_temp removes later).
void remove_upload_dir(int uploads_fd, const OpenUpload& up, const std::string& id) {
  if (auto entries = read_dir(up.dir.get())) {
    for (const auto& [name, is_dir] : *entries) {
      if (!is_dir) ::unlinkat(up.dir.get(), name.c_str(), 0);
    }
  }
  ::unlinkat(uploads_fd, id.c_str(), AT_REMOVEDIR);
  ::fsync(uploads_fd);
}

}  // namespace

FsObjectStore::FsObjectStore(std::filesystem::path root, BlobSigner signer)
    : root_(std::move(root)), signer_(std::move(signer)) {
  std::error_code ec;
  std::filesystem::create_directories(root_, ec);
  if (ec) throw std::system_error(ec, "cannot create storage root " + root_.string());
  objects_fd_ = open_store_dir(root_ / "objects");
  tmp_fd_ = open_store_dir(root_ / "tmp");
  uploads_fd_ = open_store_dir(root_ / "uploads");
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

Result<std::string> FsObjectStore::begin_upload(const std::string& key,
                                                const std::string& /*content_type*/,
                                                std::uint64_t size, std::uint64_t part_size) {
  COFFER_TRY_VOID(split_fs_key(key));
  if (part_size == 0) return Error::Internal("fs: begin_upload with a part size of 0");
  const UploadInfo info{key, size, part_size};
  if (info.part_count() > kMaxUploadParts) {
    return Error::BadRequest("the upload would need more than 10000 parts");
  }
  const std::string id = hex_encode(random_bytes(16));
  if (::mkdirat(uploads_fd_.get(), id.c_str(), 0700) != 0) {
    return errno_error("create upload directory", errno);
  }
  int dfd = ::openat(uploads_fd_.get(), id.c_str(), kDirFlags);
  if (dfd < 0) return errno_error("open upload directory", errno);
  UniqueFd dir(dfd);
  int fd = ::openat(dir.get(), kDataName, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                    0600);
  if (fd < 0) return errno_error("create upload data", errno);
  UniqueFd data(fd);
  // Sparse: blocks are allocated as parts arrive.
  if (::ftruncate(data.get(), static_cast<off_t>(size)) != 0) {
    return errno_error("size upload data", errno);
  }
  // info last: an upload without it is not open (open_upload finds nothing).
  COFFER_TRY_VOID(write_small_at(dir.get(), kInfoName, format_info(info)));
  if (::fsync(dir.get()) != 0) return errno_error("fsync upload directory", errno);
  if (::fsync(uploads_fd_.get()) != 0) return errno_error("fsync uploads directory", errno);
  return id;
}

Result<PresignedUrl> FsObjectStore::presign_upload_part(const PresignPartRequest& request) {
  COFFER_TRY_VOID(split_fs_key(request.key));
  if (request.expires_in < std::chrono::seconds(1) || request.expires_in > kMaxPresignExpiry) {
    return Error::BadRequest("expires_in must be between 1 second and 7 days");
  }
  if (request.part_number < 1 || static_cast<std::uint64_t>(request.part_number) > kMaxUploadParts) {
    return Error::BadRequest("part numbers are 1 to 10000");
  }
  if (!request.sha256.empty() && !is_sha256_hex(request.sha256)) {
    return Error::BadRequest("sha256 must be 64 hex digits");
  }
  if (!valid_upload_id(request.upload_id)) return Error::Internal("fs: bad upload id");
  return signer_.sign_part(request);
}

Result<std::vector<UploadedPart>> FsObjectStore::list_upload_parts(const std::string& key,
                                                                   const std::string& upload_id) {
  COFFER_TRY(OpenUpload up, open_upload(uploads_fd_.get(), upload_id, key));
  struct stat st {};
  if (::fstatat(up.dir.get(), kDataName, &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return upload_not_found();  // completed or aborted
    return errno_error("stat upload data", errno);
  }
  COFFER_TRY(auto entries, read_dir(up.dir.get()));
  std::vector<UploadedPart> parts;
  for (const auto& [name, is_dir] : entries) {
    auto n = is_dir ? std::nullopt : part_number_of(name);
    if (!n) continue;
    auto text = read_small_at(up.dir.get(), name);
    if (!text) {
      if (text.error().code == ErrorCode::kNotFound) continue;  // being rewritten
      return text.error();
    }
    auto part = parse_marker(*n, *text);
    if (!part) return Error::Internal("fs: malformed part marker in uploads/" + upload_id);
    parts.push_back(std::move(*part));
  }
  std::sort(parts.begin(), parts.end(),
            [](const UploadedPart& a, const UploadedPart& b) { return a.number < b.number; });
  return parts;
}

Result<void> FsObjectStore::complete_upload(const std::string& key, const std::string& upload_id,
                                            const std::vector<CompletedPartRef>& parts) {
  COFFER_TRY(auto segments, split_fs_key(key));
  COFFER_TRY(OpenUpload up, open_upload(uploads_fd_.get(), upload_id, key));
  COFFER_TRY_VOID(lock_for_close(up, kCloseWait));
  int fd = ::openat(up.dir.get(), kDataName, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return upload_not_found();  // completed or aborted meanwhile
    return errno_error("open upload data", errno);
  }
  UniqueFd data(fd);

  if (parts.empty()) return Error::BadRequest("an upload is completed with at least one part");
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (parts[i].number != static_cast<int>(i + 1)) {
      return Error::BadRequest("parts must be listed as 1, 2, 3, ... without gaps");
    }
  }
  if (parts.size() > up.info.part_count()) return Error::BadRequest("the upload has fewer parts");
  for (const auto& p : parts) {
    const std::string marker = std::string(kPartPrefix) + std::to_string(p.number);
    auto text = read_small_at(up.dir.get(), marker);
    if (!text) {
      if (text.error().code == ErrorCode::kNotFound) {
        return Error::BadRequest("part " + std::to_string(p.number) + " has not been uploaded");
      }
      return text.error();
    }
    auto stored = parse_marker(static_cast<std::uint64_t>(p.number), *text);
    if (!stored) return Error::Internal("fs: malformed part marker in uploads/" + upload_id);
    if (unquoted(stored->etag) != unquoted(p.etag)) {
      return Error::BadRequest("the ETag of part " + std::to_string(p.number) + " does not match");
    }
  }

  const auto last = static_cast<std::uint64_t>(parts.size());
  const std::uint64_t length = up.info.part_offset(last) + up.info.part_length(last);
  if (length < up.info.size && ::ftruncate(data.get(), static_cast<off_t>(length)) != 0) {
    return errno_error("truncate upload data", errno);
  }
  if (::fsync(data.get()) != 0) return errno_error("fsync upload data", errno);
  COFFER_TRY(DirRef parent, open_parent(objects_fd_.get(), segments, true));
  const std::string leaf(segments.back());
  if (::renameat(up.dir.get(), kDataName, parent.get(), leaf.c_str()) != 0) {
    const int err = errno;
    if (err == EISDIR || err == ENOTEMPTY || err == EEXIST) {
      return Error::Internal("fs: key collides with a directory of other keys");
    }
    return errno_error("rename into place", err);
  }
  if (::fsync(parent.get()) != 0) return errno_error("fsync directory", errno);
  remove_upload_dir(uploads_fd_.get(), up, upload_id);
  return Ok();
}

Result<void> FsObjectStore::abort_upload(const std::string& key, const std::string& upload_id) {
  auto up = open_upload(uploads_fd_.get(), upload_id, key);
  if (!up) {
    if (up.error().code == ErrorCode::kNotFound) return Ok();
    return up.error();
  }
  COFFER_TRY_VOID(lock_for_close(*up, kCloseWait));
  remove_upload_dir(uploads_fd_.get(), *up, upload_id);
  return Ok();
}

Result<std::string> FsObjectStore::write_part(const BlobGrant& grant, ByteSource& body) {
  if (grant.method != PresignMethod::kPut || grant.upload_id.empty() || grant.part_number < 1 ||
      !grant.content_length) {
    return Error::Forbidden("this URL does not allow uploads");
  }
  COFFER_TRY(OpenUpload up, open_upload(uploads_fd_.get(), grant.upload_id, grant.key));
  const auto n = static_cast<std::uint64_t>(grant.part_number);
  if (n > up.info.part_count()) return Error::BadRequest("the upload has no such part");
  const std::uint64_t length = up.info.part_length(n);
  if (*grant.content_length != length) {
    return Error::BadRequest("the URL's length is not the part's length");
  }
  COFFER_TRY(bool locked, try_lock(up.info_fd.get(), n, 1));
  if (!locked) {
    return Error::Conflict("this part is being written by another request, or the upload is "
                           "being completed");
  }
  // Under the part's lock: the upload cannot close until this write ends, and if it closed
  // before, data is gone.
  int fd = ::openat(up.dir.get(), kDataName, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return upload_not_found();
    return errno_error("open upload data", errno);
  }
  UniqueFd data(fd);
  const std::string marker = std::string(kPartPrefix) + std::to_string(n);
  // The part is missing from here on until its new bytes are all in.
  if (::unlinkat(up.dir.get(), marker.c_str(), 0) != 0 && errno != ENOENT) {
    return errno_error("remove part marker", errno);
  }

  const std::uint64_t offset = up.info.part_offset(n);
  auto buffer = std::make_unique_for_overwrite<char[]>(kBufferBytes);
  Sha256 hash;
  std::uint64_t total = 0;
  for (;;) {
    COFFER_TRY(std::size_t got, body.read(std::span<char>(buffer.get(), kBufferBytes)));
    if (got == 0) break;
    if (got > kBufferBytes) return Error::Internal("fs: source reported more bytes than asked for");
    if (length - total < got) return Error::BadRequest("body is longer than the part");
    hash.update(std::string_view(buffer.get(), got));
    COFFER_TRY_VOID(pwrite_all(data.get(), buffer.get(), got, offset + total));
    total += got;
  }
  if (total != length) return Error::BadRequest("body is shorter than the part");
  const std::string sha = hex_encode(hash.finish());
  if (!grant.sha256.empty() && sha != grant.sha256) return Error::BadRequest("checksum mismatch");
  // The bytes are durable before the marker says they are there.
  if (::fdatasync(data.get()) != 0) return errno_error("fsync upload data", errno);
  const std::string etag = "\"" + sha + "\"";
  COFFER_TRY_VOID(write_small_at(up.dir.get(), marker, etag + "\n" + std::to_string(length) + "\n"));
  return etag;
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
  // Upload directories without data are closed uploads whose removal a crash cut short.
  COFFER_TRY(auto uploads, read_dir(uploads_fd_.get()));
  for (const auto& [name, is_dir] : uploads) {
    struct stat st {};
    if (!is_dir || !valid_upload_id(name) ||
        ::fstatat(uploads_fd_.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 ||
        mtime_of(st) >= cutoff) {
      continue;
    }
    int fd = ::openat(uploads_fd_.get(), name.c_str(), kDirFlags);
    if (fd < 0) continue;
    OpenUpload up;
    up.dir = UniqueFd(fd);
    if (::fstatat(up.dir.get(), kDataName, &st, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT) {
      continue;
    }
    remove_upload_dir(uploads_fd_.get(), up, name);
    ++swept;
  }
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
