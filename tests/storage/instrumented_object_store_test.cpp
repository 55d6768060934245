#include "storage/instrumented_object_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>
#include <filesystem>
#include <map>
#include <stdexcept>

#include "storage/fs/fs_object_store.h"
#include "storage/object_store_contract.h"

namespace coffer::storage {
namespace {

namespace fs = std::filesystem;
using testing::ContractBackend;
using testing::ContractBackendFactory;
using testing::ObjectStoreContract;

// A store whose every call answers with the error (or success) the test sets.
class ScriptedStore final : public ObjectStore {
 public:
  std::optional<Error> fail;  // nullopt: every call succeeds
  std::string body = "hello";
  std::optional<Error> read_fail;  // the reader's first read fails with this

  Result<PutResult> put(const std::string&, ByteSource& source, const PutOptions&) override {
    if (fail) return *fail;
    COFFER_TRY(std::string all, read_all(source));
    return PutResult{all.size(), "sha"};
  }
  Result<std::unique_ptr<ObjectReader>> get(const std::string&, std::optional<ByteRange>) override {
    if (fail) return *fail;
    return std::unique_ptr<ObjectReader>(std::make_unique<Reader>(body, read_fail));
  }
  Result<ObjectInfo> head(const std::string&) override {
    if (fail) return *fail;
    return ObjectInfo{body.size(), {}};
  }
  Result<void> remove(const std::string&) override {
    if (fail) return *fail;
    return Ok();
  }
  Result<void> remove_many(const std::vector<std::string>&) override {
    if (fail) return *fail;
    return Ok();
  }
  Result<ObjectList> list(const std::string&, const std::string&, int) override {
    if (fail) return *fail;
    return ObjectList{{{"a", 1, {}}}, ""};
  }
  Result<PresignedUrl> presign(const PresignRequest&) override {
    if (fail) return *fail;
    return PresignedUrl{"http://x/y", {}, {}};
  }
  Result<std::string> begin_upload(const std::string&, const std::string&, std::uint64_t,
                                   std::uint64_t) override {
    if (fail) return *fail;
    return std::string("upload-1");
  }
  Result<PresignedUrl> presign_upload_part(const PresignPartRequest&) override {
    if (fail) return *fail;
    return PresignedUrl{"http://x/part", {}, {}};
  }
  Result<std::vector<UploadedPart>> list_upload_parts(const std::string&,
                                                      const std::string&) override {
    if (fail) return *fail;
    return std::vector<UploadedPart>{{1, "\"e\"", 5}};
  }
  Result<void> complete_upload(const std::string&, const std::string&,
                               const std::vector<CompletedPartRef>&) override {
    if (fail) return *fail;
    return Ok();
  }
  Result<void> abort_upload(const std::string&, const std::string&) override {
    if (fail) return *fail;
    return Ok();
  }
  Result<void> check() override {
    if (fail) return *fail;
    return Ok();
  }
  std::string_view kind() const override { return "scripted"; }

 private:
  class Reader final : public ObjectReader {
   public:
    Reader(std::string data, std::optional<Error> fail) : data_(std::move(data)), fail_(fail) {}
    std::uint64_t size() const override { return data_.size(); }
    Result<std::size_t> read(std::span<char> out) override {
      if (fail_) return *fail_;
      return source_.read(out);
    }

