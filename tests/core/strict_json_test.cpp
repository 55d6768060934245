#include "core/strict_json.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace coffer {
namespace {

TEST(StrictJson, AcceptsPlainObjects) {
  auto v = parse_strict_json_object(R"( {"a":1,"b":[{"c":"d"},{"c":"e"}],"f":{"g":null}} )", "x");
  ASSERT_TRUE(v) << v.error().detail;
  EXPECT_EQ(v->size(), 3u);
}

TEST(StrictJson, RefusesDuplicateMembersAtAnyDepth) {
  for (const char* text :
       {R"({"a":1,"a":2})", R"({"a":{"b":1,"b":1}})", R"({"a":[{"x":1},{"y":2,"y":3}]})",
        R"({"":1,"":1})", R"({"a\u0062":1,"ab":2})"}) {
    auto v = parse_strict_json(text, "test");
    ASSERT_FALSE(v) << text;
    EXPECT_EQ(v.error().code, ErrorCode::kBadRequest);
    EXPECT_NE(v.error().message.find("duplicate"), std::string::npos) << v.error().message;
  }
  // The same name in sibling objects is not a duplicate.
  EXPECT_TRUE(parse_strict_json(R"([{"a":1},{"a":2}])", "test"));
}

TEST(StrictJson, RefusesWhatRfc8259DoesNotAllow) {
  for (std::string text :
       {std::string("\xEF\xBB\xBF{}"), std::string("{\"a\":\"\xff\"}"),
        std::string("{\"a\":\"\xc3\"}"), std::string("{} x"), std::string("{}{}"),
        std::string("{\"a\":1,}"), std::string("{/*c*/}"), std::string(""), std::string("{'a':1}"),
        std::string("{\"a\":NaN}"), std::string("{\"a\":01}")}) {
    EXPECT_FALSE(parse_strict_json(text, "test")) << text;
  }
  EXPECT_FALSE(parse_strict_json_object("[1]", "test"));
  EXPECT_FALSE(parse_strict_json_object("\"s\"", "test"));
}

TEST(StrictJson, LimitsNestingWithoutRecursion) {
  auto nested = [](std::size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); };
  EXPECT_TRUE(parse_strict_json(nested(kMaxJsonDepth), "test"));
  EXPECT_FALSE(parse_strict_json(nested(kMaxJsonDepth + 1), "test"));
  // The recipe "deep-nesting-100000" of jwt-attack-cases.json: refused, and no stack overflow.
  EXPECT_FALSE(parse_strict_json("{\"x\":" + nested(100000) + "}", "test"));
}

TEST(StrictJson, ManyMembersParseInLinearTime) {
  // The recipe "many-claims-100000": 100000 distinct keys must not take super-linear time.
  std::string text = "{";
  for (int i = 0; i < 100000; ++i) {
    if (i > 0) text += ',';
    text += "\"k" + std::to_string(i) + "\":" + std::to_string(i);
  }
  text += '}';
  const auto start = std::chrono::steady_clock::now();
  auto v = parse_strict_json_object(text, "test");
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(v) << v.error().detail;
  EXPECT_EQ(v->size(), 100000u);
  EXPECT_LT(elapsed, std::chrono::seconds(2));
  text.insert(text.size() - 1, ",\"k5\":0");
  EXPECT_FALSE(parse_strict_json_object(text, "test"));
}

}  // namespace
}  // namespace coffer
