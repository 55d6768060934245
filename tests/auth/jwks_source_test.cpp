#include "auth/jwks_source.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "auth/idp_keys.h"

namespace coffer::auth {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using testing::IdpKey;
using testing::jwks_text;

const std::vector<JwsAlg> kAllowed = {JwsAlg::kRs256, JwsAlg::kEs256};

// EC keys: cheap to generate, and the source does not care about the key type.
std::string document(std::initializer_list<std::string_view> kids) {
  std::vector<json::object> keys;
  for (std::string_view kid : kids) keys.push_back(IdpKey::ec(std::string(kid)).public_jwk());
  return jwks_text(keys);
}

std::set<std::string> kids_of(const std::shared_ptr<const KeySet>& keys) {
  std::set<std::string> out;
  if (keys) {
    for (const BoundKey& k : keys->keys()) out.insert(k.kid());
  }
  return out;
}

// A JWKS endpoint in memory: serves a document (or fails), optionally slowly, and counts fetches.
class FakeIdp {
 public:
  JwksFetch fetcher() {
    return [this](std::stop_token stop) -> Result<std::string> {
      std::unique_lock lock(mu_);
      ++fetches_;
      if (delay_ > 0ms) {
        // Sleeps like a slow server, but wakes at once when the fetch is cancelled.
        std::condition_variable_any cv;
        cv.wait_for(lock, stop, delay_, [] { return false; });
        if (stop.stop_requested()) return Error::Internal("cancelled");
      }
      if (failing_) return Error::Internal("connection refused");
      return document_;
    };
  }

  void publish(std::string doc) {
    std::lock_guard lock(mu_);
    document_ = std::move(doc);
    failing_ = false;
  }
  void fail() {
    std::lock_guard lock(mu_);
    failing_ = true;
  }
  void set_delay(std::chrono::milliseconds d) {
    std::lock_guard lock(mu_);
    delay_ = d;
  }
  int fetches() const {
    std::lock_guard lock(mu_);
    return fetches_;
  }

 private:
  mutable std::mutex mu_;
  std::string document_;
  bool failing_ = false;
  std::chrono::milliseconds delay_{0};
  int fetches_ = 0;
};

// No scheduled refresh and no second unknown-kid refetch within a test, unless it says so.
JwksRefreshPolicy quiet_policy() {
  JwksRefreshPolicy p;
  p.refresh_interval = 1h;
  p.unknown_kid_interval = 1h;
  p.unknown_kid_wait = 10s;
  p.retry_min = 20ms;
  p.retry_max = 100ms;
  return p;
}

template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds within = 5s) {
  const auto deadline = std::chrono::steady_clock::now() + within;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return pred();
}

TEST(RefreshingJwksSource, FetchesOnceBeforeTheConstructorReturns) {
  FakeIdp idp;
  idp.publish(document({"a"}));
  RefreshingJwksSource source("test", idp.fetcher(), kAllowed, quiet_policy());
  EXPECT_EQ(source.fetches_started(), 1u);
  EXPECT_EQ(kids_of(source.keys()), std::set<std::string>{"a"});
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(idp.fetches(), 1);  // nothing else is due for an hour
}

TEST(RefreshingJwksSource, FailedFirstFetchLeavesNoKeysAndIsRetriedInTheBackground) {
  FakeIdp idp;
  idp.fail();
  RefreshingJwksSource source("test", idp.fetcher(), kAllowed, quiet_policy());
  EXPECT_EQ(source.keys(), nullptr);
  ASSERT_TRUE(eventually([&] { return idp.fetches() >= 3; }));  // retries, backing off
  idp.publish(document({"a"}));
  EXPECT_TRUE(eventually([&] { return source.keys() != nullptr; }));
  const int after = idp.fetches();
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(idp.fetches(), after);  // success: back to the (hourly) schedule
}

TEST(RefreshingJwksSource, RetriesBackOff) {
  FakeIdp idp;
  idp.fail();
  JwksRefreshPolicy p = quiet_policy();
  p.retry_min = 50ms;
  p.retry_max = 200ms;
  RefreshingJwksSource source("test", idp.fetcher(), kAllowed, p);
  std::this_thread::sleep_for(1000ms);
  // 50 + 100 + 200 + 200 + 200 ms: about 6 tries in a second, not 20 (every 50 ms).
  EXPECT_GE(idp.fetches(), 4);
  EXPECT_LE(idp.fetches(), 8);
}

TEST(RefreshingJwksSource, ScheduledRefreshSwapsInNewKeys) {
  FakeIdp idp;
  idp.publish(document({"a"}));
  JwksRefreshPolicy p = quiet_policy();
  p.refresh_interval = 50ms;
  RefreshingJwksSource source("test", idp.fetcher(), kAllowed, p);
  const auto first = source.keys();
  idp.publish(document({"b", "c"}));
  EXPECT_TRUE(eventually([&] {
    return kids_of(source.keys()) == std::set<std::string>{"b", "c"};
  }));
  EXPECT_EQ(kids_of(first), std::set<std::string>{"a"});  // a reader's set never changes
}

