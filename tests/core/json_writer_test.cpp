#include "core/json_writer.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace coffer {
namespace {

TEST(JsonWriter, NestedStructuresAreValidJson) {
  std::string out;
  JsonWriter w(out);
  // clang-format off
  w.begin_object()
      .key("items").begin_array()
          .begin_object().key("id").value("a").key("n").value(std::int64_t{-7}).end_object()
          .begin_object().key("ok").value(true).key("none").null().end_object()
          .begin_array().end_array()
          .value(std::int64_t{9007199254740993})
      .end_array()
      .key("empty").begin_object().end_object()
      .key("raw").raw(R"({"x":[1,2]})")
      .key("last").value(false)
      .end_object();
  // clang-format on
  EXPECT_EQ(out, R"({"items":[{"id":"a","n":-7},{"ok":true,"none":null},[],9007199254740993],)"
                 R"("empty":{},"raw":{"x":[1,2]},"last":false})");
  EXPECT_NO_THROW(boost::json::parse(out));
}

TEST(JsonWriter, StringsAreEscapedAndReadBackByteForByte) {
  std::string every_byte;
  for (int c = 0; c < 0x80; ++c) every_byte += static_cast<char>(c);
  every_byte += "héllo 😀 \xe2\x80\xa8";  // UTF-8 passes through unchanged
  for (const std::string& s :
       {every_byte, std::string("plain"), std::string(), std::string("\"\\/")}) {
    std::string out;
    append_json_string(out, s);
    boost::json::value back = boost::json::parse(out);
    EXPECT_EQ(std::string(back.as_string()), s);
  }
}

TEST(JsonWriter, ControlCharactersUseShortOrUnicodeEscapes) {
  std::string out;
  append_json_string(out, std::string("a\nb\t\x01\x1f\"\\\x7f", 9));
  EXPECT_EQ(out, R"("a\nb\t\u0001\u001f\"\\\u007f")");
}

}  // namespace
}  // namespace coffer
