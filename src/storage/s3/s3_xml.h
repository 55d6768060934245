// The XML of the S3 REST API: parsing the responses Coffer reads and writing the two request
// bodies it sends. Pure functions of their inputs (pugixml underneath, never in this header).
//
// Parsers are lenient about what they do not need (namespaces, unknown elements, Ceph RGW's
// extra <Type> and <RequestId>/<HostId>) and strict about what they do: a response that lacks a
// required element is an error, never a silently empty result.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/error.h"

namespace coffer::s3 {

// <Error><Code>NoSuchKey</Code><Message>...</Message><RequestId>...</RequestId></Error>.
// Ceph RGW leaves Message empty; some servers send no body at all (HEAD) or HTML from a proxy.
struct S3ErrorInfo {
  std::string code;     // "" when the body is not an S3 error document
  std::string message;  // may be ""
  std::string request_id;
};
// Never fails: anything that is not an <Error> document yields empty fields.
S3ErrorInfo parse_error(std::string_view xml);

struct ListedEntry {
  std::string key;
  std::uint64_t size = 0;
  SystemTime last_modified;
  std::string etag;  // as sent (quoted by AWS)
};

// ListObjectsV2 (<ListBucketResult>).
struct ListObjectsPage {
  std::vector<ListedEntry> objects;  // in the order sent (key order)
  std::vector<std::string> common_prefixes;
  bool is_truncated = false;
  std::string next_continuation_token;  // "" unless is_truncated
};
Result<ListObjectsPage> parse_list_objects_v2(std::string_view xml);

// CreateMultipartUpload (<InitiateMultipartUploadResult>): the UploadId.
Result<std::string> parse_initiate_multipart_upload(std::string_view xml);

// CompleteMultipartUpload answers 200 and then may still fail: its body is then an <Error>,
// returned in `error`. On success, the ETag as sent, which Ceph RGW leaves empty.
struct CompleteResult {
  std::string etag;
  std::optional<S3ErrorInfo> error;
};
Result<CompleteResult> parse_complete_multipart_upload(std::string_view xml);

// ListParts (<ListPartsResult>).
struct ListedPart {
  int part_number = 0;
  std::string etag;
  std::uint64_t size = 0;
};
struct ListPartsPage {
  std::vector<ListedPart> parts;
  bool is_truncated = false;
  int next_part_number_marker = 0;
};
Result<ListPartsPage> parse_list_parts(std::string_view xml);

// ListMultipartUploads (<ListMultipartUploadsResult>).
struct ListedUpload {
  std::string key;
  std::string upload_id;
  SystemTime initiated;
};
struct ListUploadsPage {
  std::vector<ListedUpload> uploads;
  bool is_truncated = false;
  std::string next_key_marker;
  std::string next_upload_id_marker;
};
Result<ListUploadsPage> parse_list_multipart_uploads(std::string_view xml);

// DeleteObjects (<DeleteResult>): the keys that could not be deleted, with their codes. In quiet
// mode the deleted keys are not listed.
struct DeleteFailure {
  std::string key;
  std::string code;
  std::string message;
};
Result<std::vector<DeleteFailure>> parse_delete_result(std::string_view xml);

// <Delete><Quiet>true</Quiet><Object><Key>..</Key></Object>...</Delete>. Keys are escaped;
// a key holding a character XML 1.0 cannot carry (most C0 controls) is an error.
Result<std::string> delete_objects_body(const std::vector<std::string>& keys);

struct CompletedPart {
  int part_number = 0;
  std::string etag;  // as UploadPart answered it (quoted or not: sent as given)
};
// <CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>..</ETag></Part>...
std::string complete_multipart_body(const std::vector<CompletedPart>& parts);

// ISO 8601 with optional fraction, as S3 listings write times ("2026-11-28T04:29:35.123Z").
std::optional<SystemTime> parse_iso8601(std::string_view text);

}  // namespace coffer::s3