TEST(RefreshingJwksSource, UnchangedDocumentKeepsTheSameKeySet) {
  FakeIdp idp;
  idp.publish(document({"a"}));
  JwksRefreshPolicy p = quiet_policy();
  p.refresh_interval = 10ms;
  RefreshingJwksSource source("test", idp.fetcher(), kAllowed, p);
  const auto first = source.keys();
  ASSERT_TRUE(eventually([&] { return idp.fetches() >= 5; }));
  EXPECT_EQ(source.keys(), first);
}

TEST(RefreshingJwksSource, RefusedDocumentKeepsTheCurrentKeys) {
  FakeIdp idp;
  idp.publish(document({"a"}));
  JwksRefreshPolicy p = quiet_policy();
  p.unknown_kid_interval = 0ms;  // every unknown kid refetches
  RefreshingJwksSource source("test", idp.fetcher(), kAllowed, p);
  const auto first = source.keys();
  for (std::string bad : {std::string("not json"), std::string(R"({"keys": []})"),
                          jwks_text({json::object{{"kty", "oct"}, {"k", "c2VjcmV0"}}})}) {
    idp.publish(bad);
    EXPECT_EQ(source.keys_for_unknown_kid(first.get()), nullptr);
    EXPECT_EQ(source.keys(), first);
  }
}

TEST(RefreshingJwksSource, UnknownKidTriggersOneRefetchAndWaitsForIt) {
  FakeIdp idp;
  idp.publish(document({"a"}));
  RefreshingJwksSource source("test", idp.fetcher(), kAllowed, quiet_policy());
  const auto seen = source.keys();
  idp.publish(document({"a", "b"}));
  idp.set_delay(100ms);
  auto newer = source.keys_for_unknown_kid(seen.get());
  EXPECT_EQ(kids_of(newer), (std::set<std::string>{"a", "b"}));
  EXPECT_EQ(source.keys(), newer);
  EXPECT_EQ(idp.fetches(), 2);

  // Within the interval, more unknown kids are refused at once, without a fetch.
  idp.publish(document({"a", "b", "c"}));
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(source.keys_for_unknown_kid(newer.get()), nullptr);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 50ms);
  EXPECT_EQ(source.keys_for_unknown_kid(nullptr), newer);  // a caller with older keys gets these
  EXPECT_EQ(idp.fetches(), 2);
}

TEST(RefreshingJwksSource, ConcurrentUnknownKidsShareOneRefetch) {
  FakeIdp idp;
  idp.publish(document({"a"}));
  RefreshingJwksSource source("test", idp.fetcher(), kAllowed, quiet_policy());
  const auto seen = source.keys();
  idp.publish(document({"a", "b"}));
  idp.set_delay(200ms);
  constexpr int kThreads = 16;
  std::atomic<int> got_newer{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      if (kids_of(source.keys_for_unknown_kid(seen.get())).count("b")) ++got_newer;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(got_newer, kThreads);
  EXPECT_EQ(idp.fetches(), 2);
}

TEST(RefreshingJwksSource, AnotherUnknownKidRefetchOnlyAfterTheInterval) {
  FakeIdp idp;
  idp.publish(document({"a"}));
  JwksRefreshPolicy p = quiet_policy();
  p.unknown_kid_interval = 300ms;
  RefreshingJwksSource source("test", idp.fetcher(), kAllowed, p);
  const auto seen = source.keys();
  EXPECT_EQ(source.keys_for_unknown_kid(seen.get()), nullptr);  // refetched: nothing new
  EXPECT_EQ(idp.fetches(), 2);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(source.keys_for_unknown_kid(seen.get()), nullptr);
  EXPECT_EQ(idp.fetches(), 2);
  std::this_thread::sleep_for(350ms);
  idp.publish(document({"b"}));
  EXPECT_EQ(kids_of(source.keys_for_unknown_kid(seen.get())), std::set<std::string>{"b"});
  EXPECT_EQ(idp.fetches(), 3);
}

TEST(RefreshingJwksSource, WaitForARefetchIsBounded) {
  FakeIdp idp;
  idp.publish(document({"a"}));
  JwksRefreshPolicy p = quiet_policy();
  p.unknown_kid_wait = 100ms;
  RefreshingJwksSource source("test", idp.fetcher(), kAllowed, p);
  const auto seen = source.keys();
  idp.set_delay(3s);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(source.keys_for_unknown_kid(seen.get()), nullptr);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  // Requests meanwhile wait for the same refetch (still bounded) rather than start another.
  EXPECT_EQ(source.keys_for_unknown_kid(seen.get()), nullptr);
  EXPECT_EQ(idp.fetches(), 2);
}

TEST(RefreshingJwksSource, DestructionCancelsAFetchUnderWay) {
  FakeIdp idp;
  idp.publish(document({"a"}));
  JwksRefreshPolicy p = quiet_policy();
  p.refresh_interval = 10ms;
  auto source = std::make_unique<RefreshingJwksSource>("test", idp.fetcher(), kAllowed, p);
  idp.set_delay(1h);
  ASSERT_TRUE(eventually([&] { return idp.fetches() >= 2; }));  // a slow fetch is under way
  const auto start = std::chrono::steady_clock::now();
  source.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
}

TEST(RefreshingJwksSource, ReadersAlwaysSeeAWholeKeySet) {
  FakeIdp idp;
  const std::string first = document({"a1", "a2", "a3"});
  const std::string second = document({"b1", "b2", "b3"});
  idp.publish(first);
  JwksRefreshPolicy p = quiet_policy();
  p.refresh_interval = 1ms;
  RefreshingJwksSource source("test", idp.fetcher(), kAllowed, p);
  const std::set<std::string> a{"a1", "a2", "a3"}, b{"b1", "b2", "b3"};
  std::atomic<bool> done{false};
  std::atomic<int> torn{0}, reads{0};
  std::vector<std::thread> readers;
  for (int i = 0; i < 2; ++i) {
    readers.emplace_back([&] {
      while (!done) {
        auto kids = kids_of(source.keys());
        if (kids != a && kids != b) ++torn;
        ++reads;
      }
    });
  }
  for (int i = 0; i < 40; ++i) {
    idp.publish(i % 2 ? first : second);
    std::this_thread::sleep_for(5ms);
  }
  done = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(torn, 0);
  EXPECT_GT(reads, 0);
  EXPECT_GT(idp.fetches(), 10);
}

// ---- a JWKS file --------------------------------------------------------------------------------

class JwksFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("coffer-jwks-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& text) {
    const auto path = (dir_ / name).string();
    std::ofstream(path) << text;
    return path;
  }

  std::filesystem::path dir_;
};

