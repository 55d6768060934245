#include "auth/verified_token_cache.h"

namespace coffer::auth {

std::optional<TokenSubject> VerifiedTokenCache::find(std::string_view token, SystemTime now) const {
  std::lock_guard lock(mu_);
  auto it = entries_.find(token);
  if (it == entries_.end() || now >= it->second.valid_until) return std::nullopt;
  return it->second.subject;
}

void VerifiedTokenCache::remember(std::string_view token, const TokenSubject& subject,
                                  SystemTime valid_until) {
  std::lock_guard lock(mu_);
  if (entries_.size() >= capacity_) entries_.clear();
  entries_.insert_or_assign(std::string(token), Entry{subject, valid_until});
}

std::size_t VerifiedTokenCache::size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

}  // namespace coffer::auth
