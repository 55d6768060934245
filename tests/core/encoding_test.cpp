#include "core/encoding.h"

#include <gtest/gtest.h>

#include "core/crypto.h"
#include "core/ids.h"

namespace coffer {
namespace {

TEST(Hex, RoundTrips) {
  EXPECT_EQ(hex_encode(std::string("\x00\xff\x10", 3)), "00ff10");
  EXPECT_EQ(hex_decode("00FF10"), std::string("\x00\xff\x10", 3));
  EXPECT_FALSE(hex_decode("0").has_value());
  EXPECT_FALSE(hex_decode("zz").has_value());
}

TEST(Base64Url, RoundTripsAndIsStrict) {
  for (std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar", "\xfb\xff"}) {
    auto enc = base64url_encode(s);
    EXPECT_EQ(base64url_decode(enc), s);
  }
  EXPECT_EQ(base64url_encode(std::string("\xfb\xff")), "-_8");
  EXPECT_FALSE(base64url_decode("Zg==").has_value());  // padding
  EXPECT_FALSE(base64url_decode("+/8").has_value());   // standard alphabet
  EXPECT_FALSE(base64url_decode("Zh").has_value());    // non-zero trailing bits
  EXPECT_FALSE(base64url_decode("Z").has_value());     // impossible length
  EXPECT_FALSE(base64url_decode("Zm 9v").has_value());
}

TEST(Base64, PadsLikeRfc4648) {
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64_encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
}

TEST(Sha256, MatchesKnownDigestsIncrementally) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  Sha256 h;
  h.update(std::string_view("ab"));
  h.update(std::string_view("c"));
  EXPECT_EQ(hex_encode(h.finish()),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Hmac, MatchesRfc4231Case2) {
  EXPECT_EQ(hex_encode(hmac_sha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(ConstantTimeEqual, ComparesContentAndLength) {
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "abcd"));
}

TEST(Ids, AreFreshAndWellFormed) {
  auto a = new_id();
  auto b = new_id();
  EXPECT_NE(a, b);
  EXPECT_EQ(a.size(), 26u);
  EXPECT_TRUE(looks_like_id(a));
  EXPECT_FALSE(looks_like_id("not-an-id"));
  EXPECT_FALSE(looks_like_id(std::string(26, 'A')));
}

}  // namespace
}  // namespace coffer
