// COFFER_STORAGE_URL=s3://bucket[/key-prefix]
#include <gtest/gtest.h>

#include "storage/s3/s3_object_store.h"

namespace coffer::storage {
namespace {

TEST(S3StorageUrl, BucketAndOptionalPrefix) {
  struct Case {
    const char* url;
    const char* bucket;
    const char* prefix;
  };
  for (Case c : {Case{"s3://bucket", "bucket", ""}, Case{"s3://bucket/", "bucket", ""},
                 Case{"s3://bucket/coffer", "bucket", "coffer/"},
                 Case{"s3://bucket/coffer/", "bucket", "coffer/"},
                 Case{"s3://my.bucket_1/prod/eu", "my.bucket_1", "prod/eu/"}}) {
    auto parsed = parse_s3_storage_url(c.url);
    ASSERT_TRUE(parsed.has_value()) << c.url;
    EXPECT_EQ(parsed->bucket, c.bucket) << c.url;
    EXPECT_EQ(parsed->key_prefix, c.prefix) << c.url;
  }
}

TEST(S3StorageUrl, RefusesWhatCannotBeAPlaceForObjects) {
  for (const char* url :
       {"", "s3:/bucket", "file:///var/coffer", "S3://bucket", "s3://", "s3:///prefix",
        "s3://bu cket", "s3://bucket?x", "s3://bucket//x", "s3://bucket/a//b", "s3://bucket/./a",
        "s3://bucket/a/..", "s3://bucket/a\\b",
        "s3://bucket/a\x01"
        "b",
        "s3://bucket/a/\x7f"}) {
    EXPECT_FALSE(parse_s3_storage_url(url).has_value()) << url;
  }
}

}  // namespace
}  // namespace coffer::storage
