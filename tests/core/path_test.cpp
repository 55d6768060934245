#include "core/path.h"

#include <gtest/gtest.h>

namespace coffer {
namespace {

struct PathCase {
  std::string text;
  bool valid;
};

class PathValidation : public ::testing::TestWithParam<PathCase> {};

TEST_P(PathValidation, AcceptsExactlyTheApiRules) {
  const auto& c = GetParam();
  auto r = FilePath::parse(c.text);
  EXPECT_EQ(r.has_value(), c.valid) << "path: " << c.text;
  if (!c.valid) {
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidPath);
  } else {
    EXPECT_EQ(r->str(), c.text);  // byte for byte, no normalisation
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, PathValidation,
    ::testing::Values(
        PathCase{"a", true}, PathCase{"reports/2026/q1.pdf", true},
        PathCase{"with space/and+plus%25#hash?q", true}, PathCase{"emoji/\xF0\x9F\x98\x80.txt", true},
        PathCase{"caf\xC3\xA9", true},            // NFC é
        PathCase{"cafe\xCC\x81", true},           // NFD e + combining acute
        PathCase{"...", true}, PathCase{".hidden", true}, PathCase{"a/..b/c.", true},
        PathCase{"", false}, PathCase{"/a", false}, PathCase{"a/", false}, PathCase{"a//b", false},
        PathCase{".", false}, PathCase{"..", false}, PathCase{"a/./b", false},
        PathCase{"a/../b", false}, PathCase{"a/..", false}, PathCase{"a\\b", false},
        PathCase{std::string("a\0b", 3), false}, PathCase{"a\nb", false}, PathCase{"a\x1f", false},
        PathCase{"a\x7f", false}, PathCase{"\xC3\x28", false},   // bad continuation
        PathCase{"\xC0\xAF", false},                                   // overlong '/'
        PathCase{"\xED\xA0\x80", false},                               // surrogate
        PathCase{"\xF4\x90\x80\x80", false},                           // above U+10FFFF
        PathCase{"\xFF", false}, PathCase{std::string(1024, 'x'), true},
        PathCase{std::string(1025, 'x'), false}));

TEST(FilePath, FilenameIsTheLastSegment) {
  EXPECT_EQ(FilePath::parse("a/b/c.txt")->filename(), "c.txt");
  EXPECT_EQ(FilePath::parse("c.txt")->filename(), "c.txt");
}

TEST(Prefix, AllowsPartialSegmentsButNotControlCharacters) {
  EXPECT_TRUE(validate_prefix("").has_value());
  EXPECT_TRUE(validate_prefix("rep").has_value());
  EXPECT_TRUE(validate_prefix("a/b/").has_value());
  EXPECT_FALSE(validate_prefix("a\nb").has_value());
  EXPECT_FALSE(validate_prefix("\xFF").has_value());
}

}  // namespace
}  // namespace coffer
