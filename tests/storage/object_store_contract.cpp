#include "storage/object_store_contract.h"

#include <gmock/gmock.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "core/crypto.h"

namespace coffer::storage::testing {

void ObjectStoreContract::SetUp() {
  backend_ = GetParam().make();
  // A backend whose server is missing fails: make test starts every server its tests need.
  ASSERT_TRUE(backend_) << "backend " << GetParam().name << " is not available here";
}

namespace {

// The value of `r`, or `fallback` when it holds an error (boost::system::result has no value_or).
template <class T, class U>
T value_or(const Result<T>& r, U&& fallback) {
  return r ? *r : T(std::forward<U>(fallback));
}


using namespace std::chrono_literals;

constexpr std::size_t kMiB = 1024 * 1024;

// Deterministic bytes that differ from position to position and from seed to seed.
std::string pattern(std::size_t n, std::uint32_t seed = 1) {
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

// Hands out `data` in chunks of awkward, varying sizes (never more than asked for).
class OddChunkSource final : public ByteSource {
 public:
  explicit OddChunkSource(std::string_view data) : data_(data) {}
  Result<std::size_t> read(std::span<char> out) override {
    static constexpr std::size_t kSizes[] = {1, 7, 4093, 65537, 13, 1000003, 3, 262147};
    std::size_t n = std::min({out.size(), data_.size(), kSizes[calls_++ % std::size(kSizes)]});
    std::copy_n(data_.data(), n, out.data());
    data_.remove_prefix(n);
    return n;
  }
  int calls() const { return calls_; }

 private:
  std::string_view data_;
  int calls_ = 0;
};

// Delivers `good` bytes of `data`, then fails as a client that went away would.
class FailingSource final : public ByteSource {
 public:
  FailingSource(std::string_view data, std::size_t good) : data_(data.substr(0, good)) {}
  Result<std::size_t> read(std::span<char> out) override {
    if (data_.empty()) return Error::BadRequest("the client went away");
    std::size_t n = std::min(out.size(), data_.size());
    std::copy_n(data_.data(), n, out.data());
    data_.remove_prefix(n);
    return n;
  }

 private:
  std::string_view data_;
};

Result<PutResult> put_string(ObjectStore& store, const std::string& key, std::string_view data,
                             PutOptions options = {}) {
  StringSource source(data);
  return store.put(key, source, options);
}

Result<std::string> get_string(ObjectStore& store, const std::string& key,
                               std::optional<ByteRange> range = std::nullopt) {
  COFFER_TRY(auto reader, store.get(key, range));
  const std::uint64_t announced = reader->size();
  COFFER_TRY(std::string bytes, read_all(*reader));
  if (bytes.size() != announced) return Error::Internal("reader size() differs from its bytes");
  return bytes;
}

std::vector<std::string> keys_of(const ObjectList& list) {
  std::vector<std::string> keys;
  for (const auto& o : list.objects) keys.push_back(o.key);
  return keys;
}

// Follows next_token to the end, checking each page's size.
std::vector<std::string> list_all(ObjectStore& store, const std::string& prefix, int max_keys) {
  std::vector<std::string> keys;
  std::string token;
  for (int pages = 0; pages < 10000; ++pages) {
    auto page = store.list(prefix, token, max_keys);
    EXPECT_TRUE(page.has_value()) << page.error().detail;
    if (!page) break;
    EXPECT_LE(page->objects.size(), static_cast<std::size_t>(max_keys));
    auto page_keys = keys_of(*page);
    keys.insert(keys.end(), page_keys.begin(), page_keys.end());
    if (page->next_token.empty()) break;
    EXPECT_FALSE(page->objects.empty()) << "a page that promises more must carry keys";
    token = page->next_token;
  }
  return keys;
}

void expect_round_trip(ObjectStore& store, const std::string& key, const std::string& data) {
  OddChunkSource source(data);
  PutOptions options;
  options.size = data.size();
  auto put = store.put(key, source, options);
  ASSERT_TRUE(put.has_value()) << put.error().detail;
  EXPECT_EQ(put->size, data.size());
  EXPECT_EQ(put->sha256, sha256_hex(data));
  auto got = get_string(store, key);
  ASSERT_TRUE(got.has_value()) << got.error().detail;
  EXPECT_TRUE(*got == data) << "content differs for key " << key;
  auto head = store.head(key);
  ASSERT_TRUE(head.has_value()) << head.error().detail;
  EXPECT_EQ(head->size, data.size());
}

void expect_absent(ObjectStore& store, const std::string& key) {
  auto head = store.head(key);
  ASSERT_FALSE(head.has_value()) << key << " exists";
  EXPECT_EQ(head.error().code, ErrorCode::kNotFound);
  auto get = store.get(key, std::nullopt);
  ASSERT_FALSE(get.has_value());
  EXPECT_EQ(get.error().code, ErrorCode::kNotFound);
  auto listed = store.list(key, "", 10);
  ASSERT_TRUE(listed.has_value());
  for (const auto& o : listed->objects) EXPECT_NE(o.key, key);
}

// --- put and get ---------------------------------------------------------------------------

TEST_P(ObjectStoreContract, EmptyObjectRoundTrips) {
  expect_round_trip(store(), "t/empty", "");
  auto reader = store().get("t/empty", std::nullopt);
  ASSERT_TRUE(reader.has_value());
  EXPECT_EQ((*reader)->size(), 0u);
}

TEST_P(ObjectStoreContract, OneByteObjectRoundTrips) { expect_round_trip(store(), "t/one", "x"); }

TEST_P(ObjectStoreContract, AllByteValuesRoundTrip) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  expect_round_trip(store(), "t/bytes", all);
}

TEST_P(ObjectStoreContract, MultiMebibyteObjectStreamsFromOddSizedChunks) {
  const std::string data = pattern(5 * kMiB + 3, 7);
  expect_round_trip(store(), "t/big", data);
}

TEST_P(ObjectStoreContract, PutReportsTheSha256OfTheBytes) {
  auto put = put_string(store(), "t/abc", "abc");
  ASSERT_TRUE(put.has_value());
  EXPECT_EQ(put->size, 3u);
  EXPECT_EQ(put->sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_P(ObjectStoreContract, PutWithoutADeclaredSizeStreamsToTheEnd) {
  const std::string data = pattern(2 * kMiB + 1, 3);
  OddChunkSource source(data);
  auto put = store().put("t/unsized", source, PutOptions{});
  ASSERT_TRUE(put.has_value()) << put.error().detail;
  EXPECT_EQ(put->size, data.size());
  EXPECT_EQ(get_string(store(), "t/unsized").value(), data);
}

// --- refused and failed puts leave nothing -------------------------------------------------

TEST_P(ObjectStoreContract, BodyOverMaxBytesIsRefusedAndNothingStored) {
  const std::string data = pattern(3 * kMiB, 2);
  OddChunkSource source(data);
  PutOptions options;
  options.max_bytes = 2 * kMiB;
  auto put = store().put("t/big", source, options);
  ASSERT_FALSE(put.has_value());
  EXPECT_EQ(put.error().code, ErrorCode::kPayloadTooLarge);
  expect_absent(store(), "t/big");
}

TEST_P(ObjectStoreContract, BodyOfExactlyMaxBytesIsAccepted) {
  PutOptions options;
  options.max_bytes = 5;
  auto put = put_string(store(), "t/five", "12345", options);
  ASSERT_TRUE(put.has_value()) << put.error().detail;
  auto over = put_string(store(), "t/six", "123456", options);
  ASSERT_FALSE(over.has_value());
  EXPECT_EQ(over.error().code, ErrorCode::kPayloadTooLarge);
  expect_absent(store(), "t/six");
}

TEST_P(ObjectStoreContract, DeclaredSizeOverMaxBytesIsRefused) {
  PutOptions options;
  options.size = 10;
  options.max_bytes = 9;
  auto put = put_string(store(), "t/declared", "0123456789", options);
  ASSERT_FALSE(put.has_value());
  EXPECT_EQ(put.error().code, ErrorCode::kPayloadTooLarge);
  expect_absent(store(), "t/declared");
}

TEST_P(ObjectStoreContract, ChecksumMismatchIsRefusedAndNothingStored) {
  PutOptions options;
  options.expected_sha256 = sha256_hex("something else");
  auto put = put_string(store(), "t/sum", pattern(1000), options);
  ASSERT_FALSE(put.has_value());
  EXPECT_EQ(put.error().code, ErrorCode::kBadRequest);
  expect_absent(store(), "t/sum");
}

TEST_P(ObjectStoreContract, MatchingChecksumIsAccepted) {
  const std::string data = pattern(kMiB + 17, 4);
  PutOptions options;
  options.expected_sha256 = sha256_hex(data);
  auto put = put_string(store(), "t/sum", data, options);
  ASSERT_TRUE(put.has_value()) << put.error().detail;
  EXPECT_EQ(put->sha256, *options.expected_sha256);
  EXPECT_EQ(get_string(store(), "t/sum").value(), data);
}

TEST_P(ObjectStoreContract, SourceFailingMidwayPassesItsErrorAndStoresNothing) {
  const std::string data = pattern(4 * kMiB, 5);
  FailingSource source(data, 3 * kMiB + 11);
  auto put = store().put("t/broken", source, PutOptions{});
  ASSERT_FALSE(put.has_value());
  EXPECT_EQ(put.error().code, ErrorCode::kBadRequest);
  EXPECT_EQ(put.error().message, "the client went away");
  expect_absent(store(), "t/broken");
}

TEST_P(ObjectStoreContract, BodyNotMatchingItsDeclaredSizeIsRefused) {
  PutOptions options;
  options.size = 10;
  auto shorter = put_string(store(), "t/short", "123456789", options);
  EXPECT_FALSE(shorter.has_value());
  expect_absent(store(), "t/short");
  auto longer = put_string(store(), "t/long", "12345678901", options);
  EXPECT_FALSE(longer.has_value());
  expect_absent(store(), "t/long");
}

TEST_P(ObjectStoreContract, RefusedOverwriteKeepsThePreviousObject) {
  const std::string old_data = pattern(1000, 9);
  ASSERT_TRUE(put_string(store(), "t/keep", old_data).has_value());

  PutOptions too_small;
  too_small.max_bytes = 10;
  EXPECT_FALSE(put_string(store(), "t/keep", pattern(11), too_small).has_value());
  PutOptions wrong_sum;
  wrong_sum.expected_sha256 = sha256_hex("nope");
  EXPECT_FALSE(put_string(store(), "t/keep", pattern(20), wrong_sum).has_value());
  const std::string new_data = pattern(2 * kMiB, 10);
  FailingSource failing(new_data, kMiB + 1);
  EXPECT_FALSE(store().put("t/keep", failing, PutOptions{}).has_value());

  EXPECT_EQ(get_string(store(), "t/keep").value(), old_data);
  EXPECT_EQ(store().head("t/keep")->size, old_data.size());
}

// --- ranges and readers --------------------------------------------------------------------

TEST_P(ObjectStoreContract, RangesDeliverExactlyTheirBytes) {
  const std::string data = pattern(2 * kMiB + 5, 11);
  ASSERT_TRUE(put_string(store(), "t/ranged", data).has_value());
  const std::uint64_t last = data.size() - 1;
  struct Case {
    std::uint64_t first, last;
  };
  for (Case c : {Case{0, 0}, Case{last, last}, Case{1000, 1999}, Case{0, last},
                 Case{kMiB - 3, kMiB + 3}, Case{5, last}, Case{0, last - 1}}) {
    auto reader = store().get("t/ranged", ByteRange{c.first, c.last});
    ASSERT_TRUE(reader.has_value()) << reader.error().detail;
    EXPECT_EQ((*reader)->size(), c.last - c.first + 1);
    auto bytes = read_all(**reader);
    ASSERT_TRUE(bytes.has_value());
    EXPECT_TRUE(*bytes == data.substr(c.first, c.last - c.first + 1))
        << "range " << c.first << "-" << c.last;
  }
}

TEST_P(ObjectStoreContract, RangeOfAOneByteObject) {
  ASSERT_TRUE(put_string(store(), "t/one", "z").has_value());
  EXPECT_EQ(get_string(store(), "t/one", ByteRange{0, 0}).value(), "z");
}

TEST_P(ObjectStoreContract, ReaderServesAnyBufferSize) {
  const std::string data = pattern(5000, 12);
  ASSERT_TRUE(put_string(store(), "t/small", data).has_value());
  for (std::size_t buffer_size : {1u, 3u, 4096u, 10000u}) {
    auto reader = store().get("t/small", std::nullopt);
    ASSERT_TRUE(reader.has_value());
    std::string got;
    std::vector<char> buffer(buffer_size);
    for (;;) {
      auto n = (*reader)->read(buffer);
      ASSERT_TRUE(n.has_value());
      ASSERT_LE(*n, buffer_size);
      if (*n == 0) break;
      got.append(buffer.data(), *n);
    }
    EXPECT_TRUE(got == data) << "buffer " << buffer_size;
  }
}

// --- head, missing keys, remove, overwrite -------------------------------------------------

TEST_P(ObjectStoreContract, HeadReportsSizeAndModificationTime) {
  const auto before = std::chrono::system_clock::now();
  ASSERT_TRUE(put_string(store(), "t/h", pattern(1234)).has_value());
  const auto after = std::chrono::system_clock::now();
  auto head = store().head("t/h");
  ASSERT_TRUE(head.has_value());
  EXPECT_EQ(head->size, 1234u);
  // Generous: a remote store's clock may differ a little from ours, and it may keep seconds only.
  EXPECT_GE(head->last_modified, before - 60s);
  EXPECT_LE(head->last_modified, after + 60s);
}

TEST_P(ObjectStoreContract, MissingKeyIsNotFound) {
  expect_absent(store(), "t/never");
  ASSERT_TRUE(put_string(store(), "t/other", "x").has_value());
  expect_absent(store(), "t/never");
  expect_absent(store(), "t/othe");
}

TEST_P(ObjectStoreContract, RemoveIsIdempotent) {
  ASSERT_TRUE(put_string(store(), "t/gone", "bytes").has_value());
  ASSERT_TRUE(store().remove("t/gone").has_value());
  expect_absent(store(), "t/gone");
  EXPECT_TRUE(store().remove("t/gone").has_value());
  EXPECT_TRUE(store().remove("t/never-was").has_value());
  EXPECT_TRUE(store().remove("never/was/here").has_value());
}

TEST_P(ObjectStoreContract, RemoveManyRemovesAllAndToleratesMissing) {
  for (const char* key : {"m/a", "m/b", "m/c"}) {
    ASSERT_TRUE(put_string(store(), key, key).has_value());
  }
  ASSERT_TRUE(store().remove_many({"m/a", "m/missing", "m/c"}).has_value());
  expect_absent(store(), "m/a");
  expect_absent(store(), "m/c");
  EXPECT_EQ(get_string(store(), "m/b").value(), "m/b");
}

TEST_P(ObjectStoreContract, PutAfterRemoveWorks) {
  ASSERT_TRUE(put_string(store(), "t/again", "one").has_value());
  ASSERT_TRUE(store().remove("t/again").has_value());
  ASSERT_TRUE(put_string(store(), "t/again", "two").has_value());
  EXPECT_EQ(get_string(store(), "t/again").value(), "two");
}

TEST_P(ObjectStoreContract, OverwriteReplacesTheObject) {
  ASSERT_TRUE(put_string(store(), "t/o", pattern(3000, 1)).has_value());
  const std::string second = pattern(1000, 2);
  auto put = put_string(store(), "t/o", second);
  ASSERT_TRUE(put.has_value());
  EXPECT_EQ(put->sha256, sha256_hex(second));
  EXPECT_EQ(get_string(store(), "t/o").value(), second);
  EXPECT_EQ(store().head("t/o")->size, second.size());
  auto listed = store().list("t/", "", 10);
  ASSERT_TRUE(listed.has_value());
  ASSERT_EQ(listed->objects.size(), 1u);
  EXPECT_EQ(listed->objects[0].size, second.size());
}

TEST_P(ObjectStoreContract, ReadersSeeOneWholeVersionWhileOverwritesRun) {
  const std::string a = pattern(300 * 1024, 21);
  const std::string b = pattern(200 * 1024 + 7, 22);
  ASSERT_TRUE(put_string(store(), "t/hot", a).has_value());
  std::atomic<bool> writing{true};
  std::atomic<int> write_failures{0};
  std::thread writer([&] {
    for (int i = 0; i < 20; ++i) {
      if (!put_string(store(), "t/hot", i % 2 == 0 ? b : a)) ++write_failures;
    }
    writing = false;
  });
  int reads = 0;
  int torn = 0;
  int failed = 0;
  while (writing || reads < 5) {
    auto got = get_string(store(), "t/hot");
    ++reads;
    if (!got) {
      ++failed;
    } else if (*got != a && *got != b) {
      ++torn;
    }
  }
  writer.join();
  EXPECT_EQ(write_failures, 0);
  EXPECT_EQ(failed, 0) << "a key being overwritten must stay readable";
  EXPECT_EQ(torn, 0) << "a reader saw a mix of two versions";
}

// --- list ----------------------------------------------------------------------------------

TEST_P(ObjectStoreContract, ListReturnsKeysUnderPrefixInByteOrder) {
  const std::vector<std::string> keys = {"t1/b", "t1/a", "t1/c/d", "t1-x", "t10", "t1/\xC3\xA9",
                                         "t1/Z", "t2/a", "u",      "a-b",  "a/b", "a0"};
  for (const auto& k : keys) ASSERT_TRUE(put_string(store(), k, k).has_value()) << k;

  auto under = store().list("t1/", "", 100);
  ASSERT_TRUE(under.has_value());
  EXPECT_EQ(keys_of(*under),
            (std::vector<std::string>{"t1/Z", "t1/a", "t1/b", "t1/c/d", "t1/\xC3\xA9"}));
  EXPECT_EQ(under->next_token, "");

  auto partial = store().list("t1", "", 100);
  ASSERT_TRUE(partial.has_value());
  EXPECT_EQ(keys_of(*partial), (std::vector<std::string>{"t1-x", "t1/Z", "t1/a", "t1/b", "t1/c/d",
                                                         "t1/\xC3\xA9", "t10"}));

  auto all = store().list("", "", 100);
  ASSERT_TRUE(all.has_value());
  std::vector<std::string> sorted = keys;
  std::sort(sorted.begin(), sorted.end());  // std::string orders bytes as unsigned: bytewise
  EXPECT_EQ(keys_of(*all), sorted);
  EXPECT_EQ(keys_of(*all).front(), "a-b");  // '-' < '/' < '0'

  auto nothing = store().list("t3", "", 100);
  ASSERT_TRUE(nothing.has_value());
  EXPECT_TRUE(nothing->objects.empty());
  EXPECT_EQ(nothing->next_token, "");
}

TEST_P(ObjectStoreContract, ListOfAnEmptyStoreIsEmpty) {
  auto listed = store().list("", "", 1000);
  ASSERT_TRUE(listed.has_value());
  EXPECT_TRUE(listed->objects.empty());
  EXPECT_EQ(listed->next_token, "");
}

TEST_P(ObjectStoreContract, ListReportsSizesAndTimes) {
  const auto before = std::chrono::system_clock::now();
  ASSERT_TRUE(put_string(store(), "s/zero", "").has_value());
  ASSERT_TRUE(put_string(store(), "s/ten", "0123456789").has_value());
  auto listed = store().list("s/", "", 10);
  ASSERT_TRUE(listed.has_value());
  ASSERT_EQ(listed->objects.size(), 2u);
  EXPECT_EQ(listed->objects[0].key, "s/ten");
  EXPECT_EQ(listed->objects[0].size, 10u);
  EXPECT_EQ(listed->objects[1].key, "s/zero");
  EXPECT_EQ(listed->objects[1].size, 0u);
  for (const auto& o : listed->objects) EXPECT_GE(o.last_modified, before - 60s);
}

TEST_P(ObjectStoreContract, ListPagesWithoutDuplicatesOrGaps) {
  std::vector<std::string> keys;
  for (const char* dir : {"p/a", "p/b", "p/b/c", "p/\xE2\x98\x83"}) {
    for (const char* name : {"1", "2", "10", "x y", "+"})
      keys.push_back(std::string(dir) + "/" + name);
  }
  for (const char* k : {"p/0", "p/z", "p-", "p0", "q/1"}) keys.push_back(k);
  for (const auto& k : keys) ASSERT_TRUE(put_string(store(), k, "v").has_value()) << k;
  std::vector<std::string> expected = keys;
  std::sort(expected.begin(), expected.end());

  for (int max_keys : {1, 2, 3, 7, static_cast<int>(keys.size()) - 1, static_cast<int>(keys.size()),
                       static_cast<int>(keys.size()) + 1, 1000}) {
    EXPECT_EQ(list_all(store(), "", max_keys), expected) << "max_keys " << max_keys;
  }
  std::vector<std::string> under_p;
  std::copy_if(expected.begin(), expected.end(), std::back_inserter(under_p),
               [](const std::string& k) { return k.starts_with("p/"); });
  for (int max_keys : {1, 4, 1000}) {
    EXPECT_EQ(list_all(store(), "p/", max_keys), under_p) << "max_keys " << max_keys;
  }
  auto first = store().list("", "", static_cast<int>(keys.size()));
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->objects.size(), keys.size());
  EXPECT_EQ(first->next_token, "") << "a page that holds the rest has no next token";
}

// --- awkward keys --------------------------------------------------------------------------

const std::vector<std::string>& awkward_keys() {
  static const std::vector<std::string> keys = {
      "k/with space",
      "k/plus+plus",
      "k/percent%25done",
      "k/hash#tag",
      "k/question?mark",
      "k/amp&eq=",
      "k/caf\xC3\xA9",
      "k/\xE6\x97\xA5\xE6\x9C\xAC",
      "k/emoji\xF0\x9F\x98\x80",
      "k/semi;colon,comma",
      "k/quote'\"",
      "k/tilde~star*",
      "k/.hidden",
      "k/...",
      "k/a+b%20c#d?e=f&g",
      "k/%2F",
  };
  return keys;
}

TEST_P(ObjectStoreContract, AwkwardKeysRoundTrip) {
  for (const auto& key : awkward_keys()) {
    SCOPED_TRACE(key);
    expect_round_trip(store(), key, "content of " + key);
  }
  auto listed = store().list("k/", "", 1000);
  ASSERT_TRUE(listed.has_value());
  std::vector<std::string> expected = awkward_keys();
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(keys_of(*listed), expected);
  for (const auto& key : awkward_keys()) {
    auto exact = store().list(key, "", 10);
    ASSERT_TRUE(exact.has_value());
    ASSERT_FALSE(exact->objects.empty()) << key;
    EXPECT_EQ(exact->objects[0].key, key);
    ASSERT_TRUE(store().remove(key).has_value()) << key;
    expect_absent(store(), key);
  }
}

// --- presign, check ------------------------------------------------------------------------

TEST_P(ObjectStoreContract, PresignReturnsAUrlAndItsExpiry) {
  const SystemTime now = std::chrono::system_clock::now();
  PresignRequest get;
  get.method = PresignMethod::kGet;
  get.key = "t/presigned";
  get.expires_in = 60s;
  get.now = now;
  get.response_content_disposition = "attachment; filename*=UTF-8''a%20b.txt";
  auto url = store().presign(get);
  ASSERT_TRUE(url.has_value()) << url.error().detail;
  EXPECT_TRUE(url->url.starts_with("http://") || url->url.starts_with("https://")) << url->url;
  EXPECT_GE(url->expires_at, now + 59s);
  EXPECT_LE(url->expires_at, now + 61s);

  PresignRequest put = get;
  put.method = PresignMethod::kPut;
  put.response_content_disposition.clear();
  put.content_length = 5;
  put.content_type = "text/plain";
  put.sha256 = sha256_hex("hello");
  put.expires_in = 3600s;
  auto put_url = store().presign(put);
  ASSERT_TRUE(put_url.has_value()) << put_url.error().detail;
  EXPECT_NE(put_url->url, url->url);
  EXPECT_GE(put_url->expires_at, now + 3599s);
  EXPECT_LE(put_url->expires_at, now + 3601s);
}

TEST_P(ObjectStoreContract, PresignedUrlsEscapeAwkwardKeys) {
  std::vector<std::string> urls;
  for (const auto& key : awkward_keys()) {
    PresignRequest request;
    request.key = key;
    request.now = std::chrono::system_clock::now();
    auto url = store().presign(request);
    ASSERT_TRUE(url.has_value()) << key;
    const std::string& u = url->url;
    EXPECT_EQ(std::count(u.begin(), u.end(), '?'), 1) << u;
    EXPECT_EQ(u.find('#'), std::string::npos) << u;
    EXPECT_TRUE(std::all_of(u.begin(), u.end(), [](unsigned char c) {
      return c > 0x20 && c < 0x7f && c != '"';
    })) << u;
    urls.push_back(u);
  }
  std::sort(urls.begin(), urls.end());
  EXPECT_EQ(std::adjacent_find(urls.begin(), urls.end()), urls.end()) << "two keys, one URL";
}

// --- direct uploads ----------------------------------------------------------------------------

// One open direct upload of `data` in parts of `part_size`, and what it takes to move its parts.
struct DirectUpload {
  std::string key;
  std::string id;
  std::string data;
  std::uint64_t part_size = 0;

  std::uint64_t part_count() const {
    return data.empty() ? 1 : (data.size() - 1) / part_size + 1;
  }
  std::string_view part(int n) const {
    const std::size_t offset = static_cast<std::size_t>(n - 1) * part_size;
    return std::string_view(data).substr(std::min(offset, data.size()), part_size);
  }
};

DirectUpload begin(ObjectStore& store, std::string key, std::string data,
                   std::uint64_t part_size) {
  DirectUpload up{std::move(key), "", std::move(data), part_size};
  auto id = store.begin_upload(up.key, "application/x-test", up.data.size(), part_size);
  EXPECT_TRUE(id.has_value()) << id.error().detail;
  if (id) up.id = *id;
  return up;
}

Result<PresignedUrl> part_url(ObjectStore& store, const DirectUpload& up, int n,
                              std::string sha256 = "", std::chrono::seconds expires_in = 300s) {
  PresignPartRequest request;
  request.key = up.key;
  request.upload_id = up.id;
  request.part_number = n;
  request.size = up.part(n).size();
  request.sha256 = std::move(sha256);
  request.expires_in = expires_in;
  request.now = std::chrono::system_clock::now();
  return store.presign_upload_part(request);
}

// Uploads part n with its own bytes; returns its ETag ("" on failure, which the test reports).
std::string send_part(ContractBackend& backend, const DirectUpload& up, int n,
                      std::string sha256 = "") {
  auto url = part_url(backend.store(), up, n, std::move(sha256));
  EXPECT_TRUE(url.has_value()) << url.error().detail;
  if (!url) return "";
  auto etag = backend.put_part(*url, up.part(n));
  EXPECT_TRUE(etag.has_value()) << "part " << n << ": " << etag.error().message << " "
                                << etag.error().detail;
  return value_or(etag, "");
}

TEST_P(ObjectStoreContract, DirectUploadOfOnePartAppearsOnlyAtComplete) {
  const std::string data = pattern(100000, 3);
  DirectUpload up = begin(store(), "t/direct-one", data, data.size());
  const std::string etag = send_part(backend(), up, 1, sha256_hex(data));
  ASSERT_FALSE(etag.empty());
  expect_absent(store(), up.key);  // parts are not an object

  auto parts = store().list_upload_parts(up.key, up.id);
  ASSERT_TRUE(parts.has_value()) << parts.error().detail;
  ASSERT_EQ(parts->size(), 1u);
  EXPECT_EQ((*parts)[0].number, 1);
  EXPECT_EQ((*parts)[0].etag, etag);
  EXPECT_EQ((*parts)[0].size, data.size());

  auto done = store().complete_upload(up.key, up.id, {{1, etag}});
  ASSERT_TRUE(done.has_value()) << done.error().detail;
  EXPECT_EQ(value_or(get_string(store(), up.key), ""), data);

  // Closed: its id names nothing any more.
  EXPECT_EQ(store().list_upload_parts(up.key, up.id).error().code, ErrorCode::kNotFound);
  // Completing again changes nothing: RGW (as AWS) answers as before, the directory 404.
  auto again = store().complete_upload(up.key, up.id, {{1, etag}});
  EXPECT_TRUE(again.has_value() || again.error().code == ErrorCode::kNotFound);
  EXPECT_TRUE(store().abort_upload(up.key, up.id).has_value());
  EXPECT_EQ(value_or(get_string(store(), up.key), ""), data);  // abort leaves the object alone
}

TEST_P(ObjectStoreContract, AClosedUploadsUrlsCannotChangeTheObject) {
  const std::string data = pattern(4096, 4);
  DirectUpload up = begin(store(), "t/direct-closed", data, data.size());
  auto url = part_url(store(), up, 1);
  ASSERT_TRUE(url.has_value());
  auto etag = backend().put_part(*url, data);
  ASSERT_TRUE(etag.has_value()) << etag.error().detail;
  ASSERT_TRUE(store().complete_upload(up.key, up.id, {{1, *etag}}).has_value());

  // The same URL, other bytes of the same length, after complete: refused, object unchanged.
  const std::string other = pattern(4096, 5);
  auto again = backend().put_part(*url, other);
  ASSERT_FALSE(again.has_value());
  EXPECT_THAT(again.error().code, ::testing::AnyOf(ErrorCode::kNotFound, ErrorCode::kForbidden));
  EXPECT_EQ(value_or(get_string(store(), up.key), ""), data);

  // An aborted upload's URLs and completion create nothing either.
  DirectUpload second = begin(store(), "t/direct-closed-aborted", other, other.size());
  auto second_url = part_url(store(), second, 1);
  ASSERT_TRUE(second_url.has_value());
  auto second_etag = backend().put_part(*second_url, other);
  ASSERT_TRUE(second_etag.has_value());
  ASSERT_TRUE(store().abort_upload(second.key, second.id).has_value());
  auto late = backend().put_part(*second_url, other);
  ASSERT_FALSE(late.has_value());
  EXPECT_THAT(late.error().code, ::testing::AnyOf(ErrorCode::kNotFound, ErrorCode::kForbidden));
  auto late_complete = store().complete_upload(second.key, second.id, {{1, *second_etag}});
  ASSERT_FALSE(late_complete.has_value());
  EXPECT_EQ(late_complete.error().code, ErrorCode::kNotFound) << late_complete.error().detail;
  expect_absent(store(), second.key);
  EXPECT_EQ(value_or(get_string(store(), up.key), ""), data);
}

TEST_P(ObjectStoreContract, DirectUploadInPartsSentInAnyOrder) {
  const std::uint64_t part_size = 5 * kMiB;
  DirectUpload up = begin(store(), "t/direct-parts", pattern(2 * part_size + 12345, 6), part_size);
  ASSERT_EQ(up.part_count(), 3u);
  std::vector<CompletedPartRef> parts(3);
  for (int n : {3, 1, 2}) parts[static_cast<std::size_t>(n - 1)] = {n, send_part(backend(), up, n)};
  auto listed = store().list_upload_parts(up.key, up.id);
  ASSERT_TRUE(listed.has_value());
  ASSERT_EQ(listed->size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ((*listed)[static_cast<std::size_t>(i)].number, i + 1);
    EXPECT_EQ((*listed)[static_cast<std::size_t>(i)].size, up.part(i + 1).size());
  }
  ASSERT_TRUE(store().complete_upload(up.key, up.id, parts).has_value());
  auto got = get_string(store(), up.key);
  ASSERT_TRUE(got.has_value());
  EXPECT_TRUE(*got == up.data);
}

TEST_P(ObjectStoreContract, APartWrittenAgainReplacesItsBytes) {
  const std::string first = pattern(3000, 7);
  DirectUpload up = begin(store(), "t/direct-again", pattern(3000, 8), 3000);
  auto url = part_url(store(), up, 1);
  ASSERT_TRUE(url.has_value());
  ASSERT_TRUE(backend().put_part(*url, first).has_value());
  auto etag = backend().put_part(*url, up.data);
  ASSERT_TRUE(etag.has_value());
  ASSERT_TRUE(store().complete_upload(up.key, up.id, {{1, *etag}}).has_value());
  EXPECT_EQ(value_or(get_string(store(), up.key), ""), up.data);
}

TEST_P(ObjectStoreContract, ABoundChecksumRefusesOtherBytes) {
  const std::string data = pattern(2048, 9);
  DirectUpload up = begin(store(), "t/direct-sha", data, data.size());
  auto url = part_url(store(), up, 1, sha256_hex(data));
  ASSERT_TRUE(url.has_value());
  auto wrong = backend().put_part(*url, pattern(2048, 10));
  ASSERT_FALSE(wrong.has_value());
  EXPECT_EQ(wrong.error().code, ErrorCode::kBadRequest) << wrong.error().detail;
  auto right = backend().put_part(*url, data);
  ASSERT_TRUE(right.has_value()) << right.error().detail;
  ASSERT_TRUE(store().complete_upload(up.key, up.id, {{1, *right}}).has_value());
  EXPECT_EQ(value_or(get_string(store(), up.key), ""), data);
}

TEST_P(ObjectStoreContract, CompleteRefusesMissingPartsAndOtherEtagsAndStaysOpen) {
  const std::uint64_t part_size = 5 * kMiB;
  DirectUpload up = begin(store(), "t/direct-refused", pattern(part_size + 100, 11), part_size);
  const std::string etag1 = send_part(backend(), up, 1);
  auto missing = store().complete_upload(up.key, up.id, {{1, etag1}, {2, "\"0123\""}});
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, ErrorCode::kBadRequest) << missing.error().detail;
  const std::string etag2 = send_part(backend(), up, 2);
  auto other = store().complete_upload(up.key, up.id, {{1, etag2}, {2, etag2}});
  ASSERT_FALSE(other.has_value());
  EXPECT_EQ(other.error().code, ErrorCode::kBadRequest) << other.error().detail;
  expect_absent(store(), up.key);
  ASSERT_TRUE(store().complete_upload(up.key, up.id, {{1, etag1}, {2, etag2}}).has_value());
  EXPECT_EQ(value_or(get_string(store(), up.key), ""), up.data);
}

TEST_P(ObjectStoreContract, CompletingWithTheFirstPartsOnlyMakesAShorterObject) {
  // What a client that skipped the last part gets; Coffer's size check refuses such an object.
  const std::uint64_t part_size = 5 * kMiB;
  DirectUpload up = begin(store(), "t/direct-short", pattern(part_size + 100, 12), part_size);
  const std::string etag1 = send_part(backend(), up, 1);
  ASSERT_TRUE(store().complete_upload(up.key, up.id, {{1, etag1}}).has_value());
  auto head = store().head(up.key);
  ASSERT_TRUE(head.has_value());
  EXPECT_EQ(head->size, part_size);
}

TEST_P(ObjectStoreContract, AnEmptyDirectUploadIsOneEmptyPart) {
  DirectUpload up = begin(store(), "t/direct-empty", "", 1);
  const std::string etag = send_part(backend(), up, 1, sha256_hex(""));
  ASSERT_FALSE(etag.empty());
  ASSERT_TRUE(store().complete_upload(up.key, up.id, {{1, etag}}).has_value());
  auto head = store().head(up.key);
  ASSERT_TRUE(head.has_value());
  EXPECT_EQ(head->size, 0u);
}

TEST_P(ObjectStoreContract, AbortDropsThePartsAndLeavesNoObject) {
  DirectUpload up = begin(store(), "t/direct-abort", pattern(1000, 13), 1000);
  auto url = part_url(store(), up, 1);
  ASSERT_TRUE(url.has_value());
  ASSERT_TRUE(backend().put_part(*url, up.data).has_value());
  ASSERT_TRUE(store().abort_upload(up.key, up.id).has_value());
  EXPECT_TRUE(store().abort_upload(up.key, up.id).has_value());  // idempotent
  EXPECT_EQ(store().list_upload_parts(up.key, up.id).error().code, ErrorCode::kNotFound);
  EXPECT_FALSE(backend().put_part(*url, up.data).has_value());
  expect_absent(store(), up.key);
}

TEST_P(ObjectStoreContract, PartUrlsAreBoundToTheirLengthAndExpire) {
  DirectUpload up = begin(store(), "t/direct-bound", pattern(1000, 14), 1000);
  auto url = part_url(store(), up, 1);
  ASSERT_TRUE(url.has_value());
  EXPECT_EQ(url->headers.at("Content-Length"), "1000");
  EXPECT_FALSE(backend().put_part(*url, pattern(999, 14)).has_value());
  EXPECT_FALSE(backend().put_part(*url, pattern(1001, 14)).has_value());
  auto short_lived = part_url(store(), up, 1, "", 1s);
  ASSERT_TRUE(short_lived.has_value());
  std::this_thread::sleep_for(2100ms);
  auto expired = backend().put_part(*short_lived, up.data);
  ASSERT_FALSE(expired.has_value());
  EXPECT_EQ(expired.error().code, ErrorCode::kForbidden);
  EXPECT_TRUE(store().abort_upload(up.key, up.id).has_value());
}

TEST_P(ObjectStoreContract, PresignUploadPartRefusesBadRequests) {
  DirectUpload up = begin(store(), "t/direct-presign", "abc", 3);
  EXPECT_EQ(part_url(store(), up, 1, "", 0s).error().code, ErrorCode::kBadRequest);
  EXPECT_EQ(part_url(store(), up, 1, "", std::chrono::hours(24 * 7) + 1s).error().code,
            ErrorCode::kBadRequest);
  EXPECT_EQ(part_url(store(), up, 1, "xyz").error().code, ErrorCode::kBadRequest);
  EXPECT_EQ(part_url(store(), up, 0).error().code, ErrorCode::kBadRequest);
  EXPECT_EQ(part_url(store(), up, 10001).error().code, ErrorCode::kBadRequest);
  EXPECT_TRUE(store().abort_upload(up.key, up.id).has_value());
}

TEST_P(ObjectStoreContract, CheckSucceedsAndKindIsNamed) {
  EXPECT_TRUE(store().check().has_value());
  EXPECT_FALSE(store().kind().empty());
}

}  // namespace
}  // namespace coffer::storage::testing
