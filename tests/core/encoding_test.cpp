#include "core/encoding.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

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

struct Rfc4231Case {
  std::string key_hex, data, sha256, sha384, sha512;
};

std::string bytes(const std::string& hex) { return *hex_decode(hex); }

// RFC 4231 section 4: cases 1, 2 (a short key), 4, 6 and 7 (keys longer than a block).
std::vector<Rfc4231Case> rfc4231_cases() {
  const std::string long_key = std::string(262, 'a');  // 131 bytes of 0xaa
  return {
      {"0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "Hi There",
       "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
       "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59cfaea9ea9076ede7f4af152e8b2f"
       "a9cb6",
       "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea"
       "3f4e4be9d914eeb61f1702e696c203a126854"},
      {"4a656665", "what do ya want for nothing?",
       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
       "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab"
       "21649",
       "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f"
       "0e6fdcaeab1a34d4a6b4b636e070a38bce737"},
      {"0102030405060708090a0b0c0d0e0f10111213141516171819", std::string(50, '\xcd'),
       "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
       "3e8a69b7783c25851933ab6290af6ca77a9981480850009cc5577c6e1f573b4e6801dd23c4a7d679ccf8a386c67"
       "4cffb",
       "b0ba465637458c6990e5a8c5f61d4af7e576d97ff94b872de76f8050361ee3dba91ca5c11aa25eb4d679275cc57"
       "88063a5f19741120c4f2de2adebeb10a298dd"},
      {long_key, "Test Using Larger Than Block-Size Key - Hash Key First",
       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
       "4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c60c2ef6ab4030fe8296248df163f"
       "44952",
       "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f3526b56d037e05f2598bd0fd2215d6"
       "a1e5295e64f73f63f0aec8b915a985d786598"},
      {long_key,
       "This is a test using a larger than block-size key and a larger than block-size data. The "
       "key needs to "
       "be hashed before being used by the HMAC algorithm.",
       "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
       "6617178e941f020d351e2f254e8fd32c602420feb0b8fb9adccebb82461e99c5a678cc31e799176d3860e6110c4"
       "6523e",
       "e37b6a775dc87dbaa4dfa9f96e5e3ffddebd71f8867289865df5a32d20cdc944b6022cac3c4982b10d5eeb55c3e"
       "4de15134676fb6de0446065c97440fa8c6a58"},
  };
}

TEST(Hmac, MatchesRfc4231ForEveryHash) {
  for (int round = 0; round < 2; ++round) {  // the second round uses the cached key states
    for (const auto& c : rfc4231_cases()) {
      const std::string key = bytes(c.key_hex);
      EXPECT_EQ(hex_encode(hmac(HashAlg::kSha256, key, c.data)), c.sha256) << c.data;
      EXPECT_EQ(hex_encode(hmac(HashAlg::kSha384, key, c.data)), c.sha384) << c.data;
      EXPECT_EQ(hex_encode(hmac(HashAlg::kSha512, key, c.data)), c.sha512) << c.data;
      EXPECT_EQ(hex_encode(hmac_sha256(key, c.data)), c.sha256);
    }
  }
}

TEST(Hmac, ManyKeysInTurnStayCorrect) {
  // More keys than a thread keeps states for, used round-robin: evictions must not mix them up.
  const std::string expected = hex_encode(hmac_sha256("Jefe", "what do ya want for nothing?"));
  for (int i = 0; i < 100; ++i) {
    std::string other_key = "key-" + std::to_string(i);
    EXPECT_NE(hex_encode(hmac_sha256(other_key, "what do ya want for nothing?")), expected);
    EXPECT_EQ(hex_encode(hmac_sha256("Jefe", "what do ya want for nothing?")), expected);
  }
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
