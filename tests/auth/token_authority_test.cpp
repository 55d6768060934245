#include "auth/token_authority.h"

#include <gtest/gtest.h>

namespace coffer::auth {
namespace {

const SystemTime kNow = from_unix_seconds(1'800'000'000);

struct Own {
  AuthConfig config = [] {
    AuthConfig c;
    c.jwt_secret = std::string(32, 'k');
    c.leeway = std::chrono::seconds(30);
    return c;
  }();
  ManualClock clock{kNow};
  TokenAuthority authority{*load_signing_key(config, "/nonexistent"), config, clock};
};

TEST(TokenAuthority, ATokenSeenBeforeStillExpiresOnTime) {
  Own own;
  auto token = own.authority.issue_user_token("tenant1", "user1", std::chrono::seconds(60));
  ASSERT_TRUE(token.has_value());
  for (int i = 0; i < 3; ++i) {
    auto subject = own.authority.authenticate("Bearer " + *token);
    ASSERT_TRUE(subject.has_value()) << subject.error().detail;
    EXPECT_EQ(subject->tenant, "tenant1");
    EXPECT_EQ(subject->user, "user1");
  }
  own.clock.advance(std::chrono::seconds(60 + 29));  // within the leeway
  EXPECT_TRUE(own.authority.authenticate("Bearer " + *token).has_value());
  own.clock.advance(std::chrono::seconds(1));  // exp + leeway: over
  auto late = own.authority.authenticate("Bearer " + *token);
  ASSERT_FALSE(late.has_value());
  EXPECT_EQ(late.error().code, ErrorCode::kUnauthenticated);
}

TEST(TokenAuthority, ATokenChangedInOneByteIsVerifiedAfresh) {
  Own own;
  auto token = own.authority.issue_user_token("tenant1", "user1", std::chrono::seconds(60));
  ASSERT_TRUE(own.authority.authenticate("Bearer " + *token).has_value());
  for (std::size_t i : {std::size_t{5}, token->size() / 2, token->size() - 2}) {
    std::string forged = *token;
    forged[i] = forged[i] == 'A' ? 'B' : 'A';
    EXPECT_FALSE(own.authority.authenticate("Bearer " + forged).has_value()) << i;
  }
  EXPECT_TRUE(own.authority.authenticate("Bearer " + *token).has_value());
}

TEST(TokenAuthority, OperatorTokensStayOperatorTokens) {
  Own own;
  auto token = own.authority.issue_operator_token(std::chrono::seconds(60));
  for (int i = 0; i < 2; ++i) {
    auto subject = own.authority.authenticate("Bearer " + *token);
    ASSERT_TRUE(subject.has_value());
    EXPECT_EQ(subject->kind, TokenSubject::Kind::kOperator);
  }
}

TEST(VerifiedTokenCache, IsBoundedAndForgetsExpiredTokens) {
  VerifiedTokenCache cache(3);
  TokenSubject subject;
  subject.user = "u";
  for (int i = 0; i < 10; ++i) {
    cache.remember("token-" + std::to_string(i), subject, kNow + std::chrono::seconds(10));
    EXPECT_LE(cache.size(), 3u);
  }
  EXPECT_TRUE(cache.find("token-9", kNow).has_value());
  EXPECT_FALSE(cache.find("token-9", kNow + std::chrono::seconds(10)).has_value());
  EXPECT_FALSE(cache.find("token-", kNow).has_value());
}

}  // namespace
}  // namespace coffer::auth
