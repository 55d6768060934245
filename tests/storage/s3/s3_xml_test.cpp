// The XML of S3 answers, on canned bodies: Ceph RGW 16 (captured from the test cluster) and the
// examples of the AWS S3 API reference.
#include "storage/s3/s3_xml.h"

#include <gtest/gtest.h>

#include "core/clock.h"

namespace coffer::s3 {
namespace {

// ---- errors ---------------------------------------------------------------------------------

TEST(S3ErrorXml, CephErrorWithEmptyMessage) {
  const auto info = parse_error(
      R"(<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code><Message></Message>)"
      R"(<BucketName>test-bucket</BucketName><RequestId>tx00000b0017688a016deae-006b0a7cf4-100c-default</RequestId>)"
      R"(<HostId>100c-default-default</HostId></Error>)");
  EXPECT_EQ(info.code, "NoSuchKey");
  EXPECT_EQ(info.message, "");
  EXPECT_EQ(info.request_id, "tx00000b0017688a016deae-006b0a7cf4-100c-default");
}

TEST(S3ErrorXml, AwsErrorWithMessage) {
  const auto info = parse_error(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>\n  <Code>SlowDown</Code>\n"
      "  <Message>Please reduce your request rate.</Message>\n  "
      "<RequestId>4442587FB7D0A2F9</RequestId>\n"
      "</Error>");
  EXPECT_EQ(info.code, "SlowDown");
  EXPECT_EQ(info.message, "Please reduce your request rate.");
  EXPECT_EQ(info.request_id, "4442587FB7D0A2F9");
}

TEST(S3ErrorXml, StsShapeIsUnwrapped) {
  const auto info = parse_error(
      "<ErrorResponse><Error><Code>AccessDenied</Code><Message>no</Message></Error>"
      "<RequestId>r</RequestId></ErrorResponse>");
  EXPECT_EQ(info.code, "AccessDenied");
  EXPECT_EQ(info.message, "no");
}

TEST(S3ErrorXml, AnythingElseYieldsEmptyFields) {
  for (const char* body : {"", "not xml", "<html><body>502 Bad Gateway</body></html>", "<Error>",
                           "<Other><Code>X</Code></Other>"}) {
    const auto info = parse_error(body);
    EXPECT_EQ(info.code, "") << body;
    EXPECT_EQ(info.message, "") << body;
  }
}

TEST(S3ErrorXml, CodeIsTrimmed) {
  EXPECT_EQ(parse_error("<Error><Code>\n  InternalError \n</Code></Error>").code, "InternalError");
}

// ---- ListObjectsV2 --------------------------------------------------------------------------

TEST(S3ListXml, CephTruncatedPageWithPlainKeyToken) {
  auto page = parse_list_objects_v2(
      R"(<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">)"
      R"(<Name>test-bucket</Name><Prefix>k/</Prefix><MaxKeys>2</MaxKeys><IsTruncated>true</IsTruncated>)"
      R"(<Contents><Key>k/%2F</Key><LastModified>2026-11-28T06:53:04.675Z</LastModified>)"
      R"(<ETag>&quot;9dd4e461268c8034f5c8564e155c67a6&quot;</ETag><Size>1</Size><StorageClass>STANDARD</StorageClass>)"
      R"(<Type>Normal</Type></Contents><Contents><Key>k/caf)"
      "\xC3\xA9"
      R"(</Key><LastModified>2026-11-28T06:53:04.668Z</LastModified>)"
      R"(<ETag>&quot;9dd4e461268c8034f5c8564e155c67a6&quot;</ETag><Size>12345678901</Size><StorageClass>STANDARD</StorageClass>)"
      R"(<Type>Normal</Type></Contents><NextContinuationToken>k/caf)"
      "\xC3\xA9"
      R"(</NextContinuationToken><KeyCount>2</KeyCount></ListBucketResult>)");
  ASSERT_TRUE(page.has_value()) << page.error().detail;
  ASSERT_EQ(page->objects.size(), 2u);
  EXPECT_EQ(page->objects[0].key, "k/%2F");
  EXPECT_EQ(page->objects[0].size, 1u);
  EXPECT_EQ(page->objects[0].etag, "\"9dd4e461268c8034f5c8564e155c67a6\"");
  EXPECT_EQ(page->objects[1].key, "k/caf\xC3\xA9");
  EXPECT_EQ(page->objects[1].size, 12345678901u);
  EXPECT_EQ(format_rfc3339(page->objects[0].last_modified), "2026-11-28T06:53:04Z");
  EXPECT_TRUE(page->is_truncated);
  EXPECT_EQ(page->next_continuation_token, "k/caf\xC3\xA9");
}

TEST(S3ListXml, AwsExampleWithCommonPrefixesAndEscapes) {
  auto page = parse_list_objects_v2(R"(<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>bucket</Name>
  <Prefix/>
  <KeyCount>2</KeyCount>
  <MaxKeys>1000</MaxKeys>
  <Delimiter>/</Delimiter>
  <IsTruncated>false</IsTruncated>
  <Contents>
    <Key>a&amp;b&lt;c&gt;.txt</Key>
    <LastModified>2009-10-12T17:50:30.000Z</LastModified>
    <ETag>"fba9dede5f27731c9771645a39863328"</ETag>
    <Size>434234</Size>
    <StorageClass>STANDARD</StorageClass>
  </Contents>
  <CommonPrefixes><Prefix>photos/</Prefix></CommonPrefixes>
  <CommonPrefixes><Prefix>videos/</Prefix></CommonPrefixes>
</ListBucketResult>)");
  ASSERT_TRUE(page.has_value()) << page.error().detail;
  ASSERT_EQ(page->objects.size(), 1u);
  EXPECT_EQ(page->objects[0].key, "a&b<c>.txt");
  EXPECT_EQ(page->objects[0].size, 434234u);
  EXPECT_EQ(format_rfc3339(page->objects[0].last_modified), "2009-10-12T17:50:30Z");
  EXPECT_EQ(page->common_prefixes, (std::vector<std::string>{"photos/", "videos/"}));
  EXPECT_FALSE(page->is_truncated);
  EXPECT_EQ(page->next_continuation_token, "");
}

TEST(S3ListXml, KeysWithSpacesAreKeptExactly) {
  auto page = parse_list_objects_v2(
      "<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key> lead and trail </Key>"
      "<LastModified>2026-01-01T00:00:00Z</LastModified><Size>0</Size></Contents></"
      "ListBucketResult>");
  ASSERT_TRUE(page.has_value());
  EXPECT_EQ(page->objects.at(0).key, " lead and trail ");
}

TEST(S3ListXml, EmptyListing) {
  auto page = parse_list_objects_v2(
      R"(<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name>)"
      R"(<Prefix>none/</Prefix><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>)"
      R"(<KeyCount>0</KeyCount></ListBucketResult>)");
  ASSERT_TRUE(page.has_value());
  EXPECT_TRUE(page->objects.empty());
}

TEST(S3ListXml, MalformedListingsAreErrors) {
  EXPECT_FALSE(parse_list_objects_v2("").has_value());
  EXPECT_FALSE(parse_list_objects_v2("<ListBucketResult>").has_value());
  EXPECT_FALSE(parse_list_objects_v2("<Other/>").has_value());
  EXPECT_FALSE(parse_list_objects_v2("<Error><Code>AccessDenied</Code></Error>").has_value());
  // A page that says there is more but gives no way to get it.
  EXPECT_FALSE(
      parse_list_objects_v2("<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>")
          .has_value());
  // Contents without a size or with a bad time.
  EXPECT_FALSE(parse_list_objects_v2(
                   "<ListBucketResult><Contents><Key>a</Key><LastModified>2026-01-01T00:00:00Z"
                   "</LastModified></Contents></ListBucketResult>")
                   .has_value());
  EXPECT_FALSE(
      parse_list_objects_v2("<ListBucketResult><Contents><Key>a</Key><Size>-1</Size><LastModified>"
                            "2026-01-01T00:00:00Z</LastModified></Contents></ListBucketResult>")
          .has_value());
  EXPECT_FALSE(parse_list_objects_v2(
                   "<ListBucketResult><Contents><Key>a</Key><Size>1</Size><LastModified>yesterday"
                   "</LastModified></Contents></ListBucketResult>")
                   .has_value());
}

// ---- multipart ------------------------------------------------------------------------------

TEST(S3MultipartXml, InitiateFromCeph) {
  auto id = parse_initiate_multipart_upload(
      R"(<?xml version="1.0" encoding="UTF-8"?><InitiateMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">)"
      R"(<Bucket>test-bucket</Bucket><Key>mp/obj</Key><UploadId>2~Yg5fRnoKmCQxGT1sFWk97f4Mvw-PjBz</UploadId>)"
      R"(</InitiateMultipartUploadResult>)");
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(*id, "2~Yg5fRnoKmCQxGT1sFWk97f4Mvw-PjBz");
  EXPECT_FALSE(
      parse_initiate_multipart_upload(
          "<InitiateMultipartUploadResult><UploadId></UploadId></InitiateMultipartUploadResult>")
          .has_value());
}

