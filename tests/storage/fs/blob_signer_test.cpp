#include "storage/fs/blob_signer.h"

#include <gtest/gtest.h>

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>
#include <cctype>
#include <functional>
#include <map>
#include <stdexcept>

#include "core/crypto.h"
#include "core/encoding.h"

namespace coffer::storage {
namespace {

using namespace std::chrono_literals;

const std::string kSecret(32, 'k');
const SystemTime kNow = from_unix_seconds(1767225600);  // 2026-01-01T00:00:00Z

struct ParsedUrl {
  std::string path;  // decoded
  std::map<std::string, std::string> query;
};

// Reads a URL back with Boost.URL, as the /blob route will.
ParsedUrl parse(const std::string& url) {
  auto u = boost::urls::parse_uri(url);
  EXPECT_TRUE(u.has_value()) << url;
  ParsedUrl out;
  if (!u) return out;
  out.path = u->path();
  for (auto p : u->params()) {
    EXPECT_EQ(out.query.count(p.key), 0u) << "repeated " << p.key;
    out.query[p.key] = p.value;
  }
  return out;
}

PresignRequest put_request(std::string key) {
  PresignRequest r;
  r.method = PresignMethod::kPut;
  r.key = std::move(key);
  r.expires_in = 900s;
  r.now = kNow;
  r.content_length = 5;
  r.content_type = "text/plain; charset=utf-8";
  r.sha256 = sha256_hex("hello");
  return r;
}

TEST(BlobSigner, PutUrlHasTheDocumentedShape) {
  BlobSigner signer(kSecret, "http://127.0.0.1:8080/");
  auto url = signer.sign(put_request("t1/a b+c"));
  const std::string sha = sha256_hex("hello");
  // The canonical string, written out: this pins the signed format.
  const std::string canonical = "COFFER-BLOB-V2\n3:PUT\n8:t1/a b+c\n10:1767226500\n1:5\n64:" + sha +
                                "\n25:text/plain; charset=utf-8\n0:\n0:\n0:\n";
  const std::string sig = hex_encode(hmac_sha256(kSecret, canonical));
  EXPECT_EQ(
      url.url,
      "http://127.0.0.1:8080/blob/t1/a%20b%2Bc?method=PUT&expires=1767226500&length=5&sha256=" +
          sha + "&content_type=text%2Fplain%3B%20charset%3Dutf-8&signature=" + sig);
  EXPECT_EQ(url.expires_at, kNow + 900s);
  EXPECT_EQ(url.headers,
            (std::map<std::string, std::string>{{"Content-Length", "5"},
                                                {"Content-Type", "text/plain; charset=utf-8"},
                                                {"X-Checksum-Sha256", sha}}));
}

TEST(BlobSigner, GetUrlBindsTheDispositionAndNeedsNoHeaders) {
  BlobSigner signer(kSecret, "https://files.example.com");
  PresignRequest r;
  r.key = "t/k";
  r.now = kNow;
  r.expires_in = 60s;
  r.content_length = 99;  // PUT only: ignored for a GET
  r.response_content_disposition = "attachment; filename*=UTF-8''q1.pdf";
  auto url = signer.sign(r);
  EXPECT_TRUE(
      url.url.starts_with("https://files.example.com/blob/t/k?method=GET&expires=1767225660"
                          "&disposition=attachment%3B%20filename%2A%3DUTF-8%27%27q1.pdf"
                          "&signature="))
      << url.url;
  EXPECT_TRUE(url.headers.empty());
  auto parsed = parse(url.url);
  auto grant = signer.verify("GET", "t/k", parsed.query, kNow);
  ASSERT_TRUE(grant.has_value());
  EXPECT_EQ(grant->method, PresignMethod::kGet);
  EXPECT_EQ(grant->response_content_disposition, r.response_content_disposition);
  EXPECT_FALSE(grant->content_length.has_value());
}

TEST(BlobSigner, VerifiesWhatItSigned) {
  BlobSigner signer(kSecret, "http://localhost:8080");
  const std::string key = "t/caf\xC3\xA9 #?%&=+/x";
  auto url = signer.sign(put_request(key));
  auto parsed = parse(url.url);
  ASSERT_TRUE(parsed.path.starts_with(kBlobPathPrefix));
  EXPECT_EQ(parsed.path.substr(kBlobPathPrefix.size()), key);
  auto grant = signer.verify("PUT", key, parsed.query, kNow + 899s);
  ASSERT_TRUE(grant.has_value()) << grant.error().message;
  EXPECT_EQ(grant->method, PresignMethod::kPut);
  EXPECT_EQ(grant->key, key);
  EXPECT_EQ(grant->expires_at, kNow + 900s);
  EXPECT_EQ(grant->content_length, 5u);
  EXPECT_EQ(grant->sha256, sha256_hex("hello"));
  EXPECT_EQ(grant->content_type, "text/plain; charset=utf-8");
  EXPECT_EQ(grant->response_content_disposition, "");
}

TEST(BlobSigner, ExpiresAtTheStatedSecond) {
  BlobSigner signer(kSecret, "http://localhost:8080");
  auto parsed = parse(signer.sign(put_request("t/k")).url);
  EXPECT_TRUE(signer.verify("PUT", "t/k", parsed.query, kNow + 900s - 1ms).has_value());
  auto expired = signer.verify("PUT", "t/k", parsed.query, kNow + 900s);
  ASSERT_FALSE(expired.has_value());
  EXPECT_EQ(expired.error().code, ErrorCode::kForbidden);
}

TEST(BlobSigner, UploadsBindTheUpperCaseChecksumLowerCased) {
  BlobSigner signer(kSecret, "http://localhost:8080");
  auto request = put_request("t/k");
  std::string upper = request.sha256;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  request.sha256 = upper;
  auto url = signer.sign(request);
  EXPECT_EQ(url.headers.at("X-Checksum-Sha256"), sha256_hex("hello"));
  EXPECT_TRUE(signer.verify("PUT", "t/k", parse(url.url).query, kNow).has_value());
}

TEST(BlobSigner, UnboundPutCarriesOnlyMethodExpiryAndSignature) {
  BlobSigner signer(kSecret, "http://localhost:8080");
  PresignRequest r;
  r.method = PresignMethod::kPut;
  r.key = "t/k";
  r.now = kNow;
  auto url = signer.sign(r);
  auto parsed = parse(url.url);
  EXPECT_EQ(parsed.query.size(), 3u);
  EXPECT_TRUE(url.headers.empty());
  auto grant = signer.verify("PUT", "t/k", parsed.query, kNow);
  ASSERT_TRUE(grant.has_value());
  EXPECT_FALSE(grant->content_length.has_value());
  EXPECT_EQ(grant->sha256, "");
}

// Each case changes one thing in a valid request; every one must be refused with 403.
struct Tamper {
  std::string name;
  std::function<void(std::string& method, std::string& key, std::map<std::string, std::string>&,
                     SystemTime& now)>
      apply;
};

// `url`, a PUT of key "t1/obj" that verifies as it is, is refused with 403 once `tamper` changed it.
void expect_refused_once_tampered(const BlobSigner& signer, const std::string& url,
                                  const Tamper& tamper) {
  auto parsed = parse(url);
  std::string method = "PUT";
  std::string key = "t1/obj";
  SystemTime now = kNow;
  ASSERT_TRUE(signer.verify(method, key, parsed.query, now).has_value());
  tamper.apply(method, key, parsed.query, now);
  auto r = signer.verify(method, key, parsed.query, now);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kForbidden);
}

class BlobSignerTampering : public ::testing::TestWithParam<Tamper> {};

TEST_P(BlobSignerTampering, IsRefused) {
  BlobSigner signer(kSecret, "http://localhost:8080");
  expect_refused_once_tampered(signer, signer.sign(put_request("t1/obj")).url, GetParam());
}

using Q = std::map<std::string, std::string>;
INSTANTIATE_TEST_SUITE_P(
    Cases, BlobSignerTampering,
    ::testing::Values(
        Tamper{"OtherKey", [](auto&, auto& k, auto&, auto&) { k = "t1/obj2"; }},
        Tamper{"OtherTenant", [](auto&, auto& k, auto&, auto&) { k = "t2/obj"; }},
        Tamper{"RequestMethod", [](auto& m, auto&, auto&, auto&) { m = "GET"; }},
        Tamper{"SignedMethod", [](auto&, auto&, Q& q, auto&) { q["method"] = "GET"; }},
        Tamper{"BothMethods",
               [](auto& m, auto&, Q& q, auto&) {
                 m = "GET";
                 q["method"] = "GET";
               }},
        Tamper{"LaterExpiry", [](auto&, auto&, Q& q, auto&) { q["expires"] = "1767226501"; }},
        Tamper{"PaddedExpiry", [](auto&, auto&, Q& q, auto&) { q["expires"] = "01767226500"; }},
        Tamper{"SignedExpiry", [](auto&, auto&, Q& q, auto&) { q["expires"] = "+1767226500"; }},
        Tamper{"NoExpiry", [](auto&, auto&, Q& q, auto&) { q.erase("expires"); }},
        Tamper{"Expired", [](auto&, auto&, auto&, SystemTime& n) { n = kNow + 901s; }},
        Tamper{"LongerLength", [](auto&, auto&, Q& q, auto&) { q["length"] = "6"; }},
        Tamper{"NoLength", [](auto&, auto&, Q& q, auto&) { q.erase("length"); }},
        Tamper{"OtherSha", [](auto&, auto&, Q& q, auto&) { q["sha256"] = sha256_hex("x"); }},
        Tamper{"NoSha", [](auto&, auto&, Q& q, auto&) { q.erase("sha256"); }},
        Tamper{"OtherType", [](auto&, auto&, Q& q, auto&) { q["content_type"] = "text/html"; }},
        Tamper{"AddedDisposition",
               [](auto&, auto&, Q& q, auto&) { q["disposition"] = "inline"; }},
        Tamper{"UnknownParam", [](auto&, auto&, Q& q, auto&) { q["x"] = "1"; }},
        Tamper{"NoSignature", [](auto&, auto&, Q& q, auto&) { q.erase("signature"); }},
        Tamper{"UpperCaseSignature",
               [](auto&, auto&, Q& q, auto&) {
                 for (auto& c : q["signature"]) c = static_cast<char>(std::toupper(c));
               }},
        Tamper{"FlippedSignature",
               [](auto&, auto&, Q& q, auto&) {
                 auto& s = q["signature"];
                 s[10] = s[10] == '0' ? '1' : '0';
               }},
        Tamper{"ShortSignature",
               [](auto&, auto&, Q& q, auto&) { q["signature"].pop_back(); }},
        Tamper{"HeadMethod", [](auto& m, auto&, auto&, auto&) { m = "HEAD"; }}),
    [](const ::testing::TestParamInfo<Tamper>& info) { return info.param.name; });

// ---- part URLs of direct uploads ----------------------------------------------------------------

PresignPartRequest part_request(int number = 2, std::string sha = "") {
  PresignPartRequest r;
  r.key = "t1/obj";
  r.upload_id = "0123456789abcdef0123456789abcdef";
  r.part_number = number;
  r.size = 5;
  r.sha256 = std::move(sha);
  r.expires_in = 900s;
  r.now = kNow;
  return r;
}

TEST(BlobSigner, PartUrlHasTheDocumentedShape) {
  BlobSigner signer(kSecret, "http://127.0.0.1:8080");
  auto url = signer.sign_part(part_request(2));
  const std::string canonical =
      "COFFER-BLOB-V2\n3:PUT\n6:t1/obj\n10:1767226500\n1:5\n0:\n0:\n0:\n"
      "32:0123456789abcdef0123456789abcdef\n1:2\n";
  const std::string sig = hex_encode(hmac_sha256(kSecret, canonical));
  EXPECT_EQ(url.url,
            "http://127.0.0.1:8080/blob/t1/obj?method=PUT&expires=1767226500&length=5"
            "&upload_id=0123456789abcdef0123456789abcdef&part=2&signature=" +
                sig);
  EXPECT_EQ(url.headers, (std::map<std::string, std::string>{{"Content-Length", "5"}}));
  auto grant = signer.verify("PUT", "t1/obj", parse(url.url).query, kNow);
  ASSERT_TRUE(grant.has_value()) << grant.error().message;
  EXPECT_EQ(grant->upload_id, "0123456789abcdef0123456789abcdef");
  EXPECT_EQ(grant->part_number, 2);
  EXPECT_EQ(grant->content_length, 5u);
  EXPECT_EQ(grant->sha256, "");
}

TEST(BlobSigner, PartUrlBindsAChecksumAndAZeroLength) {
  BlobSigner signer(kSecret, "http://127.0.0.1:8080");
  auto request = part_request(1, sha256_hex(""));
  request.size = 0;
  auto url = signer.sign_part(request);
  EXPECT_EQ(url.headers, (std::map<std::string, std::string>{
                             {"Content-Length", "0"}, {"X-Checksum-Sha256", sha256_hex("")}}));
  auto grant = signer.verify("PUT", "t1/obj", parse(url.url).query, kNow);
  ASSERT_TRUE(grant.has_value()) << grant.error().message;
  EXPECT_EQ(grant->content_length, 0u);
  EXPECT_EQ(grant->sha256, sha256_hex(""));
  EXPECT_EQ(grant->part_number, 1);
}

TEST(BlobSigner, ObjectUrlsCarryNoUpload) {
  BlobSigner signer(kSecret, "http://localhost:8080");
  auto grant = signer.verify("PUT", "t/k", parse(signer.sign(put_request("t/k")).url).query, kNow);
  ASSERT_TRUE(grant.has_value());
  EXPECT_EQ(grant->upload_id, "");
  EXPECT_EQ(grant->part_number, 0);
}

class BlobSignerPartTampering : public ::testing::TestWithParam<Tamper> {};

TEST_P(BlobSignerPartTampering, IsRefused) {
  BlobSigner signer(kSecret, "http://localhost:8080");
  expect_refused_once_tampered(signer, signer.sign_part(part_request(2, sha256_hex("hello"))).url,
                               GetParam());
}

INSTANTIATE_TEST_SUITE_P(
    Cases, BlobSignerPartTampering,
    ::testing::Values(
        Tamper{"OtherKey", [](auto&, auto& k, auto&, auto&) { k = "t1/obj2"; }},
        Tamper{"OtherUpload",
               [](auto&, auto&, Q& q, auto&) { q["upload_id"] = "0123456789abcdef0123456789abcdee"; }},
        Tamper{"OtherPart", [](auto&, auto&, Q& q, auto&) { q["part"] = "3"; }},
        Tamper{"PaddedPart", [](auto&, auto&, Q& q, auto&) { q["part"] = "02"; }},
        Tamper{"PartZero", [](auto&, auto&, Q& q, auto&) { q["part"] = "0"; }},
        Tamper{"PartPastTheLimit", [](auto&, auto&, Q& q, auto&) { q["part"] = "10001"; }},
        Tamper{"NoPart", [](auto&, auto&, Q& q, auto&) { q.erase("part"); }},
        Tamper{"NoUpload", [](auto&, auto&, Q& q, auto&) { q.erase("upload_id"); }},
        // Without both, what is left must not pass as a URL for the whole object.
        Tamper{"NoUploadNorPart",
               [](auto&, auto&, Q& q, auto&) {
                 q.erase("upload_id");
                 q.erase("part");
               }},
        Tamper{"LongerLength", [](auto&, auto&, Q& q, auto&) { q["length"] = "6"; }},
        Tamper{"NoLength", [](auto&, auto&, Q& q, auto&) { q.erase("length"); }},
        Tamper{"NoSha", [](auto&, auto&, Q& q, auto&) { q.erase("sha256"); }},
        Tamper{"AsGet",
               [](auto& m, auto&, Q& q, auto&) {
                 m = "GET";
                 q["method"] = "GET";
               }},
        Tamper{"Expired", [](auto&, auto&, auto&, SystemTime& n) { n = kNow + 900s; }}),
    [](const ::testing::TestParamInfo<Tamper>& info) { return info.param.name; });

TEST(BlobSigner, AnObjectUrlCannotBeTurnedIntoAPartUrl) {
  BlobSigner signer(kSecret, "http://localhost:8080");
  auto parsed = parse(signer.sign(put_request("t1/obj")).url);
  parsed.query["upload_id"] = "0123456789abcdef0123456789abcdef";
  parsed.query["part"] = "1";
  EXPECT_EQ(signer.verify("PUT", "t1/obj", parsed.query, kNow).error().code, ErrorCode::kForbidden);
}

TEST(BlobSigner, UrlsOfAnotherKeyAreRefused) {
  BlobSigner ours(kSecret, "http://localhost:8080");
  BlobSigner theirs(std::string(32, 'o'), "http://localhost:8080");
  auto parsed = parse(theirs.sign(put_request("t/k")).url);
  auto r = ours.verify("PUT", "t/k", parsed.query, kNow);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kForbidden);
}

