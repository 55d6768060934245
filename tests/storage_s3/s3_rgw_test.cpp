// What only a real S3 server can show: signatures and presigned URLs checked by RGW and used by
// clients Coffer did not write (curl, awscli), multipart uploads, the key prefix, keep-alive, and
// faults (a closed port, a silent server, the server vanishing mid-upload).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "core/crypto.h"
#include "core/encoding.h"
#include "s3_test_env.h"
#include "storage/s3/sigv4.h"
#include "tcp_proxy.h"

namespace coffer::storage::testing {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
constexpr std::size_t kMiB = 1024 * 1024;

std::string pattern(std::size_t n, std::uint32_t seed) {
  std::string out(n, '\0');
  std::uint32_t x = seed * 2654435761u + 1;
  for (auto& c : out) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c = static_cast<char>(x & 0xff);
  }
  return out;
}

// Hands out its bytes in chunks, never saying how many there are in all.
class ChunkSource final : public ByteSource {
 public:
  explicit ChunkSource(std::string_view data, std::size_t chunk = 256 * 1024)
      : data_(data), chunk_(chunk) {}
  Result<std::size_t> read(std::span<char> out) override {
    const std::size_t n = std::min({out.size(), data_.size(), chunk_});
    std::copy_n(data_.data(), n, out.data());
    data_.remove_prefix(n);
    delivered_ += n;
    if (after_ && delivered_ >= after_bytes_) {
      auto f = std::move(after_);
      after_ = nullptr;
      f();
    }
    return n;
  }
  // Runs `f` once, on the reading thread, when `bytes` have been handed out.
  void on_delivered(std::size_t bytes, std::function<void()> f) {
    after_bytes_ = bytes;
    after_ = std::move(f);
  }

 private:
  std::string_view data_;
  std::size_t chunk_;
  std::size_t delivered_ = 0;
  std::size_t after_bytes_ = 0;
  std::function<void()> after_;
};

Result<PutResult> put_string(ObjectStore& store, const std::string& key, std::string_view data,
                             std::optional<std::uint64_t> size = std::nullopt) {
  ChunkSource source(data);
  PutOptions options;
  options.size = size;
  return store.put(key, source, options);
}

Result<std::string> get_string(ObjectStore& store, const std::string& key) {
  COFFER_TRY(auto reader, store.get(key, std::nullopt));
  return read_all(*reader);
}