TEST(S3MultipartXml, CephCompleteHasAnEmptyEtag) {
  auto done = parse_complete_multipart_upload(
      R"(<?xml version="1.0" encoding="UTF-8"?><CompleteMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">)"
      R"(<Location>localhost/test-bucket/mp/obj</Location><Bucket>test-bucket</Bucket><Key>mp/obj</Key><ETag></ETag>)"
      R"(</CompleteMultipartUploadResult>)");
  ASSERT_TRUE(done.has_value());
  EXPECT_FALSE(done->error.has_value());
  EXPECT_EQ(done->etag, "");
}

TEST(S3MultipartXml, AwsCompleteHasAnEtag) {
  auto done = parse_complete_multipart_upload(
      "<CompleteMultipartUploadResult><Location>https://b.s3.amazonaws.com/k</Location>"
      "<Bucket>b</Bucket><Key>k</Key><ETag>\"3858f62230ac3c915f300c664312c11f-9\"</ETag>"
      "</CompleteMultipartUploadResult>");
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(done->etag, "\"3858f62230ac3c915f300c664312c11f-9\"");
}

TEST(S3MultipartXml, CompleteAnsweredWith200ButAnError) {
  auto done = parse_complete_multipart_upload(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\n<Error><Code>InternalError</Code>"
      "<Message>We encountered an internal error. Please try again.</Message>"
      "<RequestId>656c76696e6727732072657175657374</RequestId></Error>");
  ASSERT_TRUE(done.has_value());
  ASSERT_TRUE(done->error.has_value());
  EXPECT_EQ(done->error->code, "InternalError");
  EXPECT_FALSE(parse_complete_multipart_upload("garbage").has_value());
}

