#include "storage/s3/s3_xml.h"

#include <charconv>
#include <cstring>
#include <pugixml.hpp>

namespace coffer::s3 {
namespace {

Error xml_error(std::string what) {
  return Error::Internal("s3: unexpected XML: " + std::move(what));
}

// Element names compared without any namespace prefix ("s3:Key" and "Key" alike).
bool name_is(const pugi::xml_node& node, std::string_view want) {
  std::string_view name = node.name();
  if (auto colon = name.find(':'); colon != std::string_view::npos) name.remove_prefix(colon + 1);
  return name == want;
}

pugi::xml_node child(const pugi::xml_node& parent, std::string_view name) {
  for (pugi::xml_node c = parent.first_child(); c; c = c.next_sibling()) {
    if (c.type() == pugi::node_element && name_is(c, name)) return c;
  }
  return {};
}

std::string text_of(const pugi::xml_node& parent, std::string_view name) {
  pugi::xml_node c = child(parent, name);
  return c ? std::string(c.child_value()) : std::string();
}

template <class F>
void for_each_child(const pugi::xml_node& parent, std::string_view name, F&& f) {
  for (pugi::xml_node c = parent.first_child(); c; c = c.next_sibling()) {
    if (c.type() == pugi::node_element && name_is(c, name)) f(c);
  }
}

std::string_view trim(std::string_view s) {
  while (!s.empty() &&
         (s.front() == ' ' || s.front() == '\n' || s.front() == '\r' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\n' || s.back() == '\r' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

template <class T>
std::optional<T> parse_number(std::string_view s) {
  s = trim(s);
  T value{};
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || ptr != s.data() + s.size() || s.empty()) return std::nullopt;
  return value;
}

bool parse_bool(std::string_view s) { return trim(s) == "true"; }

// Parses `xml` and returns its root element, which must be named `root_name`. An <Error> root
// is returned as that S3 error.
Result<pugi::xml_node> root_of(pugi::xml_document& doc, std::string_view xml,
                               std::string_view root_name) {
  pugi::xml_parse_result parsed =
      doc.load_buffer(xml.data(), xml.size(), pugi::parse_default, pugi::encoding_utf8);
  if (!parsed) return xml_error(std::string(root_name) + ": " + parsed.description());
  pugi::xml_node root = doc.document_element();
  if (name_is(root, "Error")) {
    return Error::Internal("s3: " + std::string(root_name) + " failed: " + text_of(root, "Code") +
                           " " + text_of(root, "Message"));
  }
  if (!name_is(root, root_name)) {
    return xml_error("expected <" + std::string(root_name) + ">, got <" + root.name() + ">");
  }
  return root;
}

void append_escaped(std::string& out, std::string_view text) {
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out += c;
    }
  }
}

// XML 1.0 allows only tab, LF and CR below 0x20.
bool xml_representable(std::string_view text) {
  for (unsigned char c : text) {
    if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') return false;
  }
  return true;
}

int days_from_civil(int y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int>(doe) - 719468;
}

}  // namespace

std::optional<SystemTime> parse_iso8601(std::string_view text) {
  text = trim(text);
  // YYYY-MM-DDTHH:MM:SS[.fff...]Z
  if (text.size() < 20 || text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':' ||
      text[16] != ':' || text.back() != 'Z') {
    return std::nullopt;
  }
  auto year = parse_number<int>(text.substr(0, 4));
  auto month = parse_number<unsigned>(text.substr(5, 2));
  auto day = parse_number<unsigned>(text.substr(8, 2));
  auto hour = parse_number<int>(text.substr(11, 2));
  auto minute = parse_number<int>(text.substr(14, 2));
  auto second = parse_number<int>(text.substr(17, 2));
  if (!year || !month || !day || !hour || !minute || !second || *month < 1 || *month > 12 ||
      *day < 1 || *day > 31 || *hour > 23 || *minute > 59 || *second > 60) {
    return std::nullopt;
  }
  std::string_view rest = text.substr(19, text.size() - 20);
  std::chrono::nanoseconds fraction{0};
  if (!rest.empty()) {
    if (rest.front() != '.' || rest.size() < 2) return std::nullopt;
    rest.remove_prefix(1);
    std::int64_t scale = 100000000;
    for (char c : rest) {
      if (c < '0' || c > '9') return std::nullopt;
      fraction += std::chrono::nanoseconds((c - '0') * scale);
      scale /= 10;
    }
  }
  const std::int64_t days = days_from_civil(*year, *month, *day);
  const std::int64_t secs = days * 86400 + *hour * 3600 + *minute * 60 + *second;
  return SystemTime(
      std::chrono::duration_cast<SystemTime::duration>(std::chrono::seconds(secs) + fraction));
}

S3ErrorInfo parse_error(std::string_view xml) {
  S3ErrorInfo info;
  pugi::xml_document doc;
  if (!doc.load_buffer(xml.data(), xml.size(), pugi::parse_default, pugi::encoding_utf8)) {
    return info;
  }
  pugi::xml_node root = doc.document_element();
  if (!name_is(root, "Error")) {
    // The STS/IAM shape: <ErrorResponse><Error>...</Error></ErrorResponse>.
    if (!name_is(root, "ErrorResponse")) return info;
    root = child(root, "Error");
    if (!root) return info;
  }
  info.code = std::string(trim(text_of(root, "Code")));
  info.message = text_of(root, "Message");
  info.request_id = text_of(root, "RequestId");
  return info;
}

Result<ListObjectsPage> parse_list_objects_v2(std::string_view xml) {
  pugi::xml_document doc;
  COFFER_TRY(pugi::xml_node root, root_of(doc, xml, "ListBucketResult"));
  ListObjectsPage page;
  page.is_truncated = parse_bool(text_of(root, "IsTruncated"));
  page.next_continuation_token = text_of(root, "NextContinuationToken");
  std::optional<Error> failed;
  for_each_child(root, "Contents", [&](const pugi::xml_node& c) {
    if (failed) return;
    ListedEntry e;
    pugi::xml_node key = child(c, "Key");
    auto size = parse_number<std::uint64_t>(text_of(c, "Size"));
    auto modified = parse_iso8601(text_of(c, "LastModified"));
    if (!key || !size || !modified) {
      failed = xml_error("a <Contents> without Key, Size or LastModified");
      return;
    }
    e.key = key.child_value();
    e.size = *size;
    e.last_modified = *modified;
    e.etag = text_of(c, "ETag");
    page.objects.push_back(std::move(e));
  });
  if (failed) return *failed;
  for_each_child(root, "CommonPrefixes", [&](const pugi::xml_node& c) {
    page.common_prefixes.push_back(text_of(c, "Prefix"));
  });
  if (page.is_truncated && page.next_continuation_token.empty()) {
    return xml_error("a truncated listing without NextContinuationToken");
  }
  if (!page.is_truncated) page.next_continuation_token.clear();
  return page;
}

Result<std::string> parse_initiate_multipart_upload(std::string_view xml) {
  pugi::xml_document doc;
  COFFER_TRY(pugi::xml_node root, root_of(doc, xml, "InitiateMultipartUploadResult"));
  std::string id(trim(text_of(root, "UploadId")));
  if (id.empty()) return xml_error("InitiateMultipartUploadResult without UploadId");
  return id;
}

Result<CompleteResult> parse_complete_multipart_upload(std::string_view xml) {
  pugi::xml_document doc;
  pugi::xml_parse_result parsed =
      doc.load_buffer(xml.data(), xml.size(), pugi::parse_default, pugi::encoding_utf8);
  if (!parsed) {
    return xml_error(std::string("CompleteMultipartUploadResult: ") + parsed.description());
  }
  pugi::xml_node root = doc.document_element();
  CompleteResult result;
  if (name_is(root, "Error")) {
    result.error = parse_error(xml);
    return result;
  }
  if (!name_is(root, "CompleteMultipartUploadResult")) {
    return xml_error(std::string("expected <CompleteMultipartUploadResult>, got <") + root.name() +
                     ">");
  }
  result.etag = text_of(root, "ETag");
  return result;
}

Result<ListPartsPage> parse_list_parts(std::string_view xml) {
  pugi::xml_document doc;
  COFFER_TRY(pugi::xml_node root, root_of(doc, xml, "ListPartsResult"));
  ListPartsPage page;
  page.is_truncated = parse_bool(text_of(root, "IsTruncated"));
  if (page.is_truncated) {
    auto marker = parse_number<int>(text_of(root, "NextPartNumberMarker"));
    if (!marker) return xml_error("a truncated ListPartsResult without NextPartNumberMarker");
    page.next_part_number_marker = *marker;
  }
  std::optional<Error> failed;
  for_each_child(root, "Part", [&](const pugi::xml_node& p) {
    if (failed) return;
    auto number = parse_number<int>(text_of(p, "PartNumber"));
    auto size = parse_number<std::uint64_t>(text_of(p, "Size"));
    if (!number || !size) {
      failed = xml_error("a <Part> without PartNumber or Size");
      return;
    }
    page.parts.push_back({*number, text_of(p, "ETag"), *size});
  });
  if (failed) return *failed;
  return page;
}

Result<ListUploadsPage> parse_list_multipart_uploads(std::string_view xml) {
  pugi::xml_document doc;
  COFFER_TRY(pugi::xml_node root, root_of(doc, xml, "ListMultipartUploadsResult"));
  ListUploadsPage page;
  page.is_truncated = parse_bool(text_of(root, "IsTruncated"));
  page.next_key_marker = text_of(root, "NextKeyMarker");
  page.next_upload_id_marker = text_of(root, "NextUploadIdMarker");
  std::optional<Error> failed;
  for_each_child(root, "Upload", [&](const pugi::xml_node& u) {
    if (failed) return;
    ListedUpload upload;
    upload.key = text_of(u, "Key");
    upload.upload_id = std::string(trim(text_of(u, "UploadId")));
    auto initiated = parse_iso8601(text_of(u, "Initiated"));
    if (upload.upload_id.empty() || !initiated) {
      failed = xml_error("an <Upload> without UploadId or Initiated");
      return;
    }
    upload.initiated = *initiated;
    page.uploads.push_back(std::move(upload));
  });
  if (failed) return *failed;
  if (page.is_truncated && page.next_key_marker.empty() && page.uploads.empty()) {
    return xml_error("a truncated ListMultipartUploadsResult without markers");
  }
  return page;
}

Result<std::vector<DeleteFailure>> parse_delete_result(std::string_view xml) {
  pugi::xml_document doc;
  COFFER_TRY(pugi::xml_node root, root_of(doc, xml, "DeleteResult"));
  std::vector<DeleteFailure> failures;
  for_each_child(root, "Error", [&](const pugi::xml_node& e) {
    failures.push_back(
        {text_of(e, "Key"), std::string(trim(text_of(e, "Code"))), text_of(e, "Message")});
  });
  return failures;
}

Result<std::string> delete_objects_body(const std::vector<std::string>& keys) {
  std::string out = R"(<?xml version="1.0" encoding="UTF-8"?>)";
  out += R"(<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Quiet>true</Quiet>)";
  for (const auto& key : keys) {
    if (!xml_representable(key)) return Error::Internal("s3: a key XML cannot carry");
    out += "<Object><Key>";
    append_escaped(out, key);
    out += "</Key></Object>";
  }
  out += "</Delete>";
  return out;
}

std::string complete_multipart_body(const std::vector<CompletedPart>& parts) {
  std::string out = R"(<?xml version="1.0" encoding="UTF-8"?>)";
  out += R"(<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">)";
  for (const auto& part : parts) {
    out += "<Part><PartNumber>" + std::to_string(part.part_number) + "</PartNumber><ETag>";
    append_escaped(out, part.etag);
    out += "</ETag></Part>";
  }
  out += "</CompleteMultipartUpload>";
  return out;
}

}  // namespace coffer::s3
