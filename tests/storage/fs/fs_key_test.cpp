#include "storage/fs/fs_key.h"

#include <gtest/gtest.h>

namespace coffer::storage {
namespace {

struct KeyCase {
  std::string key;
  bool valid;
};

class FsKeyValidation : public ::testing::TestWithParam<KeyCase> {};

TEST_P(FsKeyValidation, RefusesAnythingThatCouldLeaveTheRoot) {
  const auto& c = GetParam();
  auto r = split_fs_key(c.key);
  EXPECT_EQ(r.has_value(), c.valid) << "key: " << c.key;
  if (!r) {
    EXPECT_EQ(r.error().code, ErrorCode::kInternal);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, FsKeyValidation,
    ::testing::Values(KeyCase{"a", true}, KeyCase{"tenant/id", true}, KeyCase{"a/b/c", true},
                      KeyCase{"with space/+%#?&=", true},
                      KeyCase{"caf\xC3\xA9/\xF0\x9F\x98\x80", true}, KeyCase{"...", true},
                      KeyCase{".hidden/..x", true}, KeyCase{std::string(255, 'x'), true},
                      KeyCase{std::string(255, 'x') + "/" + std::string(255, 'y'), true},
                      KeyCase{"", false}, KeyCase{"/abs", false}, KeyCase{"/", false},
                      KeyCase{"a/", false}, KeyCase{"a//b", false}, KeyCase{".", false},
                      KeyCase{"..", false}, KeyCase{"../x", false}, KeyCase{"a/../../x", false},
                      KeyCase{"a/./b", false}, KeyCase{"a/..", false}, KeyCase{"a\\b", false},
                      KeyCase{"..\\x", false}, KeyCase{std::string("a\0b", 3), false},
                      KeyCase{"a\nb", false}, KeyCase{"a\tb", false}, KeyCase{"a\x7f", false},
                      KeyCase{"\xC0\xAF", false},  // overlong '/'
                      KeyCase{"\xFF", false}, KeyCase{std::string(256, 'x'), false},
                      KeyCase{std::string(1025, 'x'), false}));

TEST(FsKey, SplitsIntoSegments) {
  auto r = split_fs_key("t/a b/c.txt");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, (std::vector<std::string_view>{"t", "a b", "c.txt"}));
}

}  // namespace
}  // namespace coffer::storage