TEST_F(JwksFile, IsReadOnceAndNeverRefetched) {
  auto source = load_jwks_file(write("jwks.json", document({"a", "b"})), kAllowed);
  ASSERT_TRUE(source.has_value()) << source.error().detail;
  EXPECT_EQ(kids_of((*source)->keys()), (std::set<std::string>{"a", "b"}));
  EXPECT_EQ((*source)->keys_for_unknown_kid((*source)->keys().get()), nullptr);
}

TEST_F(JwksFile, UnreadableOrInvalidFilesAreStartUpErrors) {
  for (const std::string& path :
       {(dir_ / "missing.json").string(), dir_.string(), write("text.json", "not json"),
        write("empty.json", ""), write("nokeys.json", R"({"keys": []})"),
        write("hmac.json", jwks_text({json::object{{"kty", "oct"}, {"k", "c2VjcmV0"}}}))}) {
    auto source = load_jwks_file(path, kAllowed);
    ASSERT_FALSE(source.has_value()) << path;
    EXPECT_EQ(source.error().code, ErrorCode::kBadRequest);
  }
}

TEST_F(JwksFile, OpenJwksSourceReadsTheConfiguredFile) {
  TrustedIssuer issuer;
  issuer.issuer = "https://idp.example";
  issuer.jwks_file = write("jwks.json", document({"a"}));
  auto source = open_jwks_source(issuer, AuthConfig{}, kAllowed);
  ASSERT_TRUE(source.has_value()) << source.error().detail;
  EXPECT_EQ(kids_of((*source)->keys()), std::set<std::string>{"a"});
  issuer.jwks_file = (dir_ / "missing.json").string();
  EXPECT_FALSE(open_jwks_source(issuer, AuthConfig{}, kAllowed).has_value());
}

TEST_F(JwksFile, UnreachableJwksUrlStillStartsAndBadCaFileDoesNot) {
  TrustedIssuer issuer;
  issuer.issuer = "https://idp.example";
  issuer.jwks_url = "https://127.0.0.1:1/jwks.json";  // nothing listens on port 1
  auto source = open_jwks_source(issuer, AuthConfig{}, kAllowed);
  ASSERT_TRUE(source.has_value()) << source.error().detail;
  EXPECT_EQ((*source)->keys(), nullptr);

  AuthConfig bad_ca;
  bad_ca.jwks_ca_file = (dir_ / "missing-ca.pem").string();
  EXPECT_FALSE(open_jwks_source(issuer, bad_ca, kAllowed).has_value());
  bad_ca.jwks_ca_file = write("not-a-ca.pem", "hello");
  EXPECT_FALSE(open_jwks_source(issuer, bad_ca, kAllowed).has_value());
  issuer.jwks_url = "https://user:pw@idp.example/jwks.json";
  EXPECT_FALSE(open_jwks_source(issuer, AuthConfig{}, kAllowed).has_value());
}

}  // namespace
}  // namespace coffer::auth
