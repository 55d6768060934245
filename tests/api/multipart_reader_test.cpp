#include "api/multipart_reader.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace coffer::api {
namespace {

// Serves `data` in reads whose sizes `next_size` picks (at least 1, at most what was asked).
class ChunkedSource final : public ByteSource {
 public:
  ChunkedSource(std::string data, std::function<std::size_t()> next_size)
      : data_(std::move(data)), next_size_(std::move(next_size)) {}
  Result<std::size_t> read(std::span<char> out) override {
    std::size_t n =
        std::min({out.size(), data_.size() - pos_, std::max<std::size_t>(1, next_size_())});
    std::memcpy(out.data(), data_.data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  std::string data_;
  std::size_t pos_ = 0;
  std::function<std::size_t()> next_size_;
};

struct Part {
  PartInfo info;
  std::string body;
};

// Reads every part, each body through reads of `out_size` bytes.
Result<std::vector<Part>> read_parts(ByteSource& source, std::string boundary,
                                     std::size_t out_size = 4096,
                                     std::size_t max_header = kDefaultMaxPartHeaderBytes) {
  MultipartReader reader(source, std::move(boundary), max_header);
  std::vector<Part> parts;
  std::vector<char> buf(out_size);
  for (;;) {
    COFFER_TRY(std::optional<PartInfo> info, reader.next_part());
    if (!info) return parts;
    Part part{std::move(*info), {}};
    for (;;) {
      COFFER_TRY(std::size_t n, reader.part_body().read(buf));
      if (n == 0) break;
      part.body.append(buf.data(), n);
    }
    parts.push_back(std::move(part));
  }
}

Result<std::vector<Part>> read_parts(std::string body, std::string boundary = "XyZ",
                                     std::size_t max_header = kDefaultMaxPartHeaderBytes) {
  ChunkedSource source(std::move(body), [] { return SIZE_MAX; });
  return read_parts(source, std::move(boundary), 4096, max_header);
}

std::string form_part(std::string_view boundary, std::string_view headers, std::string_view body) {
  std::string out = "--";
  out.append(boundary).append("\r\n").append(headers).append("\r\n").append(body);
  return out.append("\r\n");
}

std::string close_delimiter(std::string_view boundary) {
  std::string out = "--";
  return out.append(boundary).append("--\r\n");
}

// ---- multipart_boundary ----

struct BoundaryCase {
  std::string content_type;
  std::optional<std::string> boundary;  // nullopt: BadRequest
};

class MultipartBoundary : public ::testing::TestWithParam<BoundaryCase> {};

TEST_P(MultipartBoundary, ExtractsAValidBoundaryOrRefuses) {
  const auto& c = GetParam();
  auto r = multipart_boundary(c.content_type);
  if (c.boundary) {
    ASSERT_TRUE(r.has_value()) << c.content_type << ": " << r.error().message;
    EXPECT_EQ(*r, *c.boundary);
  } else {
    ASSERT_FALSE(r.has_value()) << c.content_type << " gave " << *r;
    EXPECT_EQ(r.error().code, ErrorCode::kBadRequest);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, MultipartBoundary,
    ::testing::Values(
        BoundaryCase{"multipart/form-data; boundary=abc", "abc"},
        BoundaryCase{"multipart/form-data;boundary=abc", "abc"},
        BoundaryCase{"Multipart/Form-Data; BOUNDARY=abc", "abc"},
        BoundaryCase{"multipart/form-data; boundary=\"abc\"", "abc"},
        BoundaryCase{"multipart/form-data; boundary=\"a b:c/d=e?\"", "a b:c/d=e?"},
        BoundaryCase{"multipart/form-data; boundary=----=_Part_0_1.2", "----=_Part_0_1.2"},
        BoundaryCase{"multipart/form-data; charset=utf-8; boundary=abc ; x=\"y;z\"", "abc"},
        BoundaryCase{" multipart/form-data ; boundary=abc;", "abc"},
        BoundaryCase{"multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW",
                     "----WebKitFormBoundary7MA4YWxkTrZu0gW"},
        BoundaryCase{"multipart/form-data; boundary=" + std::string(70, 'b'), std::string(70, 'b')},
        BoundaryCase{"multipart/form-data; boundary=" + std::string(71, 'b'), std::nullopt},
        BoundaryCase{"multipart/form-data; boundary=\"\"", std::nullopt},
        BoundaryCase{"multipart/form-data; boundary=", std::nullopt},
        BoundaryCase{"multipart/form-data; boundary=\"abc \"", std::nullopt},  // trailing space
        BoundaryCase{"multipart/form-data; boundary=a!b", std::nullopt},       // not a bchar
        BoundaryCase{"multipart/form-data; boundary=\"a\\\"b\"", std::nullopt},
        BoundaryCase{"multipart/form-data; boundary=\"abc", std::nullopt},
        BoundaryCase{"multipart/form-data; boundary=a; boundary=b", std::nullopt},
        BoundaryCase{"multipart/form-data", std::nullopt},
        BoundaryCase{"multipart/form-data; charset=utf-8", std::nullopt},
        BoundaryCase{"multipart/mixed; boundary=abc", std::nullopt},
        BoundaryCase{"application/octet-stream", std::nullopt}, BoundaryCase{"", std::nullopt},
        BoundaryCase{"multipart/form-data; boundary abc", std::nullopt}));

// ---- parts and their headers ----

TEST(MultipartReader, ReadsFieldAndFileParts) {
  std::string body =
      form_part("XyZ", "Content-Disposition: form-data; name=\"path\"\r\n", "reports/q1.pdf") +
      form_part("XyZ",
                "Content-Disposition: form-data; name=\"file\"; filename=\"q1.pdf\"\r\n"
                "Content-Type: application/pdf\r\n",
                "%PDF-1.7 ...") +
      close_delimiter("XyZ");
  auto parts = read_parts(body);
  ASSERT_TRUE(parts.has_value()) << parts.error().message;
  ASSERT_EQ(parts->size(), 2u);
  EXPECT_EQ((*parts)[0].info.name, "path");
  EXPECT_FALSE((*parts)[0].info.filename.has_value());
  EXPECT_EQ((*parts)[0].info.content_type, "");
  EXPECT_EQ((*parts)[0].body, "reports/q1.pdf");
  EXPECT_EQ((*parts)[1].info.name, "file");
  EXPECT_EQ((*parts)[1].info.filename, "q1.pdf");
  EXPECT_EQ((*parts)[1].info.content_type, "application/pdf");
  EXPECT_EQ((*parts)[1].body, "%PDF-1.7 ...");
}

struct HeaderCase {
  std::string headers;           // Each line ends in CRLF.
  std::optional<PartInfo> want;  // nullopt: BadRequest
};

class PartHeaders : public ::testing::TestWithParam<HeaderCase> {};

TEST_P(PartHeaders, ParseContentDispositionAndType) {
  const auto& c = GetParam();
  auto parts = read_parts(form_part("XyZ", c.headers, "data") + close_delimiter("XyZ"));
  if (!c.want) {
    ASSERT_FALSE(parts.has_value()) << c.headers;
    EXPECT_EQ(parts.error().code, ErrorCode::kBadRequest);
    return;
  }
  ASSERT_TRUE(parts.has_value()) << c.headers << ": " << parts.error().message;
  ASSERT_EQ(parts->size(), 1u);
  const PartInfo& got = (*parts)[0].info;
  EXPECT_EQ(got.name, c.want->name) << c.headers;
  EXPECT_EQ(got.filename, c.want->filename) << c.headers;
  EXPECT_EQ(got.content_type, c.want->content_type) << c.headers;
  EXPECT_EQ((*parts)[0].body, "data");
}

PartInfo part_info(std::string name, std::optional<std::string> filename = std::nullopt,
                   std::string content_type = "") {
  return {std::move(name), std::move(filename), std::move(content_type)};
}

INSTANTIATE_TEST_SUITE_P(
    Table, PartHeaders,
    ::testing::Values(
        HeaderCase{"Content-Disposition: form-data; name=\"a\"\r\n", part_info("a")},
        HeaderCase{"content-disposition: FORM-DATA; NAME=a\r\n", part_info("a")},
        HeaderCase{"Content-Disposition:form-data;name=\"a\";filename=\"f.txt\"\r\n",
                   part_info("a", "f.txt")},
        HeaderCase{"Content-Disposition: form-data; name=\"\"\r\n", part_info("")},
        HeaderCase{"Content-Disposition: form-data; name=\"file\"; filename=\"\"\r\n"
                   "Content-Type: application/octet-stream\r\n",
                   part_info("file", "", "application/octet-stream")},
        HeaderCase{
            "Content-Disposition: form-data; name=\"f\"; filename=\"caf\xC3\xA9 "
            "\xF0\x9F\x98\x80.txt\"\r\n",
            part_info("f", "caf\xC3\xA9 \xF0\x9F\x98\x80.txt")},  // raw UTF-8, as browsers send
        HeaderCase{"Content-Disposition: form-data; name=\"f\"; filename=\"a;b=c, d.txt\"\r\n",
                   part_info("f", "a;b=c, d.txt")},
        HeaderCase{
            "Content-Disposition: form-data; name=\"f\"; filename=\"say \\\"hi\\\" \\\\ x\"\r\n",
            part_info("f", "say \"hi\" \\ x")},
        HeaderCase{"Content-Disposition: form-data; name=\"f\"; filename=\"C:\\dir\\a.txt\"\r\n",
                   part_info("f", "C:\\dir\\a.txt")},  // lone backslashes are kept
        HeaderCase{"Content-Disposition: form-data; name=\"f\"; filename=\"a%22b\"\r\n",
                   part_info("f", "a%22b")},  // not percent-decoded
        HeaderCase{"Content-Disposition: form-data; name=\"f\"; filename=\"plain.txt\"; "
                   "filename*=UTF-8''caf%C3%A9%20%E2%82%AC.txt\r\n",
                   part_info("f", "caf\xC3\xA9 \xE2\x82\xAC.txt")},  // filename* wins
        HeaderCase{"Content-Disposition: form-data; filename*=utf-8'en'%E2%82%AC; name=f; "
                   "filename=x\r\n",
                   part_info("f", "\xE2\x82\xAC")},  // whatever the order
        HeaderCase{"Content-Disposition: form-data; name=f; filename*=ISO-8859-1''caf%E9\r\n",
                   part_info("f", "caf\xC3\xA9")},
        HeaderCase{"Content-Type: text/plain; charset=utf-8\r\n"
                   "Content-Disposition: form-data; name=\"a\"\r\n"
                   "X-Other: ignored\r\n",
                   part_info("a", std::nullopt, "text/plain; charset=utf-8")},
        HeaderCase{"Content-Disposition: form-data;\r\n name=\"a\"\r\n", part_info("a")},  // folded
        HeaderCase{
            "Content-Disposition: form-data; name=a\r\nContent-Transfer-Encoding: binary\r\n",
            part_info("a")},
        // Refused.
        HeaderCase{"", std::nullopt}, HeaderCase{"Content-Type: text/plain\r\n", std::nullopt},
        HeaderCase{"Content-Disposition: form-data\r\n", std::nullopt},
        HeaderCase{"Content-Disposition: form-data; filename=\"a\"\r\n", std::nullopt},
        HeaderCase{"Content-Disposition: attachment; name=\"a\"\r\n", std::nullopt},
        HeaderCase{"Content-Disposition: form-data; name=\"a\"; name=\"b\"\r\n", std::nullopt},
        HeaderCase{"Content-Disposition: form-data; name=\"a\r\n", std::nullopt},
        HeaderCase{"Content-Disposition: form-data; name=a b\r\n", std::nullopt},
        HeaderCase{"Content-Disposition: form-data; name\r\n", std::nullopt},
        HeaderCase{"Content-Disposition: form-data; name=\"a\"\r\n"
                   "Content-Disposition: form-data; name=\"b\"\r\n",
                   std::nullopt},
        HeaderCase{"Content-Disposition: form-data; name=\"a\"\r\nContent-Type: a\r\n"
                   "Content-Type: b\r\n",
                   std::nullopt},
        HeaderCase{"Content-Disposition: form-data; name=\"a\x01\"\r\n", std::nullopt},
        HeaderCase{"Content-Disposition: form-data; name=\"a\"\r\nX: a\rb\r\n", std::nullopt},
        HeaderCase{"Content-Disposition: form-data; name=\"a\"\r\nX: a\nb\r\n", std::nullopt},
        HeaderCase{"Content-Disposition: form-data; name=\"a\"\r\nno colon\r\n", std::nullopt},
        HeaderCase{" Content-Disposition: form-data; name=\"a\"\r\n", std::nullopt},
        HeaderCase{"Content-Disposition: form-data; name=\"a\"\r\n"
                   "Content-Transfer-Encoding: base64\r\n",
                   std::nullopt},
        HeaderCase{"Content-Disposition: form-data; name=f; filename*=UTF-8''a%2\r\n",
                   std::nullopt},
        HeaderCase{"Content-Disposition: form-data; name=f; filename*=UTF-8''a%G0\r\n",
                   std::nullopt},
        HeaderCase{"Content-Disposition: form-data; name=f; filename*=UTF-8''%FF\r\n",
                   std::nullopt},  // not UTF-8
        HeaderCase{"Content-Disposition: form-data; name=f; filename*=KOI8-R''a\r\n", std::nullopt},
        HeaderCase{"Content-Disposition: form-data; name=f; filename*=a.txt\r\n", std::nullopt}));

// ---- framing ----

struct FramingCase {
  std::string label;
  std::string body;                                // Boundary "XyZ".
  std::optional<std::vector<std::string>> bodies;  // nullopt: BadRequest
};

class Framing : public ::testing::TestWithParam<FramingCase> {};

TEST_P(Framing, FindsPartsOrRefusesTheBody) {
  const auto& c = GetParam();
  // Whatever the read sizes, the answer is the same.
  for (std::size_t chunk :
       {std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{7}, std::size_t{SIZE_MAX}}) {
    ChunkedSource source(c.body, [chunk] { return chunk; });
    auto parts = read_parts(source, "XyZ", chunk == SIZE_MAX ? 4096 : chunk);
    if (!c.bodies) {
      ASSERT_FALSE(parts.has_value()) << c.label << " chunk " << chunk;
      EXPECT_EQ(parts.error().code, ErrorCode::kBadRequest);
      continue;
    }
    ASSERT_TRUE(parts.has_value())
        << c.label << " chunk " << chunk << ": " << parts.error().message;
    std::vector<std::string> got;
    for (auto& p : *parts) got.push_back(p.body);
    EXPECT_EQ(got, *c.bodies) << c.label << " chunk " << chunk;
  }
}

const std::string kCd = "Content-Disposition: form-data; name=\"a\"\r\n";
const std::string kPart1 = "--XyZ\r\n" + kCd + "\r\none";
const std::string kPart2 = "\r\n--XyZ\r\n" + kCd + "\r\ntwo";

INSTANTIATE_TEST_SUITE_P(
    Table, Framing,
    ::testing::Values(
        FramingCase{"two parts", kPart1 + kPart2 + "\r\n--XyZ--\r\n",
                    std::vector<std::string>{"one", "two"}},
        FramingCase{"no CRLF after the close delimiter", kPart1 + "\r\n--XyZ--",
                    std::vector<std::string>{"one"}},
        FramingCase{"preamble",
                    "This is a preamble.\r\nIt has --XyZ in it.\r\n" + kPart1 + "\r\n--XyZ--\r\n",
                    std::vector<std::string>{"one"}},
        FramingCase{"preamble that is only CRLF", "\r\n" + kPart1 + "\r\n--XyZ--",
                    std::vector<std::string>{"one"}},
        FramingCase{"epilogue", kPart1 + "\r\n--XyZ--\r\nepilogue\r\n--XyZ\r\nnot a part",
                    std::vector<std::string>{"one"}},
        FramingCase{"close delimiter with trailing junk", kPart1 + "\r\n--XyZ--junk",
                    std::vector<std::string>{"one"}},
        FramingCase{"transport padding",
                    "--XyZ \t \r\n" + kCd + "\r\none\r\n--XyZ\t\r\n" + kCd + "\r\ntwo\r\n--XyZ--",
                    std::vector<std::string>{"one", "two"}},
        FramingCase{"empty parts",
                    "--XyZ\r\n" + kCd + "\r\n\r\n--XyZ\r\n" + kCd + "\r\n\r\n--XyZ--",
                    std::vector<std::string>{"", ""}},
        FramingCase{"no parts at all", "--XyZ--\r\n", std::vector<std::string>{}},
        FramingCase{"content ending in CR LF", kPart1 + "\r\n\r\n\r\n--XyZ--",
                    std::vector<std::string>{"one\r\n\r\n"}},
        FramingCase{"boundary followed by other characters is content",
                    kPart1 + "\r\n--XyZW\r\n--XyZ-x\r\n--XyZ--",
                    std::vector<std::string>{"one\r\n--XyZW\r\n--XyZ-x"}},
        FramingCase{"boundary without CRLF before it is content", kPart1 + "--XyZ--\r\n--XyZ--",
                    std::vector<std::string>{"one--XyZ--"}},
        FramingCase{"boundary with LF only is content", kPart1 + "\n--XyZ\r\n\r--XyZ\r\n--XyZ--",
                    std::vector<std::string>{"one\n--XyZ\r\n\r--XyZ"}},
        // Refused.
        FramingCase{"empty body", "", std::nullopt},
        FramingCase{"no boundary", "just some bytes", std::nullopt},
        FramingCase{"truncated in the first part", kPart1, std::nullopt},
        FramingCase{"truncated in the second part", kPart1 + kPart2, std::nullopt},
        FramingCase{"truncated in a CRLF before the boundary", kPart1 + "\r", std::nullopt},
        FramingCase{"truncated in the boundary", kPart1 + "\r\n--Xy", std::nullopt},
        FramingCase{"truncated after the boundary", kPart1 + "\r\n--XyZ", std::nullopt},
        FramingCase{"truncated in the close delimiter", kPart1 + "\r\n--XyZ-", std::nullopt},
        FramingCase{"truncated in padding", kPart1 + "\r\n--XyZ  ", std::nullopt},
        FramingCase{"truncated after the boundary line", kPart1 + "\r\n--XyZ\r\n", std::nullopt},
        FramingCase{"truncated in part headers", kPart1 + "\r\n--XyZ\r\n" + kCd, std::nullopt},
        FramingCase{"only the opening boundary", "--XyZ\r\n", std::nullopt},
        FramingCase{"junk after the boundary",
                    kPart1 + "\r\n--XyZ x\r\n" + kCd + "\r\nb\r\n--XyZ--", std::nullopt},
        FramingCase{"CR without LF after the boundary",
                    kPart1 + "\r\n--XyZ\rx" + kCd + "\r\nb\r\n--XyZ--", std::nullopt},
        FramingCase{"LF without CR after the boundary",
                    kPart1 + "\r\n--XyZ\n" + kCd + "\r\nb\r\n--XyZ--", std::nullopt}));

TEST(MultipartReader, ATruncatedPartIsAnErrorNotAShortPart) {
  const std::string body = "--XyZ\r\n" + kCd + "\r\nsome content that never ends";
  StringSource source(body);
  MultipartReader reader(source, "XyZ");
  auto part = reader.next_part();
  ASSERT_TRUE(part.has_value());
  ASSERT_TRUE(part->has_value());
  auto content = read_all(reader.part_body());
  ASSERT_FALSE(content.has_value());
  EXPECT_EQ(content.error().code, ErrorCode::kBadRequest);
  // Errors are final.
  char c;
  EXPECT_FALSE(reader.part_body().read(std::span<char>(&c, 1)).has_value());
  auto again = reader.next_part();
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code, ErrorCode::kBadRequest);
}

TEST(MultipartReader, NextPartSkipsUnreadAndPartlyReadContent) {
  std::string big(200000, 'x');
  std::string body = form_part("XyZ", kCd, big) + form_part("XyZ", kCd, big) +
                     form_part("XyZ", kCd, "last") + close_delimiter("XyZ");
  StringSource source(body);
  MultipartReader reader(source, "XyZ");
  char buf[10];
  EXPECT_EQ(*reader.part_body().read(buf), 0u);         // before the first part: nothing
  ASSERT_TRUE(reader.next_part().value().has_value());  // not read at all
  ASSERT_TRUE(reader.next_part().value().has_value());
  ASSERT_EQ(*reader.part_body().read(buf), 10u);  // read a little
  ASSERT_TRUE(reader.next_part().value().has_value());
  EXPECT_EQ(*read_all(reader.part_body()), "last");
  EXPECT_EQ(*reader.part_body().read(buf), 0u);  // stays at its end
  EXPECT_FALSE(reader.next_part().value().has_value());
  EXPECT_FALSE(reader.next_part().value().has_value());  // and stays done
  EXPECT_EQ(*reader.part_body().read(buf), 0u);
}

TEST(MultipartReader, LimitsPartHeaders) {
  const std::size_t limit = 256;
  auto with_section = [&](std::size_t section_bytes) {
    // section = kCd + "X: <pad>\r\n" + "\r\n"
    std::size_t pad = section_bytes - kCd.size() - 5 - 2;
    return form_part("XyZ", kCd + "X: " + std::string(pad, 'p') + "\r\n", "body") +
           close_delimiter("XyZ");
  };
  auto at_limit = read_parts(with_section(limit), "XyZ", limit);
  ASSERT_TRUE(at_limit.has_value()) << at_limit.error().message;
  EXPECT_EQ((*at_limit)[0].body, "body");
  auto over = read_parts(with_section(limit + 1), "XyZ", limit);
  ASSERT_FALSE(over.has_value());
  EXPECT_EQ(over.error().code, ErrorCode::kBadRequest);
  // Headers that never end are refused without reading the whole body.
  auto endless = read_parts("--XyZ\r\n" + kCd + std::string(1 << 20, 'h'), "XyZ", limit);
  ASSERT_FALSE(endless.has_value());
  // So is endless transport padding.
  auto padding = read_parts("--XyZ" + std::string(1 << 20, ' '), "XyZ", limit);
  ASSERT_FALSE(padding.has_value());
}

// ---- byte-exact round trips ----

// Content made to stress the delimiter search: CR, LF, dashes, prefixes of the delimiter and
// whole boundaries not preceded by CRLF.
std::string nasty_content(std::mt19937& rng, std::string_view boundary, std::size_t size) {
  const std::string delimiter = "\r\n--" + std::string(boundary);
  std::vector<std::string> pieces = {"\r",       "\n",
                                     "-",        "--",
                                     "\r\n",     "\r\n-",
                                     "\r\n--",   "--" + std::string(boundary),
                                     "\r\r\n--", std::string(1, '\0'),
                                     "\xFF"};
  for (std::size_t i = 1; i < delimiter.size(); ++i) pieces.push_back(delimiter.substr(0, i));
  pieces.push_back(delimiter + "X");  // a full boundary followed by other characters
  pieces.push_back(delimiter + "-x");
  std::string out;
  std::uniform_int_distribution<int> pick(0, 2);
  std::uniform_int_distribution<std::size_t> which(0, pieces.size() - 1);
  std::uniform_int_distribution<int> byte(0, 255);
  while (out.size() < size) {
    if (pick(rng) == 0) {
      out += static_cast<char>(byte(rng));
    } else {
      out += pieces[which(rng)];
    }
  }
  out.resize(size);
  // The content must not itself hold a delimiter followed by what makes it one.
  for (std::size_t p = out.find(delimiter); p != std::string::npos; p = out.find(delimiter, p)) {
    out[p + 2] = '#';  // '#' is not a bchar: no new match
  }
  return out;
}

TEST(MultipartReader, RoundTripsNastyContentWhateverTheReadSizes) {
  std::mt19937 rng(20261128);
  const std::vector<std::string> boundaries = {"b", "XyZ", "----WebKitFormBoundary7MA4YWxkTrZu0gW",
                                               std::string(70, '-')};
  for (int iteration = 0; iteration < 400; ++iteration) {
    const std::string& boundary = boundaries[iteration % boundaries.size()];
    std::uniform_int_distribution<std::size_t> part_count(1, 3);
    std::uniform_int_distribution<std::size_t> part_size(0, iteration % 10 == 0 ? 200000 : 300);
    std::vector<std::string> contents;
    std::string body = iteration % 2 ? "preamble\r\n" : "";
    for (std::size_t i = part_count(rng); i > 0; --i) {
      contents.push_back(nasty_content(rng, boundary, part_size(rng)));
      body +=
          form_part(boundary, "Content-Disposition: form-data; name=\"p\"\r\n", contents.back());
    }
    body += close_delimiter(boundary);
    if (iteration % 3 == 0) body += nasty_content(rng, boundary, 50);  // epilogue

    std::uniform_int_distribution<std::size_t> sizes(1, iteration % 4 == 0 ? 100000 : 200);
    std::function<std::size_t()> next_size;
    switch (iteration % 3) {
      case 0:
        next_size = [] { return 1; };
        break;
      case 1:
        next_size = [&] { return sizes(rng); };
        break;
      default:
        next_size = [] { return SIZE_MAX; };
        break;
    }
    std::uniform_int_distribution<std::size_t> out_sizes(1, 70000);
    std::size_t out_size = iteration % 5 == 0 ? 1 : out_sizes(rng);
    ChunkedSource source(body, next_size);
    auto parts = read_parts(source, boundary, out_size);
    ASSERT_TRUE(parts.has_value()) << "iteration " << iteration << ": " << parts.error().message;
    ASSERT_EQ(parts->size(), contents.size()) << "iteration " << iteration;
    for (std::size_t i = 0; i < contents.size(); ++i) {
      ASSERT_EQ((*parts)[i].body, contents[i]) << "iteration " << iteration << " part " << i;
    }
  }
}

// Produces a multipart body whose one part holds `size` bytes of a pattern, without ever holding
// the body in memory.
class GeneratedBody final : public ByteSource {
 public:
  GeneratedBody(std::string head, std::uint64_t size, std::string tail)
      : head_(std::move(head)), size_(size), tail_(std::move(tail)) {}
  Result<std::size_t> read(std::span<char> out) override {
    max_read_ = std::max(max_read_, out.size());
    std::size_t n = 0;
    while (n < out.size() && pos_ < head_.size() + size_ + tail_.size()) {
      std::uint64_t i = pos_++;
      if (i < head_.size()) {
        out[n++] = head_[i];
      } else if (i < head_.size() + size_) {
        out[n++] = pattern(i - head_.size());
      } else {
        out[n++] = tail_[i - head_.size() - size_];
      }
    }
    return n;
  }
  static char pattern(std::uint64_t i) { return "\r\n--Xy-\r"[i % 8]; }
  std::size_t max_read() const { return max_read_; }

 private:
  std::string head_;
  std::uint64_t size_;
  std::string tail_;
  std::uint64_t pos_ = 0;
  std::size_t max_read_ = 0;
};

TEST(MultipartReader, StreamsALargePartThroughAFixedBuffer) {
  const std::uint64_t size = 32ull << 20;
  GeneratedBody body("--XyZ\r\n" + kCd + "\r\n", size, "\r\n--XyZ--\r\n");
  MultipartReader reader(body, "XyZ");
  EXPECT_LE(reader.buffer_bytes(), kMultipartChunkBytes + 128);
  ASSERT_TRUE(reader.next_part().value().has_value());
  std::vector<char> buf(1 << 20);
  std::uint64_t total = 0;
  for (;;) {
    auto n = reader.part_body().read(buf);
    ASSERT_TRUE(n.has_value()) << n.error().message;
    if (*n == 0) break;
    std::size_t bad = 0;
    while (bad < *n && buf[bad] == GeneratedBody::pattern(total + bad)) ++bad;
    ASSERT_EQ(bad, *n) << "wrong byte at " << total + bad;
    total += *n;
  }
  EXPECT_EQ(total, size);
  EXPECT_FALSE(reader.next_part().value().has_value());
  EXPECT_LE(body.max_read(), reader.buffer_bytes());
}

}  // namespace
}  // namespace coffer::api