TEST(S3MultipartXml, ListPartsFromCeph) {
  auto page = parse_list_parts(
      R"(<?xml version="1.0" encoding="UTF-8"?><ListPartsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">)"
      R"(<Bucket>test-bucket</Bucket><Key>mp/obj</Key><UploadId>2~Yg5f</UploadId><StorageClass>STANDARD</StorageClass>)"
      R"(<PartNumberMarker>0</PartNumberMarker><NextPartNumberMarker>2</NextPartNumberMarker><MaxParts>1000</MaxParts>)"
      R"(<IsTruncated>false</IsTruncated><Owner><ID></ID><DisplayName></DisplayName></Owner>)"
      R"(<Part><LastModified>2026-11-28T07:04:24.885Z</LastModified><PartNumber>1</PartNumber>)"
      R"(<ETag>&quot;0fae6021cfa39e37df4b52140bcb9669&quot;</ETag><Size>5242880</Size></Part>)"
      R"(<Part><LastModified>2026-11-28T07:04:24.959Z</LastModified><PartNumber>2</PartNumber>)"
      R"(<ETag>&quot;5d41402abc4b2a76b9719d911017c592&quot;</ETag><Size>5</Size></Part></ListPartsResult>)");
  ASSERT_TRUE(page.has_value()) << page.error().detail;
  ASSERT_EQ(page->parts.size(), 2u);
  EXPECT_EQ(page->parts[0].part_number, 1);
  EXPECT_EQ(page->parts[0].etag, "\"0fae6021cfa39e37df4b52140bcb9669\"");
  EXPECT_EQ(page->parts[0].size, 5242880u);
  EXPECT_EQ(page->parts[1].part_number, 2);
  EXPECT_FALSE(page->is_truncated);
}

