// SigV4 signer: unit tests of each step, then every case of the public vector suites copied into
// tests/testdata/sigv4/ (see its README.md), enumerated from disk at run time.
//
// Suites run, and how many cases each must have (a missing folder fails FindsEveryCase):
//   aws-c-auth v4           38 cases x {Authorization header, presigned query}
//   aws-sig-v4-test-suite   31 cases (Authorization header only; the suite has no query variant)
//   s3-doc-examples.json     7 S3 cases + 2 AWS General Reference examples
// Skipped, by name:
//   aws-c-auth v4a (40 cases): SigV4a (ECDSA P-256, region sets) is not implemented; Coffer's S3
//   backends (AWS, Ceph RGW) take SigV4. The folder is not copied; SkipsOnlySigV4a checks that.
// Known upstream quirks, handled where the case is built (README "Known quirks"):
//   - classic post-x-www-form-urlencoded.creq has a wrong signed-headers line: fixed before the
//     comparison; .sts/.authz are compared as they are.
//   - classic post-x-www-form-urlencoded-parameters signs the form body as the query string with
//     an empty payload; aws-c-auth signs the body instead.
//   - obs-fold continuation lines: the classic suite joins them with ',' (as repeated values),
//     aws-c-auth with spaces.
//   - request lines with a literal space in the path are split on the first and last space.
//   - the generic suites use service "service", so they run with normalize_path as context.json
//     says and double_encode_path = true; S3 cases run with both false.
#include "storage/s3/sigv4.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>

#include "core/encoding.h"

