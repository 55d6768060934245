// Error mapping, Content-MD5, Range and Content-Range, ETags.
#include "storage/s3/s3_protocol.h"

#include <gtest/gtest.h>

namespace coffer::s3 {
namespace {

S3ErrorInfo info(std::string code, std::string message = {}, std::string request_id = {}) {
  return {std::move(code), std::move(message), std::move(request_id)};
}

TEST(S3ErrorMapping, EachAnswerMeansWhatCofferNeeds) {
  struct Case {
    int status;
    const char* code;
    ErrorCode want;
  };
  for (Case c :
       {Case{404, "NoSuchKey", ErrorCode::kNotFound},
        Case{404, "", ErrorCode::kNotFound},  // HEAD: no body
        Case{404, "NoSuchUpload", ErrorCode::kNotFound},
        Case{404, "NoSuchBucket", ErrorCode::kStorageUnavailable},
        Case{416, "InvalidRange", ErrorCode::kRangeNotSatisfiable},
        Case{412, "PreconditionFailed", ErrorCode::kPreconditionFailed},
        Case{400, "InvalidPart", ErrorCode::kBadRequest},
        Case{400, "InvalidPartOrder", ErrorCode::kBadRequest},
        Case{400, "EntityTooSmall", ErrorCode::kBadRequest},
        Case{400, "XAmzContentSHA256Mismatch", ErrorCode::kBadRequest},
        Case{400, "BadDigest", ErrorCode::kBadRequest},
        Case{500, "InternalError", ErrorCode::kStorageUnavailable},
        Case{503, "SlowDown", ErrorCode::kStorageUnavailable},
        Case{502, "", ErrorCode::kStorageUnavailable},
        Case{403, "AccessDenied", ErrorCode::kInternal},
        Case{403, "SignatureDoesNotMatch", ErrorCode::kInternal},
        Case{403, "", ErrorCode::kInternal}, Case{400, "InvalidArgument", ErrorCode::kInternal},
        Case{301, "PermanentRedirect", ErrorCode::kInternal}}) {
    const Error e = error_for_response(c.status, info(c.code), "GET t/k");
    EXPECT_EQ(e.code, c.want) << c.status << " " << c.code;
  }
}

TEST(S3ErrorMapping, UnavailableCarriesRetryAfter) {
  const Error e = error_for_response(503, info("SlowDown"), "PUT k");
  EXPECT_EQ(e.code, ErrorCode::kStorageUnavailable);
  EXPECT_GT(e.retry_after_seconds, 0);
}

TEST(S3ErrorMapping, DetailNamesTheCallAndTheAnswerButTheMessageDoesNot) {
  const Error e = error_for_response(403, info("AccessDenied", "", "tx0001"), "GET t/secret-key");
  EXPECT_NE(e.detail.find("GET t/secret-key"), std::string::npos);
  EXPECT_NE(e.detail.find("403"), std::string::npos);
  EXPECT_NE(e.detail.find("AccessDenied"), std::string::npos);
  EXPECT_NE(e.detail.find("tx0001"), std::string::npos);
  EXPECT_EQ(e.message.find("secret-key"), std::string::npos);
}

TEST(S3ContentMd5, MatchesKnownDigests) {
  EXPECT_EQ(content_md5(""), "1B2M2Y8AsgTpgAmY7PhCfg==");
  EXPECT_EQ(content_md5("hello"), "XUFAKrxLKna5cZ2REBfFkg==");
}

TEST(S3Range, HeaderAndContentRange) {
  EXPECT_EQ(range_header({0, 0}), "bytes=0-0");
  EXPECT_EQ(range_header({1000, 1999}), "bytes=1000-1999");

  auto cr = parse_content_range("bytes 0-99/1000");
  ASSERT_TRUE(cr.has_value());
  EXPECT_EQ(cr->first, 0u);
  EXPECT_EQ(cr->last, 99u);
  EXPECT_EQ(cr->total, 1000u);
  auto unknown = parse_content_range("bytes 5-9/*");
  ASSERT_TRUE(unknown.has_value());
  EXPECT_FALSE(unknown->total.has_value());
  for (const char* bad : {"", "bytes", "bytes 0-99", "bytes 9-0/10", "bytes 0-10/10", "items 0-1/5",
                          "bytes -1-5/10", "bytes 0-x/10", "bytes */10"}) {
    EXPECT_FALSE(parse_content_range(bad).has_value()) << bad;
  }
}

TEST(S3Etag, AlwaysOnePairOfQuotes) {
  EXPECT_EQ(quoted_etag("\"abc\""), "\"abc\"");
  EXPECT_EQ(quoted_etag("abc"), "\"abc\"");
  EXPECT_EQ(quoted_etag("abc-2"), "\"abc-2\"");
  EXPECT_EQ(quoted_etag(""), "\"\"");
}

}  // namespace
}  // namespace coffer::s3