TEST(S3MultipartXml, TruncatedListPartsNeedsAMarker) {
  auto page = parse_list_parts(
      "<ListPartsResult><IsTruncated>true</IsTruncated><NextPartNumberMarker>7</"
      "NextPartNumberMarker>"
      "</ListPartsResult>");
  ASSERT_TRUE(page.has_value());
  EXPECT_EQ(page->next_part_number_marker, 7);
  EXPECT_FALSE(
      parse_list_parts("<ListPartsResult><IsTruncated>true</IsTruncated></ListPartsResult>")
          .has_value());
}

TEST(S3MultipartXml, ListUploadsFromCeph) {
  auto page = parse_list_multipart_uploads(
      R"(<?xml version="1.0" encoding="UTF-8"?><ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">)"
      R"(<Bucket>test-bucket</Bucket><NextKeyMarker>mp/obj</NextKeyMarker><NextUploadIdMarker>2~Yg5f</NextUploadIdMarker>)"
      R"(<MaxUploads>1000</MaxUploads><IsTruncated>false</IsTruncated><Upload><Key>mp/obj</Key><UploadId>2~Yg5f</UploadId>)"
      R"(<Initiator><ID>tester</ID><DisplayName>Test User</DisplayName></Initiator><Owner><ID>tester</ID>)"
      R"(<DisplayName>Test User</DisplayName></Owner><StorageClass>STANDARD</StorageClass>)"
      R"(<Initiated>2026-11-28T07:04:21.021Z</Initiated></Upload></ListMultipartUploadsResult>)");
  ASSERT_TRUE(page.has_value()) << page.error().detail;
  ASSERT_EQ(page->uploads.size(), 1u);
  EXPECT_EQ(page->uploads[0].key, "mp/obj");
  EXPECT_EQ(page->uploads[0].upload_id, "2~Yg5f");
  EXPECT_EQ(format_rfc3339(page->uploads[0].initiated), "2026-11-28T07:04:21Z");
  EXPECT_FALSE(page->is_truncated);
}

// ---- DeleteObjects --------------------------------------------------------------------------

TEST(S3DeleteXml, QuietCephResultHasNoFailures) {
  auto failures = parse_delete_result(
      R"(<?xml version="1.0" encoding="UTF-8"?><DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"></DeleteResult>)");
  ASSERT_TRUE(failures.has_value());
  EXPECT_TRUE(failures->empty());
}

TEST(S3DeleteXml, DeletedEntriesAreNotFailures) {
  auto failures = parse_delete_result(
      R"(<DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Deleted><Key>nonexist</Key></Deleted>)"
      R"(<Deleted><Key>k/with space</Key></Deleted></DeleteResult>)");
  ASSERT_TRUE(failures.has_value());
  EXPECT_TRUE(failures->empty());
}

TEST(S3DeleteXml, AwsExampleWithAnError) {
  auto failures = parse_delete_result(R"(<?xml version="1.0" encoding="UTF-8"?>
<DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Deleted><Key>sample1.txt</Key></Deleted>
  <Error><Key>sample2.txt</Key><Code>AccessDenied</Code><Message>Access Denied</Message></Error>
</DeleteResult>)");
  ASSERT_TRUE(failures.has_value());
  ASSERT_EQ(failures->size(), 1u);
  EXPECT_EQ((*failures)[0].key, "sample2.txt");
  EXPECT_EQ((*failures)[0].code, "AccessDenied");
  EXPECT_EQ((*failures)[0].message, "Access Denied");
}

// ---- request bodies -------------------------------------------------------------------------

