#include "core/byte_range.h"

#include <gtest/gtest.h>

#include <limits>

namespace coffer {
namespace {

using Kind = RangeRequest::Kind;

struct RangeCase {
  std::string header;
  std::uint64_t size;
  RangeRequest want;
};

constexpr RangeRequest kWhole{Kind::kWhole};
constexpr RangeRequest kUnsatisfiable{Kind::kUnsatisfiable};
constexpr RangeRequest partial(std::uint64_t first, std::uint64_t last) {
  return {Kind::kPartial, first, last};
}
constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();

class ParseRange : public ::testing::TestWithParam<RangeCase> {};

TEST_P(ParseRange, FollowsRfc9110) {
  const auto& c = GetParam();
  RangeRequest got = parse_range(c.header, c.size);
  EXPECT_EQ(static_cast<int>(got.kind), static_cast<int>(c.want.kind))
      << "header: [" << c.header << "] size " << c.size;
  if (c.want.kind == Kind::kPartial) {
    EXPECT_EQ(got.first, c.want.first) << c.header;
    EXPECT_EQ(got.last, c.want.last) << c.header;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, ParseRange,
    ::testing::Values(
        // Satisfiable single ranges.
        RangeCase{"bytes=0-0", 10, partial(0, 0)}, RangeCase{"bytes=0-9", 10, partial(0, 9)},
        RangeCase{"bytes=2-5", 10, partial(2, 5)}, RangeCase{"bytes=5-", 10, partial(5, 9)},
        RangeCase{"bytes=9-", 10, partial(9, 9)}, RangeCase{"bytes=0-", 10, partial(0, 9)},
        RangeCase{"bytes=5-100", 10, partial(5, 9)},  // last clipped to size - 1
        RangeCase{"bytes=-5", 10, partial(5, 9)},     // suffix
        RangeCase{"bytes=-1", 10, partial(9, 9)}, RangeCase{"bytes=-10", 10, partial(0, 9)},
        RangeCase{"bytes=-11", 10, partial(0, 9)},  // suffix longer than size: all of it
        RangeCase{"bytes=-5", 1, partial(0, 0)},
        RangeCase{"bytes=007-0009", 10, partial(7, 9)},  // leading zeros
        // Unit and syntax are case- and OWS-tolerant where RFC 9110 allows it.
        RangeCase{"BYTES=1-2", 10, partial(1, 2)}, RangeCase{"Bytes=1-2", 10, partial(1, 2)},
        RangeCase{"  bytes=1-2\t", 10, partial(1, 2)}, RangeCase{"bytes= 1-2 ", 10, partial(1, 2)},
        RangeCase{"bytes=1-2,", 10, partial(1, 2)}, RangeCase{"bytes=, 1-2 ,,", 10, partial(1, 2)},
        // Unsatisfiable: 416.
        RangeCase{"bytes=10-", 10, kUnsatisfiable}, RangeCase{"bytes=10-20", 10, kUnsatisfiable},
        RangeCase{"bytes=-0", 10, kUnsatisfiable}, RangeCase{"bytes=-000", 10, kUnsatisfiable},
        RangeCase{"bytes=0-0", 0, kUnsatisfiable}, RangeCase{"bytes=0-", 0, kUnsatisfiable},
        RangeCase{"bytes=-5", 0, kUnsatisfiable}, RangeCase{"bytes=-0", 0, kUnsatisfiable},
        // Ignored: serve the whole representation.
        RangeCase{"", 10, kWhole}, RangeCase{"   ", 10, kWhole}, RangeCase{"items=0-5", 10, kWhole},
        RangeCase{"bytes", 10, kWhole}, RangeCase{"bytes=", 10, kWhole},
        RangeCase{"bytes=,", 10, kWhole}, RangeCase{"bytes=-", 10, kWhole},
        RangeCase{"bytes=5", 10, kWhole}, RangeCase{"bytes=a-b", 10, kWhole},
        RangeCase{"bytes=1-b", 10, kWhole}, RangeCase{"bytes=+1-2", 10, kWhole},
        RangeCase{"bytes=1--2", 10, kWhole}, RangeCase{"bytes=--2", 10, kWhole},
        RangeCase{"bytes=0x1-2", 10, kWhole}, RangeCase{"bytes=5-3", 10, kWhole},  // last < first
        RangeCase{"bytes=1 -2", 10, kWhole}, RangeCase{"bytes=1- 2", 10, kWhole},
        RangeCase{"bytes =1-2", 10, kWhole}, RangeCase{"bytes=1-2;x", 10, kWhole},
        RangeCase{"bytes=0-1,2-3", 10, kWhole}, RangeCase{"bytes=0-1,0-1", 10, kWhole},
        RangeCase{"bytes=0-1, -2", 10, kWhole}, RangeCase{"bytes=0-1,junk", 10, kWhole},
        RangeCase{"bytes=20-30,40-50", 10,
                  kWhole},  // several ranges are ignored, even if none fits
        RangeCase{"bytes=5-3", 0, kWhole},
        // Huge numbers never overflow.
        RangeCase{"bytes=0-99999999999999999999999999", 10, partial(0, 9)},
        RangeCase{"bytes=99999999999999999999999999-", 10, kUnsatisfiable},
        RangeCase{"bytes=18446744073709551616-", 10, kUnsatisfiable},  // 2^64
        RangeCase{"bytes=-99999999999999999999999999", 10, partial(0, 9)},
        RangeCase{"bytes=99999999999999999999999999-99999999999999999999999998", 10, kWhole},
        RangeCase{"bytes=99999999999999999999999998-99999999999999999999999999", 10,
                  kUnsatisfiable},
        RangeCase{"bytes=18446744073709551614-18446744073709551615", kMax,
                  partial(kMax - 1, kMax - 1)},
        RangeCase{"bytes=-1", kMax, partial(kMax - 1, kMax - 1)}));

TEST(ParseRange, PartialLengthCountsBothEnds) {
  EXPECT_EQ(parse_range("bytes=0-0", 10).length(), 1u);
  EXPECT_EQ(parse_range("bytes=-4", 10).length(), 4u);
}

TEST(ContentRange, FormatsBothForms) {
  EXPECT_EQ(content_range(0, 0, 1), "bytes 0-0/1");
  EXPECT_EQ(content_range(5, 9, 10), "bytes 5-9/10");
  EXPECT_EQ(content_range(0, kMax - 1, kMax), "bytes 0-18446744073709551614/18446744073709551615");
  EXPECT_EQ(content_range_unsatisfied(0), "bytes */0");
  EXPECT_EQ(content_range_unsatisfied(10), "bytes */10");
}

}  // namespace
}  // namespace coffer