   private:
    std::string data_;
    std::optional<Error> fail_;
    StringSource source_{data_};
  };
};

TEST(InstrumentedObjectStore, ForwardsEveryCallAndCountsIt) {
  ScriptedStore inner;
  Metrics metrics;
  InstrumentedObjectStore store(inner, metrics);
  EXPECT_EQ(store.kind(), "scripted");

  StringSource body("12345");
  auto put = store.put("t/k", body, {});
  ASSERT_TRUE(put);
  EXPECT_EQ(put->size, 5u);
  auto reader = store.get("t/k", std::nullopt);
  ASSERT_TRUE(reader);
  auto bytes = read_all(**reader);
  ASSERT_TRUE(bytes);
  EXPECT_EQ(*bytes, "hello");
  EXPECT_EQ(store.head("t/k")->size, 5u);
  EXPECT_TRUE(store.remove("t/k"));
  EXPECT_TRUE(store.remove_many({"a", "b"}));
  EXPECT_EQ(store.list("", "", 10)->objects.size(), 1u);
  EXPECT_EQ(store.presign({})->url, "http://x/y");
  EXPECT_EQ(*store.begin_upload("t/k", "text/plain", 5, 5), "upload-1");
  EXPECT_EQ(store.presign_upload_part({})->url, "http://x/part");
  EXPECT_EQ(store.list_upload_parts("t/k", "upload-1")->size(), 1u);
  EXPECT_TRUE(store.complete_upload("t/k", "upload-1", {{1, "e"}}));
  EXPECT_TRUE(store.abort_upload("t/k", "upload-1"));
  EXPECT_TRUE(store.check());

  for (const char* op :
       {"put", "get", "get_stream", "head", "remove", "remove_many", "list", "presign",
        "begin_upload", "presign_upload_part", "list_upload_parts", "complete_upload",
        "abort_upload", "check"}) {
    SCOPED_TRACE(op);
    EXPECT_EQ(metrics.storage_call(op).calls(), 1u);
    EXPECT_EQ(metrics.storage_call(op).errors(), 0u);
  }
  const std::string text = metrics.render();
  EXPECT_NE(text.find("coffer_storage_calls_total{op=\"put\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("coffer_storage_errors_total{op=\"put\"} 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("coffer_storage_call_duration_seconds_count{op=\"get\"} 1\n"),
            std::string::npos)
      << text;
  // Each op is one series, however many stores register it.
  InstrumentedObjectStore again(inner, metrics);
  const std::string after = metrics.render();
  const std::string series = "coffer_storage_calls_total{op=\"put\"}";
  EXPECT_EQ(after.find(series), after.rfind(series)) << after;
}

TEST(InstrumentedObjectStore, StoreFailuresAreErrorsAndAnswersAboutTheRequestAreNot) {
  ScriptedStore inner;
  Metrics metrics;
  InstrumentedObjectStore store(inner, metrics);

  inner.fail = Error{ErrorCode::kStorageUnavailable, "storage unavailable", "connect refused", 5};
  StringSource body("x");
  auto put = store.put("k", body, {});
  ASSERT_FALSE(put);
  // The error passes through unchanged.
  EXPECT_EQ(put.error().code, ErrorCode::kStorageUnavailable);
  EXPECT_EQ(put.error().detail, "connect refused");
  EXPECT_EQ(put.error().retry_after_seconds, 5);
  EXPECT_FALSE(store.get("k", std::nullopt));
  EXPECT_FALSE(store.check());
  inner.fail = Error::Internal("boom");
  EXPECT_FALSE(store.list("", "", 1));
  EXPECT_EQ(metrics.storage_call("put").errors(), 1u);
  EXPECT_EQ(metrics.storage_call("get").errors(), 1u);
  EXPECT_EQ(metrics.storage_call("check").errors(), 1u);
  EXPECT_EQ(metrics.storage_call("list").errors(), 1u);

  inner.fail = Error::NotFound("no such object");
  EXPECT_FALSE(store.head("k"));
  inner.fail = Error::BadRequest("checksum mismatch");
  EXPECT_FALSE(store.put("k", body, {}));
  inner.fail = Error::RangeNotSatisfiable();
  EXPECT_FALSE(store.get("k", ByteRange{10, 20}));
  EXPECT_EQ(metrics.storage_call("head").calls(), 1u);
  EXPECT_EQ(metrics.storage_call("head").errors(), 0u);
  EXPECT_EQ(metrics.storage_call("put").calls(), 2u);
  EXPECT_EQ(metrics.storage_call("put").errors(), 1u);
  EXPECT_EQ(metrics.storage_call("get").calls(), 2u);
  EXPECT_EQ(metrics.storage_call("get").errors(), 1u);
}

TEST(InstrumentedObjectStore, ABrokenStreamIsAnErrorOfGetStream) {
  ScriptedStore inner;
  Metrics metrics;
  InstrumentedObjectStore store(inner, metrics);
  inner.read_fail = Error{ErrorCode::kStorageUnavailable, "storage unavailable", "reset", 1};
  auto reader = store.get("k", std::nullopt);
  ASSERT_TRUE(reader);
  EXPECT_EQ((*reader)->size(), 5u);
  char buf[8];
  EXPECT_FALSE((*reader)->read(buf));
  EXPECT_FALSE((*reader)->read(buf));  // recorded once
  EXPECT_EQ(metrics.storage_call("get").errors(), 0u);
  EXPECT_EQ(metrics.storage_call("get_stream").calls(), 1u);
  EXPECT_EQ(metrics.storage_call("get_stream").errors(), 1u);
  // A reader dropped before its end records nothing.
  inner.read_fail.reset();
  { auto dropped = store.get("k", std::nullopt); }
  EXPECT_EQ(metrics.storage_call("get_stream").calls(), 1u);
}

// The decorator keeps the ObjectStore contract: the whole suite, through it, on a directory.
class InstrumentedFsBackend final : public ContractBackend {
 public:
  InstrumentedFsBackend()
      : root_(make_temp_dir()),
        fs_(root_ / "root", signer_),
        store_(fs_, metrics_) {}
  ~InstrumentedFsBackend() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  ObjectStore& store() override { return store_; }
  // What the /blob route does with a PUT, straight to the directory store (parts are written by
  // Coffer's /blob route, not through the ObjectStore interface).
  Result<std::string> put_part(const PresignedUrl& url, std::string_view body) override {
    auto u = boost::urls::parse_uri(url.url);
    if (!u || !u->path().starts_with(kBlobPathPrefix)) return Error::BadRequest("not a blob URL");
    std::map<std::string, std::string> query;
    for (auto p : u->params()) query[p.key] = p.value;
    COFFER_TRY(BlobGrant grant, signer_.verify("PUT", u->path().substr(kBlobPathPrefix.size()), query,
                                               std::chrono::system_clock::now()));
    if (grant.upload_id.empty() || grant.content_length != body.size()) {
      return Error::Forbidden("refused");
    }
    StringSource source(body);
    return fs_.write_part(grant, source);
  }

 private:
  static fs::path make_temp_dir() {
    std::string tmpl = (fs::temp_directory_path() / "coffer-instrumented-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    return tmpl;
  }

  fs::path root_;
  Metrics metrics_;
  const BlobSigner signer_{std::string(32, 's'), "http://127.0.0.1:8080"};
  FsObjectStore fs_;
  InstrumentedObjectStore store_;
};

INSTANTIATE_TEST_SUITE_P(InstrumentedFs, ObjectStoreContract,
                         ::testing::Values(ContractBackendFactory{
                             "instrumented_fs",
                             [] { return std::make_unique<InstrumentedFsBackend>(); }}),
                         testing::ContractBackendName);

}  // namespace
}  // namespace coffer::storage