class TempFile {
 public:
  TempFile() {
    path_ = fs::temp_directory_path() / ("coffer-s3-test-" + hex_encode(random_bytes(8)));
  }
  explicit TempFile(std::string_view content) : TempFile() {
    std::ofstream(path_, std::ios::binary) << content;
  }
  ~TempFile() {
    std::error_code ec;
    fs::remove(path_, ec);
  }
  const fs::path& path() const { return path_; }
  std::string read() const {
    std::ifstream in(path_, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

 private:
  fs::path path_;
};

// curl's status code for a request, with its body written to `body_file` (or discarded).
int curl_status(const std::string& args, const fs::path* body_file = nullptr) {
  const std::string out = body_file ? shell_quote(body_file->string()) : "/dev/null";
  auto r = run_command("curl -sS -o " + out + " -w '%{http_code}' " + args);
  return r.status == 0 ? std::atoi(r.out.c_str()) : -r.status;
}

std::string header_args(const std::map<std::string, std::string>& headers) {
  std::string out;
  for (const auto& [name, value] : headers) {
    if (name == "Content-Length") continue;  // curl sets it from the body
    out += " -H " + shell_quote(name + ": " + value);
  }
  return out;
}

PresignRequest presign_get_request(const std::string& key, std::chrono::seconds expires = 300s) {
  PresignRequest r;
  r.method = PresignMethod::kGet;
  r.key = key;
  r.expires_in = expires;
  r.now = std::chrono::system_clock::now();
  return r;
}

class S3RgwTest : public ::testing::Test {
 protected:
  S3Backend backend_;
  S3ObjectStore& store() { return backend_.s3_store(); }
};

// ---- presigned URLs, checked by RGW, used by curl -----------------------------------------

TEST_F(S3RgwTest, PresignedGetServesTheObjectToCurlWithoutCredentials) {
  const std::string data = pattern(300 * 1024 + 7, 1);
  ASSERT_TRUE(put_string(store(), "t1/report", data).has_value());
  PresignRequest request = presign_get_request("t1/report");
  request.response_content_disposition = "attachment; filename*=UTF-8''q1%20report.pdf";
  auto url = store().presign(request);
  ASSERT_TRUE(url.has_value()) << url.error().detail;

  TempFile body;
  TempFile headers;
  EXPECT_EQ(curl_status("-D " + shell_quote(headers.path().string()) + " " + shell_quote(url->url),
                        &body.path()),
            200);
  EXPECT_TRUE(body.read() == data);
  EXPECT_NE(headers.read().find("attachment; filename*=UTF-8''q1%20report.pdf"), std::string::npos)
      << headers.read();
}

TEST_F(S3RgwTest, PresignedGetWorksForAwkwardKeys) {
  for (const std::string key :
       {"t/with space+plus%25&=?#", "t/caf\xC3\xA9/\xF0\x9F\x98\x80", "t/~*'()!"}) {
    ASSERT_TRUE(put_string(store(), key, "content of " + key).has_value()) << key;
    auto url = store().presign(presign_get_request(key));
    ASSERT_TRUE(url.has_value());
    TempFile body;
    EXPECT_EQ(curl_status(shell_quote(url->url), &body.path()), 200) << key << " " << url->url;
    EXPECT_EQ(body.read(), "content of " + key);
  }
}

TEST_F(S3RgwTest, ExpiredPresignedUrlIsRefused) {
  ASSERT_TRUE(put_string(store(), "t/old", "bytes").has_value());
  PresignRequest request = presign_get_request("t/old", 60s);
  request.now = std::chrono::system_clock::now() - 120s;
  auto url = store().presign(request);
  ASSERT_TRUE(url.has_value());
  EXPECT_EQ(curl_status(shell_quote(url->url)), 403);

  // And one that expires while the test watches (signed times are whole seconds: a 3 s URL
  // lives 2-3 s).
  auto short_lived = store().presign(presign_get_request("t/old", 3s));
  ASSERT_TRUE(short_lived.has_value());
  EXPECT_EQ(curl_status(shell_quote(short_lived->url)), 200);
  std::this_thread::sleep_until(short_lived->expires_at + 1100ms);
  EXPECT_EQ(curl_status(shell_quote(short_lived->url)), 403);
}

TEST_F(S3RgwTest, TamperedPresignedUrlsAreRefused) {
  ASSERT_TRUE(put_string(store(), "t/a", "secret a").has_value());
  ASSERT_TRUE(put_string(store(), "t/b", "secret b").has_value());
  auto url = store().presign(presign_get_request("t/a"));
  ASSERT_TRUE(url.has_value());
  const std::string& u = url->url;
  ASSERT_EQ(curl_status(shell_quote(u)), 200);

  // The signature changed.
  std::string bad_signature = u;
  char& last = bad_signature.back();
  last = last == '0' ? '1' : '0';
  EXPECT_EQ(curl_status(shell_quote(bad_signature)), 403);

  // Another key under the same signature.
  std::string other_key = u;
  other_key.replace(other_key.find("/t/a?"), 5, "/t/b?");
  EXPECT_EQ(curl_status(shell_quote(other_key)), 403);

  // A longer lifetime than signed.
  std::string longer = u;
  longer.replace(longer.find("X-Amz-Expires=300"), 17, "X-Amz-Expires=600");
  EXPECT_EQ(curl_status(shell_quote(longer)), 403);

  // Another method: the GET URL used to overwrite or to delete.
  EXPECT_EQ(curl_status("-X PUT --data-binary evil " + shell_quote(u)), 403);
  EXPECT_EQ(curl_status("-X DELETE " + shell_quote(u)), 403);
  EXPECT_EQ(get_string(store(), "t/a").value(), "secret a");

  // No signature at all.
  EXPECT_EQ(curl_status(shell_quote(u.substr(0, u.find('?')))), 403);
}

TEST_F(S3RgwTest, PresignedPutIsBoundToSizeTypeAndChecksum) {
  const std::string data = pattern(64 * 1024, 3);
  PresignRequest request;
  request.method = PresignMethod::kPut;
  request.key = "t/uploaded";
  request.now = std::chrono::system_clock::now();
  request.expires_in = 300s;
  request.content_length = data.size();
  request.content_type = "application/pdf";
  request.sha256 = sha256_hex(data);
  auto url = store().presign(request);
  ASSERT_TRUE(url.has_value()) << url.error().detail;
  EXPECT_EQ(url->headers.at("Content-Type"), "application/pdf");
  EXPECT_EQ(url->headers.at("Content-Length"), std::to_string(data.size()));

  // Other bytes of the same length: the checksum does not match.
  TempFile wrong(pattern(data.size(), 4));
  EXPECT_EQ(curl_status("-X PUT --data-binary @" + shell_quote(wrong.path().string()) +
                        header_args(url->headers) + " " + shell_quote(url->url)),
            400);
  EXPECT_EQ(store().head("t/uploaded").error().code, ErrorCode::kNotFound);
  // Another length.
  TempFile longer(data + "x");
  EXPECT_EQ(curl_status("-X PUT --data-binary @" + shell_quote(longer.path().string()) +
                        header_args(url->headers) + " " + shell_quote(url->url)),
            403);
  // Another type.
  auto other_type = url->headers;
  other_type["Content-Type"] = "text/html";
  TempFile right(data);
  EXPECT_EQ(curl_status("-X PUT --data-binary @" + shell_quote(right.path().string()) +
                        header_args(other_type) + " " + shell_quote(url->url)),
            403);
  EXPECT_EQ(store().head("t/uploaded").error().code, ErrorCode::kNotFound);

  // The declared bytes, as declared.
  EXPECT_EQ(curl_status("-X PUT --data-binary @" + shell_quote(right.path().string()) +
                        header_args(url->headers) + " " + shell_quote(url->url)),
            200);
  EXPECT_TRUE(get_string(store(), "t/uploaded").value() == data);
  auto head = store().client().head_object(store().key_prefix() + "t/uploaded");
  ASSERT_TRUE(head.has_value());
  EXPECT_EQ(head->content_type, "application/pdf");
}

// ---- refused streaming PUTs: the request is cut before its last bytes ------------------------

// A streamed PUT of a known size holds its last chunk back until every check passed; when one
// fails, the connection is closed with the body incomplete and RGW stores nothing.
class S3StreamingPutTest : public S3RgwTest {
 protected:
  const std::string old_ = pattern(1000, 30);
  const std::string data_ = pattern(5 * kMiB + 11, 31);  // five 1 MiB chunks and a bit
  void SetUp() override { ASSERT_TRUE(put_string(store(), "t/keep", old_).has_value()); }
  void expect_unchanged() {
    EXPECT_EQ(get_string(store(), "t/keep").value(), old_);
    EXPECT_TRUE(store().client().list_multipart_uploads(store().key_prefix())->empty());
  }
};

TEST_F(S3StreamingPutTest, ChecksumMismatchStoresNothing) {
  ChunkSource source(data_);
  PutOptions options;
  options.size = data_.size();
  options.expected_sha256 = sha256_hex("something else");
  auto put = store().put("t/keep", source, options);
  ASSERT_FALSE(put.has_value());
  EXPECT_EQ(put.error().code, ErrorCode::kBadRequest);
  expect_unchanged();
}

TEST_F(S3StreamingPutTest, SourceFailingMidwayStoresNothing) {
  class Failing final : public ByteSource {
   public:
    explicit Failing(std::string_view data) : data_(data) {}
    Result<std::size_t> read(std::span<char> out) override {
      if (data_.size() < 2 * kMiB) return Error::BadRequest("the client went away");
      const std::size_t n = std::min(out.size(), data_.size());
      std::copy_n(data_.data(), n, out.data());
      data_.remove_prefix(n);
      return n;
    }

   private:
    std::string_view data_;
  } source(data_);
  PutOptions options;
  options.size = data_.size();
  auto put = store().put("t/keep", source, options);
  ASSERT_FALSE(put.has_value());
  EXPECT_EQ(put.error().message, "the client went away");
  expect_unchanged();
}

TEST_F(S3StreamingPutTest, BodyLongerOrShorterThanDeclaredStoresNothing) {
  for (std::uint64_t declared : {data_.size() - 1, data_.size() + 1}) {
    ChunkSource source(data_);
    PutOptions options;
    options.size = declared;
    auto put = store().put("t/keep", source, options);
    ASSERT_FALSE(put.has_value()) << declared;
    EXPECT_EQ(put.error().code, ErrorCode::kBadRequest);
    expect_unchanged();
  }
}

TEST_F(S3StreamingPutTest, BodyOverMaxBytesStoresNothing) {
  ChunkSource source(data_);
  PutOptions options;
  options.max_bytes = 3 * kMiB;  // no declared size: found out while streaming
  auto put = store().put("t/keep", source, options);
  ASSERT_FALSE(put.has_value());
  EXPECT_EQ(put.error().code, ErrorCode::kPayloadTooLarge);
  expect_unchanged();
}

TEST_F(S3StreamingPutTest, AcceptedBodyReplacesTheObject) {
  ChunkSource source(data_);
  PutOptions options;
  options.size = data_.size();
  options.expected_sha256 = sha256_hex(data_);
  auto put = store().put("t/keep", source, options);
  ASSERT_TRUE(put.has_value()) << put.error().detail;
  EXPECT_TRUE(get_string(store(), "t/keep").value() == data_);
}

// ---- direct multipart transfers (presigned parts) -------------------------------------------

TEST_F(S3RgwTest, PresignedPartsUploadedByCurlCompleteIntoTheObject) {
  auto& client = store().client();
  const std::string key = store().key_prefix() + "t/direct";
  const std::string part1 = pattern(5 * kMiB, 5);
  const std::string part2 = pattern(1234, 6);
  auto upload_id = client.create_multipart_upload(key, {"application/octet-stream"});
  ASSERT_TRUE(upload_id.has_value()) << upload_id.error().detail;

  std::vector<s3::CompletedPart> parts;
  int number = 0;
  for (const std::string* part : {&part1, &part2}) {
    ++number;
    auto url = client.presign_upload_part(key, *upload_id, number,
                                          {std::chrono::system_clock::now(), 300s}, part->size());
    ASSERT_TRUE(url.has_value()) << url.error().detail;
    TempFile file(*part);
    TempFile headers;
    ASSERT_EQ(curl_status("-X PUT --data-binary @" + shell_quote(file.path().string()) + " -D " +
                          shell_quote(headers.path().string()) + " " + shell_quote(url->url)),
              200);
    const std::string h = headers.read();
    const auto at = h.find("ETag: ");
    ASSERT_NE(at, std::string::npos) << h;
    parts.push_back({number, h.substr(at + 6, h.find('\r', at) - at - 6)});
  }
  auto listed = client.list_parts(key, *upload_id);
  ASSERT_TRUE(listed.has_value()) << listed.error().detail;
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].size, part1.size());
  EXPECT_EQ((*listed)[1].etag, parts[1].etag);

