// Coffer's own tokens that verified, remembered until they expire: a client that sends the same
// token again (every request of a session) skips the signature check and the JSON parsing. Keyed
// by the whole token, so a token that differs in any byte is verified afresh; the expiry (with
// the leeway) is checked on every hit. Only the signature, the claims and the time checks are
// saved: the user is still read from the database on every request. Bounded: when full, it
// starts over empty.
#pragma once

#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "auth/token_subject.h"
#include "core/clock.h"

namespace coffer::auth {

class VerifiedTokenCache {
 public:
  explicit VerifiedTokenCache(std::size_t capacity = 16384) : capacity_(capacity) {}

  // The subject of `token` if it verified before and `now` is before its `valid_until`.
  std::optional<TokenSubject> find(std::string_view token, SystemTime now) const;
  // `token` verified; it stays valid while now < valid_until.
  void remember(std::string_view token, const TokenSubject& subject, SystemTime valid_until);
  std::size_t size() const;

 private:
  struct Entry {
    TokenSubject subject;
    SystemTime valid_until;
  };
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  const std::size_t capacity_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry, Hash, std::equal_to<>> entries_;
};

}  // namespace coffer::auth
