#include "service/user_cache.h"

#include <string>
#include <unordered_map>

namespace coffer::service {
namespace {

std::atomic<std::uint64_t> g_next_instance{1};

struct Entry {
  meta::UserRecord user;
  UserCache::Clock::time_point read_at;
};

// One thread's entries, for one cache instance at one generation.
struct ThreadEntries {
  std::uint64_t instance = 0;
  std::uint64_t generation = 0;
  std::unordered_map<std::string, Entry> by_key;
};

std::string key_of(std::string_view tenant_id, std::string_view user_id) {
  std::string key;
  key.reserve(tenant_id.size() + 1 + user_id.size());
  key.append(tenant_id).append(1, '\0').append(user_id);
  return key;
}

// This thread's entries, emptied when they belong to another cache or an older generation.
ThreadEntries& entries_for(std::uint64_t instance, std::uint64_t generation) {
  thread_local ThreadEntries entries;
  if (entries.instance != instance || entries.generation != generation) {
    entries.by_key.clear();
    entries.instance = instance;
    entries.generation = generation;
  }
  return entries;
}

}  // namespace

UserCache::UserCache(Clock::duration ttl, std::size_t capacity)
    : instance_(g_next_instance.fetch_add(1)), ttl_(ttl), capacity_(capacity) {}

std::optional<meta::UserRecord> UserCache::find(std::string_view tenant_id,
                                                std::string_view user_id,
                                                Clock::time_point now) const {
  ThreadEntries& entries = entries_for(instance_, generation());
  auto it = entries.by_key.find(key_of(tenant_id, user_id));
  if (it == entries.by_key.end()) return std::nullopt;
  if (now - it->second.read_at >= ttl_) {
    entries.by_key.erase(it);
    return std::nullopt;
  }
  return it->second.user;
}

void UserCache::remember(std::uint64_t seen, const meta::UserRecord& user,
                         Clock::time_point now) const {
  if (seen != generation()) return;
  ThreadEntries& entries = entries_for(instance_, seen);
  if (entries.by_key.size() >= capacity_) entries.by_key.clear();
  entries.by_key.insert_or_assign(key_of(user.tenant_id, user.id), Entry{user, now});
}

}  // namespace coffer::service
