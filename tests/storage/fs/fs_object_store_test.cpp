#include "storage/fs/fs_object_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>
#include <mutex>
#include <condition_variable>
#include <atomic>

#include "core/crypto.h"
#include "storage/object_store_contract.h"

namespace coffer::storage {
namespace {

// The value of `r`, or `fallback` when it holds an error (boost::system::result has no value_or).
template <class T, class U>
T value_or(const Result<T>& r, U&& fallback) {
  return r ? *r : T(std::forward<U>(fallback));
}


namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::ContractBackend;
using testing::ContractBackendFactory;
using testing::ObjectStoreContract;

const std::string kSecret(32, 's');
constexpr std::string_view kBase = "http://127.0.0.1:8080";

// A fresh directory, removed with everything in it at the end.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "coffer-fs-test-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

class FsBackend final : public ContractBackend {
 public:
  FsBackend() : store_(dir_.path() / "root", BlobSigner(kSecret, std::string(kBase))) {}
  ObjectStore& store() override { return store_; }
  // What the /blob route does with a PUT (service::Blobs::put_part): verify, check the signed
  // headers (Content-Length is the body's, as a client sends it), write the part.
  Result<std::string> put_part(const PresignedUrl& url, std::string_view body) override;

 private:
  TempDir dir_;
  FsObjectStore store_;
};

INSTANTIATE_TEST_SUITE_P(Fs, ObjectStoreContract,
                         ::testing::Values(ContractBackendFactory{
                             "fs", [] { return std::make_unique<FsBackend>(); }}),
                         testing::ContractBackendName);

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_file(const fs::path& p, std::string_view data) {
  std::ofstream out(p, std::ios::binary);
  out << data;
}

// Every path below `dir`, relative, sorted; symlinks listed but not followed.
std::vector<std::string> tree(const fs::path& dir) {
  std::vector<std::string> out;
  for (auto it = fs::recursive_directory_iterator(dir); it != fs::recursive_directory_iterator();
       ++it) {
    out.push_back(fs::relative(it->path(), dir).string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

Result<PutResult> put_string(ObjectStore& store, const std::string& key, std::string_view data,
                             PutOptions options = {}) {
  StringSource source(data);
  return store.put(key, source, options);
}

Result<std::string> get_string(ObjectStore& store, const std::string& key) {
  COFFER_TRY(auto reader, store.get(key, std::nullopt));
  return read_all(*reader);
}

class FsObjectStoreTest : public ::testing::Test {
 protected:
  FsObjectStoreTest() : store_(root_, BlobSigner(kSecret, std::string(kBase))) {}

  fs::path objects() const { return root_ / "objects"; }
  fs::path tmp() const { return root_ / "tmp"; }

  TempDir base_;
  fs::path root_ = base_.path() / "root";
  FsObjectStore store_;
};

TEST_F(FsObjectStoreTest, ObjectsAreFilesUnderObjectsReadableOnlyByTheOwner) {
  ASSERT_TRUE(put_string(store_, "tenant/id1", "bytes").has_value());
  EXPECT_EQ(read_file(objects() / "tenant" / "id1"), "bytes");
  struct stat st {};
  ASSERT_EQ(::stat((objects() / "tenant" / "id1").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((objects() / "tenant").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  EXPECT_EQ(store_.kind(), "fs");
}

TEST_F(FsObjectStoreTest, KeysEscapingTheRootAreRefused) {
  write_file(base_.path() / "victim", "precious");
  for (const std::string& key :
       std::vector<std::string>{"", "/abs", "/etc/passwd", "..", "../victim", "a/../../victim", ".",
                                "a/./b", "a//b", "a/", "..\\victim", "a\\b", "a\nb", "a\x01",
                                std::string("a\0b", 3), std::string(256, 'x')}) {
    SCOPED_TRACE(key);
    auto put = put_string(store_, key, "evil");
    ASSERT_FALSE(put.has_value());
    EXPECT_EQ(put.error().code, ErrorCode::kInternal);
    EXPECT_FALSE(store_.get(key, std::nullopt).has_value());
    EXPECT_FALSE(store_.head(key).has_value());
    EXPECT_FALSE(store_.remove(key).has_value());
    PresignRequest presign;
    presign.key = key;
    presign.now = std::chrono::system_clock::now();
    EXPECT_FALSE(store_.presign(presign).has_value());
  }
  EXPECT_EQ(read_file(base_.path() / "victim"), "precious");
  EXPECT_EQ(tree(base_.path()),
            (std::vector<std::string>{"root", "root/objects", "root/tmp", "root/uploads", "victim"}));
}

TEST_F(FsObjectStoreTest, SymlinkedDirectoryInsideTheRootIsNotFollowed) {
  const fs::path outside = base_.path() / "outside";
  fs::create_directory(outside);
  write_file(outside / "secret", "secret");
  fs::create_directory_symlink(outside, objects() / "evil");

  EXPECT_FALSE(store_.get("evil/secret", std::nullopt).has_value());
  EXPECT_FALSE(store_.head("evil/secret").has_value());
  EXPECT_FALSE(put_string(store_, "evil/new", "x").has_value());
  EXPECT_FALSE(put_string(store_, "evil/secret", "overwritten").has_value());
  (void)store_.remove("evil/secret");
  EXPECT_FALSE(fs::exists(outside / "new"));
  EXPECT_EQ(read_file(outside / "secret"), "secret");
  auto listed = store_.list("", "", 100);
  ASSERT_TRUE(listed.has_value());
  EXPECT_TRUE(listed->objects.empty());
  EXPECT_THAT(tree(tmp()), ::testing::IsEmpty());
}

TEST_F(FsObjectStoreTest, SymlinkAsAnObjectIsNeitherReadNorWrittenThrough) {
  const fs::path outside = base_.path() / "secret";
  write_file(outside, "secret");
  fs::create_directory(objects() / "t");
  fs::create_symlink(outside, objects() / "t" / "link");

  auto got = store_.get("t/link", std::nullopt);
  EXPECT_FALSE(got.has_value());
  EXPECT_FALSE(store_.head("t/link").has_value());
  auto listed = store_.list("", "", 100);
  ASSERT_TRUE(listed.has_value());
  EXPECT_TRUE(listed->objects.empty());

  // A put replaces the link itself; the file it pointed at is untouched.
  ASSERT_TRUE(put_string(store_, "t/link", "mine").has_value());
  EXPECT_EQ(read_file(outside), "secret");
  EXPECT_FALSE(fs::is_symlink(objects() / "t" / "link"));
  EXPECT_EQ(get_string(store_, "t/link").value(), "mine");
  ASSERT_TRUE(store_.remove("t/link").has_value());
  EXPECT_EQ(read_file(outside), "secret");
}

TEST_F(FsObjectStoreTest, CrashLeftoversAreInvisibleAndSweptWhenOld) {
  ASSERT_TRUE(put_string(store_, "t/real", "real").has_value());
  write_file(tmp() / "put-0123456789abcdef", "half an upload");
  write_file(tmp() / "put-fresh", "an upload in progress");
  fs::last_write_time(tmp() / "put-0123456789abcdef",
                      fs::file_time_type::clock::now() - std::chrono::hours(2));

  auto listed = store_.list("", "", 100);
  ASSERT_TRUE(listed.has_value());
  ASSERT_EQ(listed->objects.size(), 1u);
  EXPECT_EQ(listed->objects[0].key, "t/real");
  EXPECT_FALSE(store_.head("put-fresh").has_value());
  EXPECT_FALSE(store_.head("tmp/put-fresh").has_value());

  auto swept = store_.sweep_temp();
  ASSERT_TRUE(swept.has_value());
  EXPECT_EQ(*swept, 1);
  EXPECT_EQ(tree(tmp()), (std::vector<std::string>{"put-fresh"}));

  // Opening the store again (a restart after a crash) sweeps as well.
  fs::last_write_time(tmp() / "put-fresh",
                      fs::file_time_type::clock::now() - std::chrono::hours(2));
  FsObjectStore reopened(root_, BlobSigner(kSecret, std::string(kBase)));
  EXPECT_THAT(tree(tmp()), ::testing::IsEmpty());
  EXPECT_EQ(get_string(reopened, "t/real").value(), "real");
}

class FailAfter final : public ByteSource {
 public:
  explicit FailAfter(std::size_t good) : left_(good) {}
  Result<std::size_t> read(std::span<char> out) override {
    if (left_ == 0) return Error::StorageUnavailable("source broke");
    std::size_t n = std::min(out.size(), left_);
    std::memset(out.data(), 'x', n);
    left_ -= n;
    return n;
  }

 private:
  std::size_t left_;
};

TEST_F(FsObjectStoreTest, FailedPutsLeaveNoFileAndNoDirectory) {
  FailAfter failing(3 << 20);
  auto broken = store_.put("new/dir/x", failing, PutOptions{});
  ASSERT_FALSE(broken.has_value());
  EXPECT_EQ(broken.error().code, ErrorCode::kStorageUnavailable);

  PutOptions small;
  small.max_bytes = 100;
  EXPECT_FALSE(put_string(store_, "new/dir/y", std::string(101, 'y'), small).has_value());
  PutOptions sum;
  sum.expected_sha256 = sha256_hex("other");
  EXPECT_FALSE(put_string(store_, "new/dir/z", "zzz", sum).has_value());

  EXPECT_THAT(tree(tmp()), ::testing::IsEmpty());
  EXPECT_THAT(tree(objects()), ::testing::IsEmpty());
}

TEST_F(FsObjectStoreTest, AKeyCannotBeBothAnObjectAndADirectory) {
  ASSERT_TRUE(put_string(store_, "a", "file a").has_value());
  auto below = put_string(store_, "a/b", "below a");
  ASSERT_FALSE(below.has_value());
  EXPECT_EQ(below.error().code, ErrorCode::kInternal);
  EXPECT_EQ(get_string(store_, "a").value(), "file a");
  EXPECT_EQ(store_.head("a/b").error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(store_.remove("a/b").has_value());

  ASSERT_TRUE(put_string(store_, "x/y", "file y").has_value());
  auto above = put_string(store_, "x", "above y");
  ASSERT_FALSE(above.has_value());
  EXPECT_EQ(above.error().code, ErrorCode::kInternal);
  EXPECT_EQ(store_.head("x").error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(store_.remove("x").has_value());
  EXPECT_EQ(get_string(store_, "x/y").value(), "file y");
  EXPECT_THAT(tree(tmp()), ::testing::IsEmpty());
}

TEST_F(FsObjectStoreTest, ReaderOpenedBeforeOverwriteOrRemoveKeepsItsBytes) {
  const std::string first(3 << 20, 'a');
  ASSERT_TRUE(put_string(store_, "t/r", first).has_value());
  auto reader = store_.get("t/r", std::nullopt);
  ASSERT_TRUE(reader.has_value());
  char head[10];
  ASSERT_EQ((*reader)->read(head).value(), 10u);
  ASSERT_TRUE(put_string(store_, "t/r", "second").has_value());
  ASSERT_TRUE(store_.remove("t/r").has_value());
  auto rest = read_all(**reader);
  ASSERT_TRUE(rest.has_value());
  EXPECT_EQ(rest->size() + 10, first.size());
  EXPECT_EQ(rest->find_first_not_of('a'), std::string::npos);
}

TEST_F(FsObjectStoreTest, RangePastTheEndIsRefused) {
  ASSERT_TRUE(put_string(store_, "t/r", "0123456789").has_value());
  for (ByteRange r : {ByteRange{10, 10}, ByteRange{5, 10}, ByteRange{6, 5}}) {
    auto got = store_.get("t/r", r);
    ASSERT_FALSE(got.has_value());
    EXPECT_EQ(got.error().code, ErrorCode::kRangeNotSatisfiable);
  }
}

TEST_F(FsObjectStoreTest, ListRefusesANonPositivePageSize) {
  EXPECT_FALSE(store_.list("", "", 0).has_value());
  EXPECT_FALSE(store_.list("", "", -1).has_value());
}

TEST_F(FsObjectStoreTest, ListSkipsEmptyDirectoriesLeftByRemove) {
  ASSERT_TRUE(put_string(store_, "t1/a", "a").has_value());
  ASSERT_TRUE(put_string(store_, "t2/b", "b").has_value());
  ASSERT_TRUE(store_.remove("t1/a").has_value());
  auto listed = store_.list("", "", 1);
  ASSERT_TRUE(listed.has_value());
  ASSERT_EQ(listed->objects.size(), 1u);
  EXPECT_EQ(listed->objects[0].key, "t2/b");
  EXPECT_EQ(listed->next_token, "");
}

TEST_F(FsObjectStoreTest, RootIsCreatedWhenMissing) {
  const fs::path nested = base_.path() / "a" / "b" / "c";
  FsObjectStore store(nested, BlobSigner(kSecret, std::string(kBase)));
  EXPECT_TRUE(fs::is_directory(nested / "objects"));
  EXPECT_TRUE(fs::is_directory(nested / "tmp"));
  EXPECT_TRUE(store.check().has_value());
}

TEST_F(FsObjectStoreTest, ARootThatIsAFileFailsAtStartUp) {
  write_file(base_.path() / "file", "x");
  EXPECT_THROW(FsObjectStore(base_.path() / "file", BlobSigner(kSecret, std::string(kBase))),
               std::exception);
}

TEST_F(FsObjectStoreTest, CheckFailsWhenTheRootIsGoneOrReplaced) {
  ASSERT_TRUE(store_.check().has_value());
  fs::remove_all(root_);
  auto gone = store_.check();
  ASSERT_FALSE(gone.has_value());
  EXPECT_EQ(gone.error().code, ErrorCode::kStorageUnavailable);
  fs::create_directories(root_ / "objects");
  fs::create_directories(root_ / "tmp");
  auto replaced = store_.check();
  ASSERT_FALSE(replaced.has_value());
  EXPECT_EQ(replaced.error().code, ErrorCode::kStorageUnavailable);
}

TEST_F(FsObjectStoreTest, PutIntoAVanishedRootIsStorageUnavailable) {
  fs::remove_all(root_);
  auto put = put_string(store_, "t/x", "x");
  ASSERT_FALSE(put.has_value());
  EXPECT_EQ(put.error().code, ErrorCode::kStorageUnavailable);
  EXPECT_THAT(put.error().detail, ::testing::HasSubstr(std::strerror(ENOENT)));
}

int open_descriptors() {
  return static_cast<int>(
      std::distance(fs::directory_iterator("/proc/self/fd"), fs::directory_iterator()));
}

TEST_F(FsObjectStoreTest, LeavesNoDescriptorOpen) {
  const int before = open_descriptors();
  for (int i = 0; i < 20; ++i) {
    const std::string key = "t" + std::to_string(i % 3) + "/d/" + std::to_string(i);
    ASSERT_TRUE(put_string(store_, key, "bytes").has_value());
    ASSERT_TRUE(get_string(store_, key).has_value());
    ASSERT_TRUE(store_.head(key).has_value());
    PutOptions small;
    small.max_bytes = 1;
    ASSERT_FALSE(put_string(store_, key, "too long", small).has_value());
    ASSERT_FALSE(store_.head(key + "x").has_value());
  }
  ASSERT_TRUE(store_.list("", "", 7).has_value());
  ASSERT_TRUE(store_.sweep_temp().has_value());
  ASSERT_TRUE(store_.check().has_value());
  ASSERT_TRUE(store_.remove("t0/d/0").has_value());
  EXPECT_EQ(open_descriptors(), before);
}

TEST(FsErrno, StoreTroubleIsStorageUnavailableWithTheErrnoText) {
  for (int err : {EIO, ENOSPC, EDQUOT, EROFS}) {
    Error e = errno_error("write", err);
    EXPECT_EQ(e.code, ErrorCode::kStorageUnavailable) << err;
    EXPECT_THAT(e.detail, ::testing::HasSubstr(std::strerror(err)));
    EXPECT_THAT(e.detail, ::testing::HasSubstr("write"));
    EXPECT_THAT(e.message, ::testing::Not(::testing::HasSubstr(std::strerror(err))));
  }
  EXPECT_EQ(errno_error("open", EINVAL).code, ErrorCode::kInternal);
}

// --- presigned URLs, verified as the /blob route will ------------------------------------

struct BlobRequest {
  std::string key;
  std::map<std::string, std::string> query;
};

BlobRequest parse_blob_url(const std::string& url) {
  auto u = boost::urls::parse_uri(url);
  EXPECT_TRUE(u.has_value()) << url;
  BlobRequest out;
  if (!u) return out;
  std::string path = u->path();
  EXPECT_TRUE(path.starts_with(kBlobPathPrefix)) << url;
  out.key = path.substr(std::min(path.size(), kBlobPathPrefix.size()));
  for (auto p : u->params()) out.query[p.key] = p.value;
  return out;
}

Result<std::string> FsBackend::put_part(const PresignedUrl& url, std::string_view body) {
  const BlobSigner signer(kSecret, std::string(kBase));
  BlobRequest request = parse_blob_url(url.url);
  COFFER_TRY(BlobGrant grant, signer.verify("PUT", request.key, request.query,
                                            std::chrono::system_clock::now()));
  if (grant.upload_id.empty() || grant.content_length != body.size()) {
    return Error::Forbidden("refused");
  }
  StringSource source(body);
  return store_.write_part(grant, source);
}

TEST_F(FsObjectStoreTest, PresignedUrlsVerifyWithTheBlobSigner) {
  const BlobSigner signer(kSecret, std::string(kBase));
  const SystemTime now = std::chrono::system_clock::now();
  for (std::string key : {"t1/plain", "t1/with space", "t1/a+b%20c#d?e=f&g", "t1/caf\xC3\xA9"}) {
    SCOPED_TRACE(key);
    PresignRequest put;
    put.method = PresignMethod::kPut;
    put.key = key;
    put.now = now;
    put.expires_in = 120s;
    put.content_length = 11;
    put.content_type = "application/pdf";
    put.sha256 = sha256_hex("hello world");
    auto url = store_.presign(put);
    ASSERT_TRUE(url.has_value());
    EXPECT_TRUE(url->url.starts_with(std::string(kBase) + "/blob/"));
    EXPECT_EQ(url->headers.at("Content-Length"), "11");
    EXPECT_EQ(url->headers.at("Content-Type"), "application/pdf");
    EXPECT_EQ(url->headers.at("X-Checksum-Sha256"), sha256_hex("hello world"));

    BlobRequest req = parse_blob_url(url->url);
    EXPECT_EQ(req.key, key);
    auto grant = signer.verify("PUT", req.key, req.query, now + 119s);
    ASSERT_TRUE(grant.has_value()) << grant.error().message;
    EXPECT_EQ(grant->key, key);
    EXPECT_EQ(grant->content_length, 11u);
    EXPECT_EQ(grant->sha256, sha256_hex("hello world"));
    EXPECT_EQ(grant->content_type, "application/pdf");

    // Expired, retargeted at another key or method, or with a changed binding: all refused.
    EXPECT_EQ(signer.verify("PUT", req.key, req.query, now + 121s).error().code,
              ErrorCode::kForbidden);
    EXPECT_FALSE(signer.verify("PUT", "t2/plain", req.query, now).has_value());
    EXPECT_FALSE(signer.verify("GET", req.key, req.query, now).has_value());
    auto longer = req.query;
    longer["length"] = "12";
    EXPECT_FALSE(signer.verify("PUT", req.key, longer, now).has_value());
    auto later = req.query;
    later["expires"] = std::to_string(std::stoll(later["expires"]) + 3600);
    EXPECT_FALSE(signer.verify("PUT", req.key, later, now).has_value());
    const BlobSigner other(std::string(32, 'o'), std::string(kBase));
    EXPECT_FALSE(other.verify("PUT", req.key, req.query, now).has_value());

    PresignRequest get;
    get.key = key;
    get.now = now;
    get.expires_in = 60s;
    get.response_content_disposition = "attachment; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf";
    auto get_url = store_.presign(get);
    ASSERT_TRUE(get_url.has_value());
    EXPECT_TRUE(get_url->headers.empty());
    BlobRequest get_req = parse_blob_url(get_url->url);
    auto get_grant = signer.verify("GET", get_req.key, get_req.query, now);
    ASSERT_TRUE(get_grant.has_value());
    EXPECT_EQ(get_grant->response_content_disposition, get.response_content_disposition);
    EXPECT_FALSE(signer.verify("PUT", get_req.key, get_req.query, now).has_value());
  }
}

TEST_F(FsObjectStoreTest, PresignRefusesOutOfRangeExpiryAndBadChecksums) {
  PresignRequest r;
  r.key = "t/k";
  r.now = std::chrono::system_clock::now();
  r.expires_in = 0s;
  EXPECT_EQ(store_.presign(r).error().code, ErrorCode::kBadRequest);
  r.expires_in = std::chrono::hours(24 * 7) + 1s;
  EXPECT_EQ(store_.presign(r).error().code, ErrorCode::kBadRequest);
  r.expires_in = std::chrono::hours(24 * 7);
  EXPECT_TRUE(store_.presign(r).has_value());
  r.method = PresignMethod::kPut;
  r.sha256 = "abc";
  EXPECT_EQ(store_.presign(r).error().code, ErrorCode::kBadRequest);
}

// --- direct uploads: what only the local directory shows ------------------------------------

// Delivers `first`, then blocks until released, then delivers `rest`.
class GatedSource final : public ByteSource {
 public:
  GatedSource(std::string first, std::string rest) : first_(std::move(first)), rest_(std::move(rest)) {}
  Result<std::size_t> read(std::span<char> out) override {
    std::string* from = &first_;
    if (first_.empty()) {
      std::unique_lock lock(mu_);
      reached_ = true;
      cv_.notify_all();
      cv_.wait(lock, [this] { return released_; });
      from = &rest_;
    }
    const std::size_t n = std::min(out.size(), from->size());
    std::copy_n(from->data(), n, out.data());
    from->erase(0, n);
    return n;
  }
  void wait_until_blocked() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return reached_; });
  }
  void release() {
    std::lock_guard lock(mu_);
    released_ = true;
    cv_.notify_all();
  }

 private:
  std::string first_, rest_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool reached_ = false;
  bool released_ = false;
};

class FsDirectUploadTest : public FsObjectStoreTest {
 protected:
  std::string begin(const std::string& key, std::uint64_t size, std::uint64_t part_size) {
    auto id = store_.begin_upload(key, "text/plain", size, part_size);
    EXPECT_TRUE(id.has_value()) << id.error().detail;
    return value_or(id, "");
  }
  BlobGrant grant(const std::string& key, const std::string& id, int n, std::uint64_t length,
                  std::string sha256 = "") {
    PresignPartRequest r;
    r.key = key;
    r.upload_id = id;
    r.part_number = n;
    r.size = length;
    r.sha256 = std::move(sha256);
    r.now = std::chrono::system_clock::now();
    auto url = store_.presign_upload_part(r);
    EXPECT_TRUE(url.has_value());
    BlobRequest req = parse_blob_url(url->url);
    auto g = BlobSigner(kSecret, std::string(kBase)).verify("PUT", req.key, req.query, r.now);
    EXPECT_TRUE(g.has_value());
    return value_or(g, BlobGrant{});
  }
  Result<std::string> write(const BlobGrant& g, std::string_view data) {
    StringSource source(data);
    return store_.write_part(g, source);
  }
  fs::path uploads() const { return root_ / "uploads"; }
};

TEST_F(FsDirectUploadTest, AnUploadIsADirectoryUntilCompleteRenamesItsDataIntoPlace) {
  const std::string data = "hello, direct world";
  const std::string id = begin("t1/direct", data.size(), data.size());
  EXPECT_EQ(tree(uploads()), (std::vector<std::string>{id, id + "/data", id + "/info"}));
  EXPECT_EQ(fs::file_size(uploads() / id / "data"), data.size());  // sparse, full size
  auto etag = write(grant("t1/direct", id, 1, data.size()), data);
  ASSERT_TRUE(etag.has_value()) << etag.error().detail;
  EXPECT_EQ(*etag, "\"" + sha256_hex(data) + "\"");
  EXPECT_TRUE(fs::exists(uploads() / id / "part-1"));
  ASSERT_TRUE(store_.complete_upload("t1/direct", id, {{1, *etag}}).has_value());
  EXPECT_TRUE(tree(uploads()).empty());
  EXPECT_EQ(read_file(objects() / "t1" / "direct"), data);
  struct stat st {};
  ASSERT_EQ(::stat((objects() / "t1" / "direct").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(FsDirectUploadTest, CompleteWaitsForAPartBeingWrittenAndNeverSeesHalfOfIt) {
  const std::string part1(5 << 20, 'a');
  const std::string part2 = std::string(1000, 'b') + std::string(1000, 'c');
  const std::string id = begin("t1/racing", part1.size() + part2.size(), part1.size());
  auto etag1 = write(grant("t1/racing", id, 1, part1.size()), part1);
  ASSERT_TRUE(etag1.has_value());
  GatedSource gated(part2.substr(0, 1000), part2.substr(1000));
  const BlobGrant g2 = grant("t1/racing", id, 2, part2.size());
  std::optional<Result<std::string>> etag2;
  std::thread writer([&] { etag2 = store_.write_part(g2, gated); });
  gated.wait_until_blocked();

  // Another write of the same part meanwhile is refused, not interleaved.
  EXPECT_EQ(write(g2, std::string(2000, 'x')).error().code, ErrorCode::kConflict);

  std::atomic<bool> completed = false;
  Result<void> done = Ok();
  std::thread completer([&] {
    // The part's ETag is the SHA-256 of its bytes: known before they arrive.
    done = store_.complete_upload("t1/racing", id,
                                  {{1, *etag1}, {2, "\"" + sha256_hex(part2) + "\""}});
    completed = true;
  });
  std::this_thread::sleep_for(300ms);
  EXPECT_FALSE(completed.load()) << "complete did not wait for the part being written";
  gated.release();
  writer.join();
  completer.join();
  ASSERT_TRUE(etag2.has_value() && etag2->has_value());
  ASSERT_TRUE(done.has_value()) << done.error().detail;
  EXPECT_EQ(read_file(objects() / "t1" / "racing"), part1 + part2);

  // A write that starts after complete finds no open upload.
  EXPECT_EQ(write(g2, std::string(2000, 'x')).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(read_file(objects() / "t1" / "racing"), part1 + part2);
}

TEST_F(FsDirectUploadTest, AFailedPartWriteLeavesThePartMissing) {
  const std::string data(100, 'd');
  const std::string id = begin("t1/failed", data.size(), data.size());
  auto g = grant("t1/failed", id, 1, data.size(), sha256_hex(data));
  auto good = write(g, data);
  ASSERT_TRUE(good.has_value());
  // The same URL again with other bytes: refused, and the part is no longer there.
  EXPECT_EQ(write(g, std::string(100, 'e')).error().code, ErrorCode::kBadRequest);
  EXPECT_EQ(write(g, std::string(99, 'd')).error().code, ErrorCode::kBadRequest);
  EXPECT_TRUE(store_.list_upload_parts("t1/failed", id)->empty());
  auto refused = store_.complete_upload("t1/failed", id, {{1, *good}});
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, ErrorCode::kBadRequest);
  ASSERT_TRUE(write(g, data).has_value());
  EXPECT_TRUE(store_.complete_upload("t1/failed", id, {{1, *good}}).has_value());
}

TEST_F(FsDirectUploadTest, GrantsAreCheckedAgainstTheUpload) {
  const std::string id = begin("t1/checked", 10, 10);
  // A grant for another key, an unknown upload, or a part the upload does not have.
  EXPECT_EQ(write(grant("t1/other", id, 1, 10), "0123456789").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(write(grant("t1/checked", std::string(32, 'f'), 1, 10), "0123456789").error().code,
            ErrorCode::kNotFound);
  EXPECT_EQ(write(grant("t1/checked", id, 2, 10), "0123456789").error().code,
            ErrorCode::kBadRequest);
  EXPECT_EQ(write(grant("t1/checked", id, 1, 9), "012345678").error().code,
            ErrorCode::kBadRequest);
  BlobGrant get;
  get.key = "t1/checked";
  EXPECT_EQ(write(get, "").error().code, ErrorCode::kForbidden);
  EXPECT_EQ(store_.begin_upload("t1/big", "", 10001, 1).error().code, ErrorCode::kBadRequest);
  EXPECT_EQ(store_.begin_upload("../escape", "", 1, 1).error().code, ErrorCode::kInternal);
  EXPECT_EQ(store_.list_upload_parts("t1/checked", "../../objects").error().code,
            ErrorCode::kNotFound);
}

TEST_F(FsDirectUploadTest, ClosedUploadDirectoriesLeftByACrashAreSwept) {
  const std::string id = begin("t1/swept", 10, 10);
  fs::remove(uploads() / id / "data");  // as if complete's rename happened, then a crash
  const std::string open_id = begin("t1/open", 10, 10);
  const auto old = fs::file_time_type::clock::now() - 2h;
  fs::last_write_time(uploads() / id, old);
  fs::last_write_time(uploads() / open_id, old);  // old, but open: kept
  EXPECT_EQ(value_or(store_.sweep_temp(1h), -1), 1);
  EXPECT_EQ(tree(uploads()), (std::vector<std::string>{open_id, open_id + "/data",
                                                       open_id + "/info"}));
}

}  // namespace
}  // namespace coffer::storage