namespace coffer::s3 {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

const fs::path kVectors = fs::path(COFFER_TESTDATA_DIR) / "sigv4";
const fs::path kAwsCAuthV4 = kVectors / "aws-c-auth" / "aws-signing-test-suite" / "v4";
const fs::path kClassic = kVectors / "aws-sig-v4-test-suite";
const fs::path kS3Docs = kVectors / "s3-doc-examples.json";

constexpr std::size_t kAwsCAuthV4Cases = 38;
constexpr std::size_t kClassicCases = 31;
constexpr std::size_t kS3DocCases = 7;
constexpr std::size_t kGeneralReferenceCases = 2;

// The generic suites' fixed credentials (note the '+'), region and service.
constexpr char kSuiteAccessKey[] = "AKIDEXAMPLE";
constexpr char kSuiteSecret[] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

// ---- Helpers ------------------------------------------------------------------------------------

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ADD_FAILURE() << "cannot read " << path;
    return {};
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

SystemTime at(std::string_view rfc3339) {
  auto t = parse_rfc3339(rfc3339);
  EXPECT_TRUE(t.has_value()) << rfc3339;
  return t.value_or(SystemTime{});
}

// "20150830T123600Z" -> time.
SystemTime from_amz_date(std::string_view d) {
  EXPECT_EQ(d.size(), 16u) << d;
  if (d.size() != 16) return {};
  std::string s;
  s.append(d.substr(0, 4)).append("-").append(d.substr(4, 2)).append("-").append(d.substr(6, 2));
  s.append("T").append(d.substr(9, 2)).append(":").append(d.substr(11, 2)).append(":");
  s.append(d.substr(13, 2)).append("Z");
  return at(s);
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      auto byte = hex_decode(s.substr(i + 1, 2));
      if (byte) {
        out += *byte;
        i += 2;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

QueryParams parse_query(std::string_view q) {
  QueryParams out;
  while (!q.empty()) {
    const std::size_t amp = q.find('&');
    const std::string_view item = q.substr(0, amp);
    const std::size_t eq = item.find('=');
    if (eq == std::string_view::npos) {
      out.emplace_back(percent_decode(item), "");
    } else {
      out.emplace_back(percent_decode(item.substr(0, eq)), percent_decode(item.substr(eq + 1)));
    }
    if (amp == std::string_view::npos) break;
    q.remove_prefix(amp + 1);
  }
  return out;
}

QueryParams sorted(QueryParams q) {
  std::sort(q.begin(), q.end());
  return q;
}

// Names lower-cased, values as they are, sorted: the order and case of headers do not matter.
Headers normalized(Headers h) {
  for (auto& [name, value] : h) name = lower(name);
  std::stable_sort(h.begin(), h.end(),
                   [](const Header& a, const Header& b) { return a.first < b.first; });
  return h;
}

std::string header_value(const Headers& headers, std::string_view name) {
  for (const auto& [n, v] : headers) {
    if (lower(n) == name) return v;
  }
  return {};
}

// Removes the header `name` (any case); returns its value, or nullopt.
std::optional<std::string> take_header(Headers& headers, std::string_view name) {
  for (auto it = headers.begin(); it != headers.end(); ++it) {
    if (lower(it->first) == name) {
      std::string value = it->second;
      headers.erase(it);
      return value;
    }
  }
  return std::nullopt;
}

// How a raw request file's obs-fold continuation lines become header values.
enum class Folding {
  kJoinWithSpace,    // aws-c-auth: one value, "value1 value2 value3" after trimming
  kRepeatedHeaders,  // classic suite: one value per line, joined with ',' by the signer
};

struct RawRequest {
  std::string method;
  std::string path;
  QueryParams query;
  Headers headers;
  std::string body;
};

RawRequest parse_request(std::string_view text, Folding folding) {
  RawRequest r;
  std::string_view head = text;
  if (const std::size_t blank = text.find("\n\n"); blank != std::string_view::npos) {
    head = text.substr(0, blank);
    r.body = std::string(text.substr(blank + 2));
  }
  bool first = true;
  while (!head.empty()) {
    const std::size_t nl = head.find('\n');
    const std::string_view line = head.substr(0, nl);
    head.remove_prefix(nl == std::string_view::npos ? head.size() : nl + 1);
    if (line.empty()) continue;
    if (first) {
      first = false;
      // Split on the first and last space: a path may hold a literal space (get-space).
      const std::size_t sp1 = line.find(' ');
      const std::size_t sp2 = line.rfind(' ');
      r.method = std::string(line.substr(0, sp1));
      const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
      const std::size_t qm = target.find('?');
      r.path = std::string(target.substr(0, qm));
      if (qm != std::string_view::npos) r.query = parse_query(target.substr(qm + 1));
      continue;
    }
    if (line.front() == ' ' || line.front() == '\t') {
      if (r.headers.empty()) {
        ADD_FAILURE() << "continuation line before any header";
        continue;
      }
      if (folding == Folding::kJoinWithSpace) {
        r.headers.back().second.append(" ").append(line);
      } else {
        r.headers.emplace_back(r.headers.back().first, std::string(line));
      }
      continue;
    }
    const std::size_t colon = line.find(':');
    r.headers.emplace_back(std::string(line.substr(0, colon)), std::string(line.substr(colon + 1)));
  }
  return r;
}

std::vector<std::string> subdirectories(const fs::path& dir) {
  std::vector<std::string> out;
  if (!fs::is_directory(dir)) return out;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.is_directory()) out.push_back(entry.path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string test_name(std::string s) {
  for (char& c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return s;
}

// ---- Step by step -------------------------------------------------------------------------------

TEST(SigV4UriEncode, KeepsUnreservedAndEncodesEverythingElseUpperCase) {
  EXPECT_EQ(uri_encode("AZaz09-._~", true), "AZaz09-._~");
  EXPECT_EQ(uri_encode(" +=&%*'()!;:,@$", true), "%20%2B%3D%26%25%2A%27%28%29%21%3B%3A%2C%40%24");
  EXPECT_EQ(uri_encode("\xe1\x88\xb4", true), "%E1%88%B4");
  EXPECT_EQ(uri_encode(std::string("a\0b", 3), true), "a%00b");
}

TEST(SigV4UriEncode, KeepsSlashOnlyWhenAsked) {
  EXPECT_EQ(uri_encode("/photos/2024/a b.jpg", false), "/photos/2024/a%20b.jpg");
  EXPECT_EQ(uri_encode("a/b", true), "a%2Fb");
}

TEST(SigV4CanonicalUri, S3SignsTheEncodingOfTheDecodedPathAndNeverNormalizes) {
  const SigningParams s3;
  EXPECT_EQ(canonical_uri("/test$file.text", s3).value(), "/test%24file.text");
  EXPECT_EQ(canonical_uri("/test%24file.text", s3).value(), "/test%24file.text");
  EXPECT_EQ(canonical_uri("/a%2a%7E", s3).value(), "/a%2A~");
  EXPECT_EQ(canonical_uri("/my-object//example//photo.user", s3).value(),
            "/my-object//example//photo.user");
  EXPECT_EQ(canonical_uri("/a/./b/../c", s3).value(), "/a/./b/../c");
  EXPECT_EQ(canonical_uri("/", s3).value(), "/");
}

TEST(SigV4CanonicalUri, GenericServicesNormalizeAndDoubleEncode) {
  SigningParams generic;
  generic.normalize_path = true;
  generic.double_encode_path = true;
  EXPECT_EQ(canonical_uri("//a/./b/../c//", generic).value(), "/a/c/");
  EXPECT_EQ(canonical_uri("/a/..", generic).value(), "/");
  EXPECT_EQ(canonical_uri("/../..", generic).value(), "/");
  EXPECT_EQ(canonical_uri("/example%20space/", generic).value(), "/example%2520space/");
}

TEST(SigV4CanonicalUri, RejectsMalformedPaths) {
  const SigningParams s3;
  EXPECT_FALSE(canonical_uri("", s3));
  EXPECT_FALSE(canonical_uri("key", s3));
  EXPECT_FALSE(canonical_uri("/a%2", s3));
  EXPECT_FALSE(canonical_uri("/a%zz", s3));
  EXPECT_EQ(canonical_uri("/a%", s3).error().code, ErrorCode::kInternal);
}

TEST(SigV4CanonicalQuery, EncodesThenSortsByNameThenValue) {
  EXPECT_EQ(canonical_query_string({}), "");
  EXPECT_EQ(canonical_query_string({{"uploads", ""}}), "uploads=");
  EXPECT_EQ(canonical_query_string({{"prefix", "a b/c"}, {"max-keys", "2"}}),
            "max-keys=2&prefix=a%20b%2Fc");
  EXPECT_EQ(canonical_query_string({{"p", "b"}, {"p", "B"}, {"p", "a"}}), "p=B&p=a&p=b");
}

TEST(SigV4CanonicalHeaders, LowersTrimsJoinsRepeatsAndSorts) {
  auto h = canonical_headers({{"Host", "example.com"},
                              {"X-B", "  two   words\t here "},
                              {"x-a", "1"},
                              {"X-A", "2"},
                              {"x-empty", ""}});
  ASSERT_TRUE(h);
  EXPECT_EQ(h->text, "host:example.com\nx-a:1,2\nx-b:two words here\nx-empty:\n");
  EXPECT_EQ(h->signed_headers, "host;x-a;x-b;x-empty");
}

TEST(SigV4CanonicalHeaders, RejectsNewlinesAndBadNames) {
  EXPECT_FALSE(canonical_headers({{"x-a", "1\r\nx-b: 2"}}));
  EXPECT_FALSE(canonical_headers({{"", "1"}}));
  EXPECT_FALSE(canonical_headers({{"x a", "1"}}));
  EXPECT_FALSE(canonical_headers({{"x:a", "1"}}));
}

TEST(SigV4SigningKey, MatchesTheGeneralReferenceDerivation) {
  const SigningKey key = derive_signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                                            at("2012-02-15T00:00:00Z"), "us-east-1", "iam");
  EXPECT_EQ(hex_encode(key), "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
}

TEST(SigV4SigningKeyCache, ReturnsTheDerivedKeyPerDayRegionAndService) {
  SigningKeyCache cache;
  const SystemTime day1 = at("2013-05-24T00:00:00Z");
  const SystemTime day1_late = at("2013-05-24T23:59:59Z");
  const SystemTime day2 = at("2013-05-25T00:00:00Z");
  const std::string secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
  EXPECT_EQ(cache.get(secret, day1, "us-east-1", "s3"),
            derive_signing_key(secret, day1, "us-east-1", "s3"));
  EXPECT_EQ(cache.get(secret, day1_late, "us-east-1", "s3"),
            derive_signing_key(secret, day1, "us-east-1", "s3"));
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_EQ(cache.get(secret, day2, "us-east-1", "s3"),
            derive_signing_key(secret, day2, "us-east-1", "s3"));
  EXPECT_EQ(cache.get(secret, day1, "eu-west-1", "s3"),
            derive_signing_key(secret, day1, "eu-west-1", "s3"));
  EXPECT_EQ(cache.get("other", day1, "us-east-1", "s3"),
            derive_signing_key("other", day1, "us-east-1", "s3"));
  EXPECT_EQ(cache.size(), 4u);
}

TEST(SigV4SigningKeyCache, StaysWithinCapacity) {
  SigningKeyCache cache(2);
  const SystemTime t = at("2013-05-24T00:00:00Z");
  for (int i = 0; i < 10; ++i) {
    const std::string secret = "secret" + std::to_string(i);
    EXPECT_EQ(cache.get(secret, t, "r", "s3"), derive_signing_key(secret, t, "r", "s3"));
    EXPECT_LE(cache.size(), 2u);
  }
  SigningKeyCache none(0);
  EXPECT_EQ(none.get("s", t, "r", "s3"), derive_signing_key("s", t, "r", "s3"));
  EXPECT_EQ(none.size(), 0u);
}

TEST(SigV4SigningKeyCache, IsSafeToShareBetweenThreads) {
  SigningKeyCache cache(3);
  const SystemTime t = at("2013-05-24T00:00:00Z");
  const std::vector<std::string> secrets = {"s0", "s1", "s2", "s3", "s4"};
  std::vector<SigningKey> expected;
  for (const auto& secret : secrets) expected.push_back(derive_signing_key(secret, t, "r", "s3"));
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (std::size_t n = 0; n < 4; ++n) {
    threads.emplace_back([&, n] {
      for (std::size_t i = 0; i < 500; ++i) {
        const std::size_t k = (i + n) % secrets.size();
        if (cache.get(secrets[k], t, "r", "s3") != expected[k]) ++wrong;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
}

// ---- Whole requests: contracts a caller relies on -----------------------------------------------

SigningParams s3_params() {
  SigningParams p;
  p.creds = {"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""};
  p.region = "us-east-1";
  p.time = at("2013-05-24T00:00:00Z");
  return p;
}

RequestToSign s3_get() {
  RequestToSign r;
  r.method = "GET";
  r.path = "/examplebucket/test.txt";
  r.headers = {{"Host", "127.0.0.1:7480"}};
  r.payload_hash = sha256_hex("");
  return r;
}

TEST(SigV4SignWithHeaders, AddsDateContentHashAndAuthorizationForS3) {
  auto signed_request = sign_with_headers(s3_get(), s3_params());
  ASSERT_TRUE(signed_request) << signed_request.error().detail;
  const Headers& h = signed_request->headers;
  ASSERT_EQ(h.size(), 3u);
  EXPECT_EQ(h[0], Header("X-Amz-Date", "20130524T000000Z"));
  EXPECT_EQ(h[1], Header("X-Amz-Content-Sha256", sha256_hex("")));
  EXPECT_EQ(h[2].first, "Authorization");
  EXPECT_EQ(h[2].second,
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
            "SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=" +
                signed_request->steps.signature);
}

TEST(SigV4SignWithHeaders, SignsTheSessionTokenAsAHeader) {
  SigningParams p = s3_params();
  p.creds.session_token = "token/with+chars=";
  auto signed_request = sign_with_headers(s3_get(), p);
  ASSERT_TRUE(signed_request);
  EXPECT_EQ(header_value(signed_request->headers, "x-amz-security-token"), "token/with+chars=");
  EXPECT_NE(
      signed_request->steps.canonical_request.find("x-amz-security-token:token/with+chars=\n"),
      std::string::npos);
  EXPECT_NE(header_value(signed_request->headers, "authorization")
                .find("SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token,"),
            std::string::npos);
}

TEST(SigV4SignWithHeaders, SignsAStreamingPutWithUnsignedPayload) {
  RequestToSign put = s3_get();
  put.method = "PUT";
  put.headers.emplace_back("Content-Length", "1048576");
  put.payload_hash = std::string(kUnsignedPayload);
  auto signed_request = sign_with_headers(put, s3_params());
  ASSERT_TRUE(signed_request);
  EXPECT_EQ(header_value(signed_request->headers, "x-amz-content-sha256"), "UNSIGNED-PAYLOAD");
  EXPECT_TRUE(signed_request->steps.canonical_request.ends_with(
      "\ncontent-length;host;x-amz-content-sha256;x-amz-date\nUNSIGNED-PAYLOAD"));
}

TEST(SigV4SignWithHeaders, IsTheSameWithOrWithoutTheCache) {
  SigningKeyCache cache;
  auto a = sign_with_headers(s3_get(), s3_params(), &cache);
  auto b = sign_with_headers(s3_get(), s3_params());
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->headers, b->headers);
  EXPECT_EQ(cache.size(), 1u);
}

TEST(SigV4SignWithHeaders, RejectsRequestsItCannotSignCorrectly) {
  RequestToSign no_host = s3_get();
  no_host.headers.clear();
  EXPECT_FALSE(sign_with_headers(no_host, s3_params()));

  for (const char* owned : {"Authorization", "X-Amz-Date", "x-amz-content-sha256"}) {
    RequestToSign r = s3_get();
    r.headers.emplace_back(owned, "x");
    EXPECT_FALSE(sign_with_headers(r, s3_params())) << owned;
  }
  // Without add_content_sha256 the caller may set the header itself.
  SigningParams own_hash = s3_params();
  own_hash.add_content_sha256 = false;
  RequestToSign r = s3_get();
  r.headers.emplace_back("x-amz-content-sha256", r.payload_hash);
  EXPECT_TRUE(sign_with_headers(r, own_hash));

  SigningParams with_token = s3_params();
  with_token.creds.session_token = "t";
  RequestToSign token_twice = s3_get();
  token_twice.headers.emplace_back("X-Amz-Security-Token", "t");
  EXPECT_FALSE(sign_with_headers(token_twice, with_token));

  RequestToSign no_hash = s3_get();
  no_hash.payload_hash.clear();
  EXPECT_FALSE(sign_with_headers(no_hash, s3_params()));

  SigningParams no_creds = s3_params();
  no_creds.creds.secret_access_key.clear();
  EXPECT_FALSE(sign_with_headers(s3_get(), no_creds));

  RequestToSign folded = s3_get();
  folded.headers.emplace_back("x-amz-meta-a", "1\r\n 2");
  EXPECT_FALSE(sign_with_headers(folded, s3_params()));
}

TEST(SigV4Presign, BuildsTheWholeQueryInCanonicalOrderWithTheSignatureLast) {
  RequestToSign get = s3_get();
  get.query = {{"versionId", "3/L4kqtJl"}};
  get.payload_hash = std::string(kUnsignedPayload);
  auto url = presign(get, s3_params(), std::chrono::hours(1));
  ASSERT_TRUE(url) << url.error().detail;
  EXPECT_EQ(url->query,
            "X-Amz-Algorithm=AWS4-HMAC-SHA256"
            "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
            "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host"
            "&versionId=3%2FL4kqtJl&X-Amz-Signature=" +
                url->steps.signature);
  EXPECT_TRUE(url->steps.canonical_request.ends_with("\nhost\nUNSIGNED-PAYLOAD"));
}

TEST(SigV4Presign, BindsEveryGivenHeaderForAPresignedPut) {
  RequestToSign put = s3_get();
  put.method = "PUT";
  put.headers.emplace_back("Content-Type", "image/png");
  put.payload_hash = std::string(kUnsignedPayload);
  auto url = presign(put, s3_params(), std::chrono::minutes(15));
  ASSERT_TRUE(url);
  EXPECT_NE(url->query.find("&X-Amz-SignedHeaders=content-type%3Bhost"), std::string::npos);
  EXPECT_NE(url->steps.canonical_request.find("\ncontent-type:image/png\nhost:127.0.0.1:7480\n"),
            std::string::npos);
}

TEST(SigV4Presign, SignsTheSessionTokenInTheQuery) {
  SigningParams p = s3_params();
  p.creds.session_token = "a/b+c=";
  RequestToSign get = s3_get();
  get.payload_hash = std::string(kUnsignedPayload);
  auto url = presign(get, p, std::chrono::seconds(60));
  ASSERT_TRUE(url);
  EXPECT_NE(url->steps.canonical_request.find("&X-Amz-Security-Token=a%2Fb%2Bc%3D&"),
            std::string::npos);
  EXPECT_NE(url->query.find("&X-Amz-Security-Token=a%2Fb%2Bc%3D&X-Amz-SignedHeaders=host"
                            "&X-Amz-Signature="),
            std::string::npos);
}

TEST(SigV4Presign, RejectsLifetimesS3RefusesAndAuthParametersAlreadyPresent) {
  RequestToSign get = s3_get();
  get.payload_hash = std::string(kUnsignedPayload);
  EXPECT_EQ(presign(get, s3_params(), std::chrono::seconds(0)).error().code,
            ErrorCode::kBadRequest);
  EXPECT_FALSE(presign(get, s3_params(), kMaxPresignExpiry + std::chrono::seconds(1)));
  EXPECT_TRUE(presign(get, s3_params(), kMaxPresignExpiry));
  EXPECT_TRUE(presign(get, s3_params(), std::chrono::seconds(1)));

  for (const char* name : {"X-Amz-Signature", "x-amz-credential", "X-Amz-Expires"}) {
    RequestToSign r = get;
    r.query.emplace_back(name, "1");
    EXPECT_FALSE(presign(r, s3_params(), std::chrono::seconds(60))) << name;
  }
  RequestToSign no_host = get;
  no_host.headers.clear();
  EXPECT_FALSE(presign(no_host, s3_params(), std::chrono::seconds(60)));
}

// ---- aws-c-auth v4: header and presigned-query variants -----------------------------------------

std::vector<std::string> aws_c_auth_cases() { return subdirectories(kAwsCAuthV4); }

struct AwsCAuthCase {
  RawRequest raw;
  RequestToSign request;
  SigningParams params;
  std::chrono::seconds expires{0};
};

AwsCAuthCase load_aws_c_auth_case(const fs::path& dir) {
  AwsCAuthCase c;
  const json::object ctx = json::parse(read_text(dir / "context.json")).as_object();
  const json::object& creds = ctx.at("credentials").as_object();
  c.params.creds.access_key_id = json::value_to<std::string>(creds.at("access_key_id"));
  c.params.creds.secret_access_key = json::value_to<std::string>(creds.at("secret_access_key"));
  if (creds.contains("token")) {
    c.params.creds.session_token = json::value_to<std::string>(creds.at("token"));
  }
  c.params.region = json::value_to<std::string>(ctx.at("region"));
  c.params.service = json::value_to<std::string>(ctx.at("service"));
  c.params.time = at(json::value_to<std::string>(ctx.at("timestamp")));
  c.params.normalize_path = ctx.at("normalize").as_bool();
  c.params.double_encode_path = c.params.service != "s3";
  c.params.add_content_sha256 = ctx.at("sign_body").as_bool();
  c.params.omit_session_token =
      ctx.contains("omit_session_token") && ctx.at("omit_session_token").as_bool();
  c.expires = std::chrono::seconds(ctx.at("expiration_in_seconds").to_number<std::int64_t>());

  c.raw = parse_request(read_text(dir / "request.txt"), Folding::kJoinWithSpace);
  c.request.method = c.raw.method;
  c.request.path = c.raw.path;
  c.request.query = c.raw.query;
  c.request.headers = c.raw.headers;
  c.request.payload_hash = sha256_hex(c.raw.body);
  return c;
}

class SigV4AwsCAuthV4 : public testing::TestWithParam<std::string> {};

TEST_P(SigV4AwsCAuthV4, HeaderSigningMatches) {
  const fs::path dir = kAwsCAuthV4 / GetParam();
  const AwsCAuthCase c = load_aws_c_auth_case(dir);
  auto signed_request = sign_with_headers(c.request, c.params);
  ASSERT_TRUE(signed_request) << signed_request.error().detail;
  EXPECT_EQ(signed_request->steps.canonical_request,
            read_text(dir / "header-canonical-request.txt"));
  EXPECT_EQ(signed_request->steps.string_to_sign, read_text(dir / "header-string-to-sign.txt"));
  EXPECT_EQ(signed_request->steps.signature, read_text(dir / "header-signature.txt"));

  // The signed request on disk is the original plus exactly the headers we add.
  const RawRequest expected =
      parse_request(read_text(dir / "header-signed-request.txt"), Folding::kJoinWithSpace);
  EXPECT_EQ(expected.method, c.raw.method);
  EXPECT_EQ(expected.path, c.raw.path);
  EXPECT_EQ(sorted(expected.query), sorted(c.raw.query));
  Headers ours = c.raw.headers;
  ours.insert(ours.end(), signed_request->headers.begin(), signed_request->headers.end());
  EXPECT_EQ(normalized(ours), normalized(expected.headers));
}

TEST_P(SigV4AwsCAuthV4, PresignedQueryMatches) {
  const fs::path dir = kAwsCAuthV4 / GetParam();
  const AwsCAuthCase c = load_aws_c_auth_case(dir);
  auto url = presign(c.request, c.params, c.expires);
  ASSERT_TRUE(url) << url.error().detail;
  EXPECT_EQ(url->steps.canonical_request, read_text(dir / "query-canonical-request.txt"));
  EXPECT_EQ(url->steps.string_to_sign, read_text(dir / "query-string-to-sign.txt"));
  EXPECT_EQ(url->steps.signature, read_text(dir / "query-signature.txt"));

  // The signed request on disk carries our query (in another order) and unchanged headers.
  const RawRequest expected =
      parse_request(read_text(dir / "query-signed-request.txt"), Folding::kJoinWithSpace);
  EXPECT_EQ(expected.method, c.raw.method);
  EXPECT_EQ(expected.path, c.raw.path);
  EXPECT_EQ(sorted(parse_query(url->query)), sorted(expected.query));
  EXPECT_EQ(normalized(c.raw.headers), normalized(expected.headers));
  EXPECT_TRUE(url->query.ends_with("&X-Amz-Signature=" + url->steps.signature));
}

INSTANTIATE_TEST_SUITE_P(Vectors, SigV4AwsCAuthV4, testing::ValuesIn(aws_c_auth_cases()),
                         [](const auto& info) { return test_name(info.param); });

// ---- Classic aws-sig-v4-test-suite --------------------------------------------------------------

// Case folders are the ones holding "<folder name>.req", at any depth (normalize-path/,
// post-sts-token/ group some).
std::vector<std::string> classic_cases() {
  std::vector<std::string> out;
  if (!fs::is_directory(kClassic)) return out;
  for (const auto& entry : fs::recursive_directory_iterator(kClassic)) {
    if (!entry.is_directory()) continue;
    const std::string name = entry.path().filename().string();
    if (fs::exists(entry.path() / (name + ".req"))) {
      out.push_back(fs::relative(entry.path(), kClassic).generic_string());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

class SigV4ClassicSuite : public testing::TestWithParam<std::string> {};

TEST_P(SigV4ClassicSuite, HeaderSigningMatches) {
  const fs::path dir = kClassic / GetParam();
  const std::string name = dir.filename().string();
  const fs::path base = dir / name;

  RawRequest raw = parse_request(read_text(base.string() + ".req"), Folding::kRepeatedHeaders);
  SigningParams params;
  params.creds = {kSuiteAccessKey, kSuiteSecret, ""};
  params.region = "us-east-1";
  params.service = "service";
  params.normalize_path = true;
  params.double_encode_path = true;
  params.add_content_sha256 = false;

  // The .req files already hold X-Amz-Date (and the token header), which the signer adds itself.
  const std::optional<std::string> date = take_header(raw.headers, "x-amz-date");
  ASSERT_TRUE(date.has_value());
  params.time = from_amz_date(*date);
  take_header(raw.headers, "x-amz-security-token");
  if (GetParam().starts_with("post-sts-token/")) {
    std::string readme = read_text(kClassic / "post-sts-token" / "readme.txt");
    while (!readme.empty() && (readme.back() == '\n' || readme.back() == '\r')) readme.pop_back();
    params.creds.session_token = readme.substr(readme.rfind('\n') + 1);
    ASSERT_TRUE(params.creds.session_token.starts_with("AQoDYXdzEPT"));
    params.omit_session_token = name == "post-sts-header-after";
  }

  RequestToSign request;
  request.method = raw.method;
  request.path = raw.path;
  request.query = raw.query;
  request.headers = raw.headers;
  request.payload_hash = sha256_hex(raw.body);
  if (name == "post-x-www-form-urlencoded-parameters") {
    // Quirk: this suite signs the form body as the query string, with an empty payload.
    request.query = parse_query(raw.body);
    request.payload_hash = sha256_hex("");
  }

  auto signed_request = sign_with_headers(request, params);
  ASSERT_TRUE(signed_request) << signed_request.error().detail;

  std::string creq = read_text(base.string() + ".creq");
  if (name == "post-x-www-form-urlencoded") {
    // Quirk: the upstream .creq lists "host;x-amz-date"; its .sts was made from this line.
    const std::string wrong = "\n\nhost;x-amz-date\n";
    ASSERT_NE(creq.find(wrong), std::string::npos);
    creq.replace(creq.find(wrong), wrong.size(), "\n\ncontent-type;host;x-amz-date\n");
  }
  EXPECT_EQ(signed_request->steps.canonical_request, creq);
  EXPECT_EQ(signed_request->steps.string_to_sign, read_text(base.string() + ".sts"));
  EXPECT_EQ(header_value(signed_request->headers, "authorization"),
            read_text(base.string() + ".authz"));

  // Every header we add appears in the .sreq with the same value.
  const RawRequest sreq =
      parse_request(read_text(base.string() + ".sreq"), Folding::kRepeatedHeaders);
  for (const auto& [added, value] : signed_request->headers) {
    std::string expected = header_value(sreq.headers, lower(added));
    expected.erase(0, expected.find_first_not_of(' '));
    EXPECT_EQ(value, expected) << added;
  }
}

INSTANTIATE_TEST_SUITE_P(Vectors, SigV4ClassicSuite, testing::ValuesIn(classic_cases()),
                         [](const auto& info) { return test_name(info.param); });

// ---- S3 API Reference examples ------------------------------------------------------------------

const json::object& s3_docs() {
  static const json::object doc = json::parse(read_text(kS3Docs)).as_object();
  return doc;
}

std::vector<std::string> s3_doc_cases() {
  std::vector<std::string> out;
  if (!fs::exists(kS3Docs)) return out;
  for (const auto& c : s3_docs().at("cases").as_array()) {
    out.push_back(json::value_to<std::string>(c.at("name")));
  }
  return out;
}

json::object s3_doc_case(std::string_view name) {
  for (const auto& c : s3_docs().at("cases").as_array()) {
    if (c.at("name").as_string() == name) return c.as_object();
  }
  ADD_FAILURE() << "no case " << name;
  return {};
}

std::string str(const json::object& o, std::string_view key) {
  return json::value_to<std::string>(o.at(key));
}

Headers json_headers(const json::value& v) {
  Headers out;
  for (const auto& pair : v.as_array()) {
    out.emplace_back(json::value_to<std::string>(pair.at(0)),
                     json::value_to<std::string>(pair.at(1)));
  }
  return out;
}

SigningParams s3_doc_params() {
  const json::object& common = s3_docs().at("s3_common").as_object();
  SigningParams p;
  p.creds.access_key_id = str(common, "access_key_id");
  p.creds.secret_access_key = str(common, "secret_access_key");
  p.region = str(common, "region");
  p.service = str(common, "service");
  p.time = from_amz_date(str(common, "x_amz_date"));
  return p;
}

TEST(SigV4S3DocExamples, SigningKeyMatches) {
  const json::object& common = s3_docs().at("s3_common").as_object();
  const SigningParams p = s3_doc_params();
  EXPECT_EQ(hex_encode(derive_signing_key(p.creds.secret_access_key, p.time, p.region, p.service)),
            str(common, "signing_key_hex"));
  EXPECT_EQ(credential_scope(p.time, p.region, p.service), str(common, "credential_scope"));
}

class SigV4S3DocExample : public testing::TestWithParam<std::string> {};

TEST_P(SigV4S3DocExample, Matches) {
  const json::object c = s3_doc_case(GetParam());
  const json::object& req = c.at("request").as_object();
  const std::string auth = str(c, "auth");
  SigningParams params = s3_doc_params();
  EXPECT_FALSE(params.normalize_path || params.double_encode_path);

  RequestToSign request;
  request.method = str(req, "method");
  request.path = str(req, "path");
  request.headers = json_headers(req.at("headers"));
  request.payload_hash = str(c, "payload_hash");
  if (req.contains("body") && is_sha256_hex(request.payload_hash)) {
    EXPECT_EQ(sha256_hex(str(req, "body")), request.payload_hash);
  }

  std::string host = header_value(request.headers, "host");
  const SigningSteps* steps = nullptr;
  Result<HeaderSignature> header_signature = Error::Internal("not signed");
  Result<PresignedQuery> presigned = Error::Internal("not signed");

  if (auth == "query") {
    // The case lists the X-Amz-* parameters presign adds; only the lifetime is an input.
    std::chrono::seconds expires{0};
    for (const auto& [name, value] : json_headers(req.at("query_params"))) {
      if (name == "X-Amz-Expires") expires = std::chrono::seconds(std::stoll(value));
      ASSERT_TRUE(name.starts_with("X-Amz-")) << name;
    }
    presigned = presign(request, params, expires);
    ASSERT_TRUE(presigned) << presigned.error().detail;
    steps = &presigned->steps;
    EXPECT_EQ("https://" + host + request.path + "?" + presigned->query, str(c, "presigned_url"));
  } else {
    request.query = parse_query(str(req, "query"));
    // The listed headers include the ones the signer adds; they must agree with the inputs.
    EXPECT_EQ(take_header(request.headers, "x-amz-date"), format_amz_date(params.time));
    EXPECT_EQ(take_header(request.headers, "x-amz-content-sha256"), request.payload_hash);
    header_signature = sign_with_headers(request, params);
    ASSERT_TRUE(header_signature) << header_signature.error().detail;
    steps = &header_signature->steps;
    // The S3 pages write the Authorization parts separated by "," and the SDKs (and we) by ", ";
    // S3 accepts both.
    std::string authorization = header_value(header_signature->headers, "authorization");
    for (std::size_t pos; (pos = authorization.find(", ")) != std::string::npos;) {
      authorization.erase(pos + 1, 1);
    }
    EXPECT_EQ(authorization, str(c, "authorization"));
    EXPECT_NE(authorization.find(",SignedHeaders=" + str(c, "signed_headers") + ","),
              std::string::npos);
  }

  EXPECT_EQ(steps->canonical_request, str(c, "canonical_request"));
  EXPECT_EQ(sha256_hex(steps->canonical_request), str(c, "canonical_request_sha256"));
  EXPECT_EQ(steps->string_to_sign, str(c, "string_to_sign"));
  EXPECT_EQ(steps->signature, str(c, auth == "header-streaming" ? "seed_signature" : "signature"));

  if (auth != "header-streaming") return;
  // aws-chunked: each chunk's signature chains on the previous one, starting from the seed.
  const std::string scope = credential_scope(params.time, params.region, params.service);
  const SigningKey key = derive_signing_key(params.creds.secret_access_key, params.time,
                                            params.region, params.service);
  std::string previous = steps->signature;
  for (const auto& chunk_value : c.at("chunks").as_array()) {
    const json::object& chunk = chunk_value.as_object();
    const json::object& data = chunk.at("data").as_object();
    const std::size_t length = data.at("length").to_number<std::size_t>();
    const std::string bytes(length, str(data, "byte").at(0));
    EXPECT_EQ(sha256_hex(bytes), str(chunk, "data_sha256"));
    const std::string sts = chunk_string_to_sign(params.time, scope, previous, sha256_hex(bytes));
    EXPECT_EQ(sts, str(chunk, "string_to_sign"));
    const std::string signature = compute_signature(key, sts);
    EXPECT_EQ(signature, str(chunk, "signature"));
    std::ostringstream frame;
    frame << std::hex << length << ";chunk-signature=" << signature << "\r\n";
    EXPECT_EQ(frame.str(), str(chunk, "frame_header"));
    previous = signature;
  }
  if (!c.contains("trailer")) return;
  const json::object& trailer = c.at("trailer").as_object();
  const std::string canonical_trailer = str(trailer, "canonical_trailer");
  EXPECT_EQ(sha256_hex(canonical_trailer), str(trailer, "canonical_trailer_sha256"));
  const std::string sts = trailer_string_to_sign(params.time, scope, previous, canonical_trailer);
  EXPECT_EQ(sts, str(trailer, "string_to_sign"));
  const std::string signature = compute_signature(key, sts);
  EXPECT_EQ(signature, str(trailer, "signature"));
  std::string wire = canonical_trailer;
  wire.replace(wire.size() - 1, 1, "\r\n");
  wire += "x-amz-trailer-signature:" + signature + "\r\n\r\n";
  EXPECT_EQ(wire, str(trailer, "wire"));
}

INSTANTIATE_TEST_SUITE_P(Vectors, SigV4S3DocExample, testing::ValuesIn(s3_doc_cases()),
                         [](const auto& info) { return test_name(info.param); });

TEST(SigV4GeneralReference, AllMatch) {
  const json::array& examples = s3_docs().at("general_reference_examples").as_array();
  ASSERT_EQ(examples.size(), kGeneralReferenceCases);
  int run = 0;
  for (const auto& value : examples) {
    const json::object& e = value.as_object();
    SCOPED_TRACE(str(e, "name"));
    if (e.contains("kSigning_hex")) {
      const SystemTime day = from_amz_date(str(e, "date") + "T000000Z");
      EXPECT_EQ(hex_encode(derive_signing_key(str(e, "secret_access_key"), day, str(e, "region"),
                                              str(e, "service"))),
                str(e, "kSigning_hex"));
      ++run;
      continue;
    }
    // IAM ListUsers: a generic service, so normalize and double-encode; no x-amz-content-sha256.
    SigningParams p;
    p.creds = {str(e, "access_key_id"), str(e, "secret_access_key"), ""};
    p.region = str(e, "region");
    p.service = str(e, "service");
    p.time = from_amz_date(str(e, "x_amz_date"));
    p.normalize_path = true;
    p.double_encode_path = true;
    p.add_content_sha256 = false;
    const json::object& req = e.at("request").as_object();
    const std::string url = str(req, "url");
    const std::string prefix = "https://iam.amazonaws.com";
    ASSERT_TRUE(url.starts_with(prefix));
    const std::string target = url.substr(prefix.size());
    RequestToSign r;
    r.method = str(req, "method");
    r.path = target.substr(0, target.find('?'));
    r.query = parse_query(target.substr(target.find('?') + 1));
    r.headers = json_headers(req.at("headers"));
    EXPECT_EQ(take_header(r.headers, "x-amz-date"), format_amz_date(p.time));
    r.payload_hash = sha256_hex(str(req, "body"));
    auto signed_request = sign_with_headers(r, p);
    ASSERT_TRUE(signed_request) << signed_request.error().detail;
    EXPECT_EQ(signed_request->steps.canonical_request, str(e, "canonical_request"));
    EXPECT_EQ(signed_request->steps.string_to_sign, str(e, "string_to_sign"));
    EXPECT_EQ(
        hex_encode(derive_signing_key(p.creds.secret_access_key, p.time, p.region, p.service)),
        str(e, "signing_key_hex"));
    EXPECT_EQ(signed_request->steps.signature, str(e, "signature"));
    EXPECT_EQ(header_value(signed_request->headers, "authorization"), str(e, "authorization"));
    ++run;
  }
  EXPECT_EQ(run, static_cast<int>(kGeneralReferenceCases));
}

// ---- Completeness -------------------------------------------------------------------------------

TEST(SigV4Vectors, FindsEveryCase) {
  EXPECT_EQ(aws_c_auth_cases().size(), kAwsCAuthV4Cases) << kAwsCAuthV4;
  EXPECT_EQ(classic_cases().size(), kClassicCases) << kClassic;
  EXPECT_EQ(s3_doc_cases().size(), kS3DocCases) << kS3Docs;
  // Every aws-c-auth case has all its expected outputs, so none can pass by having nothing to
  // compare.
  for (const std::string& name : aws_c_auth_cases()) {
    for (const char* file :
         {"context.json", "request.txt", "header-canonical-request.txt",
          "header-string-to-sign.txt", "header-signature.txt", "header-signed-request.txt",
          "query-canonical-request.txt", "query-string-to-sign.txt", "query-signature.txt",
          "query-signed-request.txt"}) {
      EXPECT_TRUE(fs::exists(kAwsCAuthV4 / name / file)) << name << "/" << file;
    }
  }
  for (const std::string& name : classic_cases()) {
    const std::string base = fs::path(name).filename().string();
    for (const char* ext : {".req", ".creq", ".sts", ".authz", ".sreq"}) {
      EXPECT_TRUE(fs::exists(kClassic / name / (base + ext))) << name << ext;
    }
  }
}

TEST(SigV4Vectors, SkipsOnlySigV4a) {
  // SigV4a (ECDSA) is not implemented, so its 40 aws-c-auth cases are not copied. If they appear,
  // implement SigV4a or list them here as skipped.
  EXPECT_FALSE(fs::exists(kVectors / "aws-c-auth" / "aws-signing-test-suite" / "v4a"));
}

}  // namespace
}  // namespace coffer::s3