  // A wrong ETag is the client's mistake.
  auto wrong =
      client.complete_multipart_upload(key, *upload_id, {{1, parts[0].etag}, {2, "\"0000\""}});
  ASSERT_FALSE(wrong.has_value());
  EXPECT_EQ(wrong.error().code, ErrorCode::kBadRequest) << wrong.error().detail;

  auto etag = client.complete_multipart_upload(key, *upload_id, parts);
  ASSERT_TRUE(etag.has_value()) << etag.error().detail;
  EXPECT_TRUE(etag->ends_with("-2\"")) << *etag;  // fetched by HEAD: RGW's answer has none
  EXPECT_TRUE(get_string(store(), "t/direct").value() == part1 + part2);
}

TEST_F(S3RgwTest, AbortedUploadKeepsNothingAndItsPartUrlsNoLongerWork) {
  auto& client = store().client();
  const std::string key = store().key_prefix() + "t/aborted";
  auto upload_id = client.create_multipart_upload(key);
  ASSERT_TRUE(upload_id.has_value());
  ASSERT_TRUE(client.upload_part(key, *upload_id, 1, pattern(1000, 7)).has_value());
  auto url = client.presign_upload_part(key, *upload_id, 2,
                                        {std::chrono::system_clock::now(), 300s}, std::nullopt);
  ASSERT_TRUE(url.has_value());
  ASSERT_TRUE(client.abort_multipart_upload(key, *upload_id).has_value());
  EXPECT_TRUE(client.abort_multipart_upload(key, *upload_id).has_value()) << "idempotent";
  EXPECT_EQ(client.list_parts(key, *upload_id).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(curl_status("-X PUT --data-binary late " + shell_quote(url->url)), 404);
  EXPECT_EQ(store().head("t/aborted").error().code, ErrorCode::kNotFound);
}

// The collector's sweep of stale multipart uploads spares the keys something still references (a
// direct upload in progress may be much older than the upload TTL) and aborts the others.
TEST_F(S3RgwTest, StaleUploadSweepSparesReferencedKeys) {
  auto live = store().begin_upload("t/live-direct", "application/octet-stream", 10, 10);
  auto left = store().begin_upload("t/left-behind", "application/octet-stream", 10, 10);
  ASSERT_TRUE(live.has_value() && left.has_value());
  std::vector<std::string> asked;
  auto aborted = store().abort_stale_uploads(
      std::chrono::system_clock::now() + 1h,
      [&](const std::vector<std::string>& keys) -> Result<std::vector<std::string>> {
        asked = keys;
        return std::vector<std::string>{"t/live-direct"};
      });
  ASSERT_TRUE(aborted.has_value()) << aborted.error().detail;
  EXPECT_EQ(*aborted, 1);
  EXPECT_THAT(asked, ::testing::UnorderedElementsAre("t/live-direct", "t/left-behind"));
  EXPECT_TRUE(store().list_upload_parts("t/live-direct", *live).has_value());
  EXPECT_EQ(store().list_upload_parts("t/left-behind", *left).error().code, ErrorCode::kNotFound);
  // Begun after `older_than`: not even asked about.
  asked.clear();
  auto young = store().abort_stale_uploads(
      std::chrono::system_clock::now() - 1h,
      [&](const std::vector<std::string>& keys) -> Result<std::vector<std::string>> {
        asked = keys;
        return std::vector<std::string>{};
      });
  ASSERT_TRUE(young.has_value());
  EXPECT_EQ(*young, 0);
  EXPECT_TRUE(asked.empty());
  EXPECT_TRUE(store().abort_upload("t/live-direct", *live).has_value());
}

// ---- what Coffer wrote, read by other clients -----------------------------------------------

TEST_F(S3RgwTest, AwsCliReadsBackWhatCofferWrote) {
  const std::string single = pattern(3 * kMiB + 5, 8);
  const std::string multi = pattern(11 * kMiB + 3, 9);
  ASSERT_TRUE(put_string(store(), "t/single", single, single.size()).has_value());
  ASSERT_TRUE(put_string(store(), "t/multi", multi).has_value());  // unknown length: multipart

  const S3TestEnv& env = s3_test_env();
  for (auto [key, data] : {std::pair{"t/single", &single}, std::pair{"t/multi", &multi}}) {
    TempFile out;
    auto r =
        run_command("env AWS_ACCESS_KEY_ID=" + shell_quote(env.access_key_id) +
                    " AWS_SECRET_ACCESS_KEY=" + shell_quote(env.secret_access_key) +
                    " AWS_DEFAULT_REGION=" + shell_quote(env.region) +
                    " AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null /usr/bin/aws"
                    " --endpoint-url " +
                    shell_quote(env.endpoint) + " s3api get-object --bucket " +
                    shell_quote(env.bucket) + " --key " + shell_quote(store().key_prefix() + key) +
                    " " + shell_quote(out.path().string()) + " 2>&1");
    ASSERT_EQ(r.status, 0) << r.out;
    EXPECT_EQ(sha256_hex(out.read()), sha256_hex(*data)) << key;
  }
}

// ---- multipart, prefix ----------------------------------------------------------------------

TEST_F(S3RgwTest, UnknownLengthBodyGoesMultipartInSeveralParts) {
  const std::string data = pattern(12 * kMiB + 7, 10);  // 5 MiB parts: 3 parts
  auto put = put_string(store(), "t/big", data);
  ASSERT_TRUE(put.has_value()) << put.error().detail;
  EXPECT_EQ(put->sha256, sha256_hex(data));
  auto head = store().client().head_object(store().key_prefix() + "t/big");
  ASSERT_TRUE(head.has_value());
  EXPECT_TRUE(head->etag.ends_with("-3\"")) << head->etag;
  auto reader = store().get("t/big", std::nullopt);
  ASSERT_TRUE(reader.has_value());
  Sha256 hash;
  std::vector<char> buffer(1 << 20);
  for (;;) {
    auto n = (*reader)->read(buffer);
    ASSERT_TRUE(n.has_value());
    if (*n == 0) break;
    hash.update(std::string_view(buffer.data(), *n));
  }
  EXPECT_EQ(hex_encode(hash.finish()), sha256_hex(data));
  auto uploads = store().client().list_multipart_uploads(store().key_prefix());
  ASSERT_TRUE(uploads.has_value());
  EXPECT_TRUE(uploads->empty()) << "the upload was completed, not left open";
}

TEST_F(S3RgwTest, KnownSizeAboveTheThresholdGoesMultipartToo) {
  store().client().set_multipart_threshold(6 * kMiB);
  const std::string data = pattern(7 * kMiB, 11);
  auto put = put_string(store(), "t/sized", data, data.size());
  ASSERT_TRUE(put.has_value()) << put.error().detail;
  EXPECT_TRUE(
      store().client().head_object(store().key_prefix() + "t/sized")->etag.ends_with("-2\""));
  // A body shorter than declared is refused and its upload aborted.
  auto shorter = put_string(store(), "t/short", data.substr(0, 6 * kMiB), data.size());
  ASSERT_FALSE(shorter.has_value());
  EXPECT_EQ(shorter.error().code, ErrorCode::kBadRequest);
  EXPECT_EQ(store().head("t/short").error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(store().client().list_multipart_uploads(store().key_prefix())->empty());
}

TEST_F(S3RgwTest, EveryObjectLiesUnderTheKeyPrefix) {
  const std::string tenant_a = "0a1b2c3d4e5f60718293a4b5";
  const std::string tenant_b = "f0e1d2c3b4a5968778695a4b";
  ASSERT_TRUE(put_string(store(), tenant_a + "/f1", "a1").has_value());
  ASSERT_TRUE(put_string(store(), tenant_a + "/f2", pattern(6 * kMiB, 12)).has_value());
  ASSERT_TRUE(put_string(store(), tenant_b + "/f1", "b1").has_value());

  // Raw listing of the whole test area: every key of this store starts with its prefix.
  const std::string prefix = store().key_prefix();
  const std::string marker = prefix.substr(prefix.find('/') + 1);  // "<random>/"
  s3::ListObjectsRequest all;
  all.prefix = "coffer-test/";
  std::vector<std::string> ours;
  for (;;) {
    auto page = store().client().list_objects_v2(all);
    ASSERT_TRUE(page.has_value());
    for (const auto& o : page->objects) {
      if (o.key.find(marker.substr(0, marker.size() - 1)) != std::string::npos)
        ours.push_back(o.key);
    }
    if (!page->is_truncated) break;
    all.continuation_token = page->next_continuation_token;
  }
  EXPECT_EQ(ours, (std::vector<std::string>{prefix + tenant_a + "/f1", prefix + tenant_a + "/f2",
                                            prefix + tenant_b + "/f1"}));
  // The store sees its keys without the prefix, one tenant at a time.
  auto listed = store().list(tenant_a + "/", "", 100);
  ASSERT_TRUE(listed.has_value());
  ASSERT_EQ(listed->objects.size(), 2u);
  EXPECT_EQ(listed->objects[0].key, tenant_a + "/f1");
  // Presigned URLs point under the prefix too.
  auto url = store().presign(presign_get_request(tenant_b + "/f1"));
  EXPECT_NE(url->url.find("/" + prefix + tenant_b + "/f1?"), std::string::npos) << url->url;
}

TEST_F(S3RgwTest, ConnectionsAreKeptAliveAndReused) {
  ASSERT_TRUE(put_string(store(), "t/k", "v").has_value());
  const auto before = store().client().stats();
  for (int i = 0; i < 30; ++i) {
    ASSERT_TRUE(store().head("t/k").has_value());
    ASSERT_EQ(get_string(store(), "t/k").value(), "v");
  }
  const auto after = store().client().stats();
  EXPECT_EQ(after.requests_sent - before.requests_sent, 60u);
  EXPECT_LE(after.connections_opened - before.connections_opened, 1u);
}

TEST_F(S3RgwTest, ReaderDroppedMidBodyDoesNotPoisonThePool) {
  ASSERT_TRUE(put_string(store(), "t/long", pattern(4 * kMiB, 13)).has_value());
  for (int i = 0; i < 5; ++i) {
    auto reader = store().get("t/long", std::nullopt);
    ASSERT_TRUE(reader.has_value());
    char buffer[1000];
    ASSERT_TRUE((*reader)->read(buffer).has_value());
  }  // each dropped with most of its body unread: its connection must be closed, not reused
  EXPECT_EQ(get_string(store(), "t/long").value(), pattern(4 * kMiB, 13));
  EXPECT_TRUE(store().head("t/long").has_value());
}

// ---- temporary credentials ----------------------------------------------------------------

// Credentials of an assumed role, from RGW's STS: a role made with radosgw-admin, assumed with
// boto3 as the test user.
s3::Credentials assume_role() {
  const char* ceph_conf = std::getenv("CEPH_CONF");
  if (ceph_conf == nullptr) throw std::runtime_error("CEPH_CONF is not set");
  const std::string role = "coffer-test-" + hex_encode(random_bytes(4));
  const std::string conf = shell_quote(ceph_conf);
  auto made = run_command(
      "radosgw-admin -c " + conf + " role create --role-name=" + role +
      " --assume-role-policy-doc='{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":"
      "\"Allow\",\"Principal\":{\"AWS\":[\"arn:aws:iam:::user/tester\"]},\"Action\":"
      "[\"sts:AssumeRole\"]}]}' >/dev/null 2>&1 && radosgw-admin -c " +
      conf + " role-policy put --role-name=" + role +
      " --policy-name=s3 --policy-doc='{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":"
      "\"Allow\",\"Action\":[\"s3:*\"],\"Resource\":[\"arn:aws:s3:::*\"]}]}' 2>&1");
  if (made.status != 0) throw std::runtime_error("radosgw-admin failed: " + made.out);
  const S3TestEnv& env = s3_test_env();
  auto assumed = run_command(
      "env AWS_ACCESS_KEY_ID=" + shell_quote(env.access_key_id) +
      " AWS_SECRET_ACCESS_KEY=" + shell_quote(env.secret_access_key) +
      " AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null /usr/bin/python3 -c " +
      shell_quote(
          "import boto3\n"
          "sts = boto3.client('sts', endpoint_url='" +
          env.endpoint + "', region_name='" + env.region +
          "')\n"
          "c = sts.assume_role(RoleArn='arn:aws:iam:::role/" +
          role +
          "', RoleSessionName='coffer', DurationSeconds=3600)['Credentials']\n"
          "print(c['AccessKeyId']); print(c['SecretAccessKey']); print(c['SessionToken'])\n") +
      " 2>&1");
  std::istringstream lines(assumed.out);
  s3::Credentials creds;
  std::getline(lines, creds.access_key_id);
  std::getline(lines, creds.secret_access_key);
  std::getline(lines, creds.session_token);
  if (assumed.status != 0 || creds.session_token.empty()) {
    throw std::runtime_error("assume_role failed: " + assumed.out);
  }
  return creds;
}

TEST(S3Sts, SessionTokenSignsRequestsAndPresignedUrls) {
  const s3::Credentials creds = assume_role();
  S3Config config = s3_test_config();
  config.access_key_id = creds.access_key_id;
  config.secret_access_key = creds.secret_access_key;
  config.session_token = creds.session_token;
  S3Backend backend(config);
  ObjectStore& store = backend.store();
  ASSERT_TRUE(put_string(store, "t/sts", "temporary").has_value());
  EXPECT_EQ(get_string(store, "t/sts").value(), "temporary");
  auto url = store.presign(presign_get_request("t/sts"));
  ASSERT_TRUE(url.has_value());
  EXPECT_NE(url->url.find("X-Amz-Security-Token="), std::string::npos);
  TempFile body;
  EXPECT_EQ(curl_status(shell_quote(url->url), &body.path()), 200);
  EXPECT_EQ(body.read(), "temporary");

  // Without its token the temporary key is refused.
  S3Config no_token = config;
  no_token.session_token.clear();
  S3ObjectStore bare(no_token, {s3_test_env().bucket, backend.s3_store().key_prefix()});
  auto head = bare.head("t/sts");
  ASSERT_FALSE(head.has_value());
  EXPECT_EQ(head.error().code, ErrorCode::kInternal) << head.error().detail;
}

// ---- faults -----------------------------------------------------------------------------

std::uint16_t closed_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

template <class F>
std::chrono::milliseconds timed(F&& f) {
  const auto start = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               start);
}

void expect_unavailable(const Error& e) {
  EXPECT_EQ(e.code, ErrorCode::kStorageUnavailable) << e.detail;
  EXPECT_GT(e.retry_after_seconds, 0);
}

TEST(S3Faults, ClosedPortFailsQuicklyWithStorageUnavailable) {
  S3Config config = s3_test_config();
  config.endpoint_url = "http://127.0.0.1:" + std::to_string(closed_port());
  S3ObjectStore store(config, {s3_test_env().bucket, "coffer-test/closed/"});
  const std::string data = pattern(2 * kMiB, 14);
  auto elapsed = timed([&] {
    auto check = store.check();
    ASSERT_FALSE(check.has_value());
    expect_unavailable(check.error());
    expect_unavailable(store.head("t/x").error());
    expect_unavailable(store.get("t/x", std::nullopt).error());
    expect_unavailable(store.list("", "", 10).error());
    expect_unavailable(store.remove("t/x").error());
    expect_unavailable(store.remove_many({"t/x", "t/y"}).error());
    expect_unavailable(put_string(store, "t/x", data, data.size()).error());
    expect_unavailable(put_string(store, "t/x", data).error());
  });
  // Eight calls, each with three attempts and jittered backoff (50-300 ms in all).
  EXPECT_LT(elapsed, 8 * 1500ms);
  EXPECT_GE(store.client().stats().retries, 8u * 2);
  // Presigning needs no server.
  EXPECT_TRUE(store.presign(presign_get_request("t/x")).has_value());
}

TEST(S3Faults, ServerThatNeverAnswersTimesOut) {
  // A listener that accepts connections (the kernel does) but never says a word.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 64), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);

  S3Config config = s3_test_config();
  config.endpoint_url = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  config.request_timeout = 1s;
  S3ObjectStore store(config, {s3_test_env().bucket, "coffer-test/silent/"});
  auto elapsed = timed([&] { expect_unavailable(store.head("t/x").error()); });
  // The retry budget (request_timeout) stops new attempts; the one running ends at its timeout.
  EXPECT_LT(elapsed, 3s);
  EXPECT_GE(elapsed, 900ms);
  ::close(fd);
}

class S3ProxyTest : public ::testing::Test {
 protected:
  S3ProxyTest() {
    const std::string& endpoint = s3_test_env().endpoint;
    const auto port =
        static_cast<std::uint16_t>(std::stoi(endpoint.substr(endpoint.rfind(':') + 1)));
    proxy_ = std::make_unique<TcpProxy>("127.0.0.1", port);
    S3Config config = s3_test_config();
    config.endpoint_url = "http://127.0.0.1:" + std::to_string(proxy_->port());
    config.request_timeout = 3s;
    via_proxy_ = std::make_unique<S3ObjectStore>(
        config, S3StorageUrl{s3_test_env().bucket, direct_.s3_store().key_prefix()});
  }

  S3Backend direct_;
  std::unique_ptr<TcpProxy> proxy_;
  std::unique_ptr<S3ObjectStore> via_proxy_;
};

TEST_F(S3ProxyTest, ServerGoneMidStreamingPutLeavesNoObject) {
  const std::string data = pattern(20 * kMiB, 15);
  ChunkSource source(data);
  source.on_delivered(8 * kMiB, [&] { proxy_->cut(); });
  PutOptions options;
  options.size = data.size();  // under the multipart threshold: one streaming PUT
  Result<PutResult> put = Error::Internal("not run");
  auto elapsed = timed([&] { put = via_proxy_->put("t/cut", source, options); });
  ASSERT_FALSE(put.has_value());
  expect_unavailable(put.error());
  EXPECT_LT(elapsed, 10s);
  EXPECT_EQ(direct_.store().head("t/cut").error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(direct_.store().list("", "", 10)->objects.empty());
}

TEST_F(S3ProxyTest, ServerGoneMidMultipartLeavesNoObjectAndCleanupRemovesTheParts) {
  const std::string data = pattern(20 * kMiB, 16);
  ChunkSource source(data);
  source.on_delivered(12 * kMiB, [&] { proxy_->cut(); });
  auto put = via_proxy_->put("t/cut", source, PutOptions{});  // unknown length: multipart
  ASSERT_FALSE(put.has_value());
  expect_unavailable(put.error());
  EXPECT_EQ(direct_.store().head("t/cut").error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(direct_.store().list("", "", 10)->objects.empty());

  // The abort could not reach the server either: the upload's parts remain, unseen, until the
  // cleanup that the collector runs.
  auto& s3_store = direct_.s3_store();
  auto pending = s3_store.client().list_multipart_uploads(s3_store.key_prefix());
  ASSERT_TRUE(pending.has_value());
  EXPECT_EQ(pending->size(), 1u);
  auto aborted = s3_store.abort_stale_uploads(std::chrono::system_clock::now() + 1h);
  ASSERT_TRUE(aborted.has_value()) << aborted.error().detail;
  EXPECT_EQ(*aborted, static_cast<int>(pending->size()));
  EXPECT_TRUE(s3_store.client().list_multipart_uploads(s3_store.key_prefix())->empty());
}

TEST_F(S3ProxyTest, StoreRecoversWhenTheServerComesBack) {
  ASSERT_TRUE(put_string(*via_proxy_, "t/before", "one").has_value());
  proxy_->cut();
  expect_unavailable(via_proxy_->head("t/before").error());
  expect_unavailable(via_proxy_->check().error());
  proxy_->resume();
  // Same store, no restart: dead pooled connections are dropped and new ones made.
  ASSERT_TRUE(via_proxy_->check().has_value());
  EXPECT_EQ(get_string(*via_proxy_, "t/before").value(), "one");
  ASSERT_TRUE(put_string(*via_proxy_, "t/after", "two").has_value());
  EXPECT_EQ(get_string(direct_.store(), "t/after").value(), "two");
}

TEST_F(S3ProxyTest, ServerGoneMidGetFailsTheReadNotTheProcess) {
  const std::string data = pattern(16 * kMiB, 17);
  ASSERT_TRUE(put_string(direct_.store(), "t/get", data, data.size()).has_value());
  auto reader = via_proxy_->get("t/get", std::nullopt);
  ASSERT_TRUE(reader.has_value());
  std::vector<char> buffer(kMiB);
  ASSERT_TRUE((*reader)->read(buffer).has_value());
  proxy_->cut();
  Result<std::size_t> n = std::size_t{1};
  while (n && *n > 0) n = (*reader)->read(buffer);
  ASSERT_FALSE(n.has_value()) << "a body cut short must not look like its end";
  expect_unavailable(n.error());
}

TEST_F(S3ProxyTest, GetResumesWhereABrokenConnectionLeftOff) {
  const std::string data = pattern(16 * kMiB, 18);
  ASSERT_TRUE(put_string(direct_.store(), "t/get", data, data.size()).has_value());
  auto reader = via_proxy_->get("t/get", ByteRange{3, data.size() - 2});
  ASSERT_TRUE(reader.has_value());
  std::string got;
  std::vector<char> buffer(kMiB);
  auto n = (*reader)->read(buffer);
  ASSERT_TRUE(n.has_value());
  got.append(buffer.data(), *n);
  proxy_->cut();
  proxy_->resume();
  for (;;) {
    n = (*reader)->read(buffer);
    ASSERT_TRUE(n.has_value()) << n.error().detail;
    if (*n == 0) break;
    got.append(buffer.data(), *n);
  }
  EXPECT_TRUE(got == data.substr(3, data.size() - 4));
  EXPECT_GE(via_proxy_->client().stats().retries, 1u);
}

TEST_F(S3ProxyTest, GetDoesNotResumeIntoAnotherVersion) {
  const std::string first = pattern(16 * kMiB, 19);
  ASSERT_TRUE(put_string(direct_.store(), "t/get", first, first.size()).has_value());
  auto reader = via_proxy_->get("t/get", std::nullopt);
  ASSERT_TRUE(reader.has_value());
  std::vector<char> buffer(kMiB);
  ASSERT_TRUE((*reader)->read(buffer).has_value());
  const std::string second = pattern(16 * kMiB, 20);
  ASSERT_TRUE(put_string(direct_.store(), "t/get", second, second.size()).has_value());
  proxy_->cut();
  proxy_->resume();
  Result<std::size_t> n = std::size_t{1};
  while (n && *n > 0) n = (*reader)->read(buffer);
  ASSERT_FALSE(n.has_value()) << "the rest would have come from another version";
  EXPECT_NE(n.error().detail.find("412"), std::string::npos) << n.error().detail;
}

}  // namespace
}  // namespace coffer::storage::testing