TEST(S3RequestXml, DeleteBodyEscapesKeysAndIsQuiet) {
  auto body = delete_objects_body({"t/a&b", "t/<x>", "t/\"q'\"", "t/caf\xC3\xA9"});
  ASSERT_TRUE(body.has_value());
  EXPECT_EQ(
      *body,
      R"(<?xml version="1.0" encoding="UTF-8"?><Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/">)"
      R"(<Quiet>true</Quiet><Object><Key>t/a&amp;b</Key></Object><Object><Key>t/&lt;x&gt;</Key></Object>)"
      R"(<Object><Key>t/&quot;q&apos;&quot;</Key></Object><Object><Key>t/caf)"
      "\xC3\xA9"
      R"(</Key></Object></Delete>)");
}

TEST(S3RequestXml, DeleteBodyRefusesKeysXmlCannotCarry) {
  EXPECT_FALSE(delete_objects_body({"ok", std::string("bad\x01key")}).has_value());
  EXPECT_TRUE(delete_objects_body({"tab\tis\nfine"}).has_value());
}

TEST(S3RequestXml, DeleteBodyRoundTripsThroughTheParser) {
  // What we send must read back as the same keys (the server parses it the same way).
  const std::vector<std::string> keys = {"a&b", "<>", "\"'", " sp "};
  auto body = delete_objects_body(keys);
  ASSERT_TRUE(body.has_value());
  // Read each escaped <Key> back with the DeleteResult parser.
  std::string errors = "<DeleteResult>";
  for (const auto& k : keys) {
    auto one = delete_objects_body({k});
    const auto start = one->find("<Key>");
    const auto end = one->find("</Key>");
    errors += "<Error>" + one->substr(start, end - start + 6) + "<Code>X</Code></Error>";
  }
  errors += "</DeleteResult>";
  auto parsed = parse_delete_result(errors);
  ASSERT_TRUE(parsed.has_value());
  ASSERT_EQ(parsed->size(), keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) EXPECT_EQ((*parsed)[i].key, keys[i]);
}

TEST(S3RequestXml, CompleteBodyListsPartsInOrderGiven) {
  EXPECT_EQ(
      complete_multipart_body({{1, "\"a\""}, {2, "\"b\""}}),
      R"(<?xml version="1.0" encoding="UTF-8"?><CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">)"
      R"(<Part><PartNumber>1</PartNumber><ETag>&quot;a&quot;</ETag></Part>)"
      R"(<Part><PartNumber>2</PartNumber><ETag>&quot;b&quot;</ETag></Part></CompleteMultipartUpload>)");
}

// ---- times ----------------------------------------------------------------------------------

TEST(S3Iso8601, ParsesWithAndWithoutFractions) {
  struct Case {
    const char* text;
    const char* rfc3339;
  };
  for (Case c : {Case{"2026-11-28T07:04:21.021Z", "2026-11-28T07:04:21Z"},
                 Case{"2026-11-28T07:04:21Z", "2026-11-28T07:04:21Z"},
                 Case{"2009-10-12T17:50:30.000Z", "2009-10-12T17:50:30Z"},
                 Case{"1970-01-01T00:00:00Z", "1970-01-01T00:00:00Z"},
                 Case{"2024-02-29T23:59:59.999999Z", "2024-02-29T23:59:59Z"}}) {
    auto t = parse_iso8601(c.text);
    ASSERT_TRUE(t.has_value()) << c.text;
    EXPECT_EQ(format_rfc3339(*t), c.rfc3339) << c.text;
  }
  auto t = parse_iso8601("2026-11-28T07:04:21.500Z");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(
      std::chrono::duration_cast<std::chrono::milliseconds>(t->time_since_epoch()).count() % 1000,
      500);
}

TEST(S3Iso8601, RefusesOtherShapes) {
  for (const char* text : {"", "2026-11-28", "2026-11-28T07:04:21", "2026-11-28 07:04:21Z",
                           "2026-13-28T07:04:21Z", "2026-11-28T25:04:21Z", "2026-11-28T07:04:21.Z",
                           "2026-11-28T07:04:21.1aZ", "Sat, 28 Nov 2026 04:29:35 GMT"}) {
    EXPECT_FALSE(parse_iso8601(text).has_value()) << text;
  }
}

}  // namespace
}  // namespace coffer::s3
