#include "core/content_disposition.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

namespace coffer {
namespace {

struct DispositionCase {
  std::string name;
  std::string fallback;
  std::string encoded;
};

class AttachmentDisposition : public ::testing::TestWithParam<DispositionCase> {};

TEST_P(AttachmentDisposition, CarriesAnAsciiFallbackAndTheExactUtf8Name) {
  const auto& c = GetParam();
  EXPECT_EQ(attachment_disposition(c.name),
            "attachment; filename=\"" + c.fallback + "\"; filename*=UTF-8''" + c.encoded);
}

INSTANTIATE_TEST_SUITE_P(
    Table, AttachmentDisposition,
    ::testing::Values(DispositionCase{"q1.pdf", "q1.pdf", "q1.pdf"},
                      DispositionCase{"my report.pdf", "my report.pdf", "my%20report.pdf"},
                      DispositionCase{"a\"b.txt", "a_b.txt", "a%22b.txt"},
                      DispositionCase{"a\\b.txt", "a_b.txt", "a%5Cb.txt"},
                      DispositionCase{"100%.txt", "100_.txt", "100%25.txt"},
                      DispositionCase{"a+b#c?d", "a+b#c_d", "a+b#c%3Fd"},
                      DispositionCase{"x;y=z,w", "x_y=z,w", "x%3By%3Dz%2Cw"},
                      DispositionCase{"a/b:c*d<e>f|g", "a_b_c_d_e_f_g", "a%2Fb%3Ac%2Ad%3Ce%3Ef|g"},
                      DispositionCase{"it's (1) [2] {3} @~", "it's (1) [2] {3} @~",
                                      "it%27s%20%281%29%20%5B2%5D%20%7B3%7D%20%40~"},
                      DispositionCase{"caf\xC3\xA9.txt", "caf_.txt", "caf%C3%A9.txt"},
                      DispositionCase{"\xF0\x9F\x98\x80.png", "_.png",
                                      "%F0%9F%98%80.png"},  // one '_' per emoji
                      DispositionCase{"\xE6\x97\xA5\xE6\x9C\xAC", "__", "%E6%97%A5%E6%9C%AC"},
                      DispositionCase{"a\r\nSet-Cookie: x=1", "a__Set-Cookie_ x=1",
                                      "a%0D%0ASet-Cookie%3A%20x%3D1"},
                      DispositionCase{std::string("a\0b\tc\x7f", 6), "a_b_c_", "a%00b%09c%7F"},
                      DispositionCase{"bad\xFF\xC3(", "bad__(", "bad__%28"},  // invalid UTF-8 bytes
                      DispositionCase{"\xED\xA0\x80", "___", "___"},  // a surrogate is not UTF-8
                      DispositionCase{"", "download", "download"}));

TEST(AttachmentDisposition, OutputIsPrintableAsciiForEveryByte) {
  for (int b = 0; b < 256; ++b) {
    std::string name = "xy";
    name.insert(1, 1, static_cast<char>(b));
    std::string header = attachment_disposition(name);
    for (char c : header) {
      auto u = static_cast<unsigned char>(c);
      ASSERT_TRUE(u >= 0x20 && u < 0x7F) << "byte " << b << " gave " << header;
    }
    // Exactly the two quotes that delimit the fallback.
    EXPECT_EQ(std::count(header.begin(), header.end(), '"'), 2) << "byte " << b;
  }
}

}  // namespace
}  // namespace coffer