TEST(BlobSigner, ConstructionRefusesWeakKeysAndOddBases) {
  EXPECT_THROW(BlobSigner(std::string(31, 'k'), "http://localhost"), std::invalid_argument);
  EXPECT_THROW(BlobSigner(kSecret, "localhost:8080"), std::invalid_argument);
  EXPECT_THROW(BlobSigner(kSecret, "ftp://localhost"), std::invalid_argument);
  EXPECT_THROW(BlobSigner(kSecret, "http://"), std::invalid_argument);
  EXPECT_THROW(BlobSigner(kSecret, "http://host?x=1"), std::invalid_argument);
  EXPECT_THROW(BlobSigner(kSecret, "http://ho st"), std::invalid_argument);
  EXPECT_EQ(BlobSigner(kSecret, "https://h.example:8443//").base_url(), "https://h.example:8443");
}

TEST(BlobKeyEncoding, KeepsSlashesAndUnreservedOnly) {
  EXPECT_EQ(encode_blob_key("t/a-b_c.d~e"), "t/a-b_c.d~e");
  EXPECT_EQ(encode_blob_key("a b+c%d#e?f&g=h"), "a%20b%2Bc%25d%23e%3Ff%26g%3Dh");
  EXPECT_EQ(encode_blob_key("caf\xC3\xA9"), "caf%C3%A9");
}

}  // namespace
}  // namespace coffer::storage
