#include "core/http_conditions.h"

#include <gtest/gtest.h>

#include <string>

namespace coffer {
namespace {

struct TagCase {
  std::string header;
  std::string etag;
  bool if_none_match;  // weak comparison
  bool if_match;       // strong comparison
};

class EntityTagLists : public ::testing::TestWithParam<TagCase> {};

TEST_P(EntityTagLists, CompareWeaklyForIfNoneMatchAndStronglyForIfMatch) {
  const auto& c = GetParam();
  EXPECT_EQ(if_none_match_matches(c.header, c.etag), c.if_none_match)
      << "If-None-Match: " << c.header << " vs " << c.etag;
  EXPECT_EQ(if_match_matches(c.header, c.etag), c.if_match)
      << "If-Match: " << c.header << " vs " << c.etag;
}

INSTANTIATE_TEST_SUITE_P(
    Table, EntityTagLists,
    ::testing::Values(
        TagCase{R"("abc")", R"("abc")", true, true}, TagCase{R"("abc")", R"("abd")", false, false},
        TagCase{R"(W/"abc")", R"("abc")", true, false},
        TagCase{R"("abc")", R"(W/"abc")", true, false},
        TagCase{R"(W/"abc")", R"(W/"abc")", true, false}, TagCase{"*", R"("abc")", true, true},
        TagCase{" * ", R"("abc")", true, true}, TagCase{"*", R"(W/"abc")", true, true},
        TagCase{R"("x", "abc")", R"("abc")", true, true},
        TagCase{R"("x",W/"abc")", R"("abc")", true, false},
        TagCase{R"( "x" ,, "abc" , )", R"("abc")", true, true},
        TagCase{R"("x", "y")", R"("abc")", false, false},
        TagCase{R"("a,b")", R"("a,b")", true, true},  // a comma inside the quotes is opaque
        TagCase{R"("a", "b")", R"("a,b")", false, false},
        TagCase{R"("")", R"("")", true, true},          // the empty opaque tag is valid
        TagCase{R"("ABC")", R"("abc")", false, false},  // case-sensitive
        TagCase{"abc", R"("abc")", false, false},       // unquoted: malformed
        TagCase{R"("abc)", R"("abc")", false, false},
        TagCase{R"(w/"abc")", R"("abc")", false, false},
        TagCase{R"(W/ "abc")", R"("abc")", false, false},
        TagCase{R"("a b")", R"("a b")", false, false},  // space is not an etagc
        TagCase{R"("abc" "abc")", R"("abc")", false, false},
        TagCase{R"("abc", *)", R"("abc")", false, false},          // '*' only stands alone
        TagCase{R"("x", junk, "abc")", R"("abc")", false, false},  // malformed: no match at all
        TagCase{"", R"("abc")", false, false}, TagCase{",", R"("abc")", false, false},
        TagCase{R"("abc")", "abc", false, false},  // our own tag malformed: nothing matches
        TagCase{"\"caf\xC3\xA9\"", "\"caf\xC3\xA9\"", true, true}));  // obs-text

const SystemTime kModified = from_unix_seconds(1795840175);  // Sat, 28 Nov 2026 04:29:35 GMT

struct IfRangeCase {
  std::string header;
  bool allows;
};

class IfRange : public ::testing::TestWithParam<IfRangeCase> {};

TEST_P(IfRange, AllowsRangeOnlyForAStrongValidatorMatch) {
  const auto& c = GetParam();
  EXPECT_EQ(if_range_allows_range(c.header, R"("abc")", kModified), c.allows)
      << "If-Range: " << c.header;
}

INSTANTIATE_TEST_SUITE_P(
    Table, IfRange,
    ::testing::Values(IfRangeCase{R"("abc")", true}, IfRangeCase{R"( "abc" )", true},
                      IfRangeCase{R"("abd")", false}, IfRangeCase{R"(W/"abc")", false},
                      IfRangeCase{R"("abc", "abc")", false}, IfRangeCase{"*", false},
                      IfRangeCase{"", false}, IfRangeCase{"abc", false},
                      IfRangeCase{"Sat, 28 Nov 2026 04:29:35 GMT", true},
                      IfRangeCase{"Sat, 28 Nov 2026 04:29:36 GMT", false},
                      IfRangeCase{"Sat, 28 Nov 2026 04:29:34 GMT", false},
                      IfRangeCase{"Sat, 28 Nov 2026 04:29:35 PST", false},
                      IfRangeCase{"2026-11-28T04:29:35Z", false}));

TEST(IfRangeDates, CompareAtOneSecondResolution) {
  SystemTime with_millis = kModified + std::chrono::milliseconds(750);
  EXPECT_EQ(format_http_date(kModified), "Sat, 28 Nov 2026 04:29:35 GMT");
  EXPECT_TRUE(if_range_allows_range(format_http_date(with_millis), R"("abc")", with_millis));
}

TEST(IfRangeTags, OurWeakTagNeverMatches) {
  EXPECT_FALSE(if_range_allows_range(R"(W/"abc")", R"(W/"abc")", kModified));
  EXPECT_FALSE(if_range_allows_range(R"("abc")", R"(W/"abc")", kModified));
}

}  // namespace
}  // namespace coffer
