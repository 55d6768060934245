#include "service/collector.h"

#include <algorithm>

#include "core/log.h"

namespace coffer::service {
namespace {

constexpr int kBatch = 100;
// Long enough for one batch of removals; another node takes the rows over if this one dies.
constexpr std::chrono::minutes kLease{5};

}  // namespace

Result<CollectStats> Collector::collect_due() {
  CollectStats stats;
  for (;;) {
    const SystemTime now = clock_.now();
    COFFER_TRY(auto intents, db_.claim_expired_intents(now, now + kLease, kBatch));
    for (const auto& intent : intents) {
      // A direct upload first: aborting it keeps its URLs from writing anything after this.
      if (!intent.multipart_id.empty()) {
        COFFER_TRY_VOID(store_.abort_upload(intent.object_key, intent.multipart_id));
      }
      // Then the object, and whatever a writer that died left of it (the parts of a streamed
      // S3 multipart upload it never finished, which no intent field names).
      COFFER_TRY_VOID(store_.remove_abandoned(intent.object_key));
      auto dropped = db_.delete_intent(intent.id);
      if (!dropped && dropped.error().code != ErrorCode::kNotFound) return dropped.error();
      ++stats.expired_uploads;
    }
    COFFER_TRY(auto deletions, db_.claim_deletions(now, now + kLease, kBatch));
    if (!deletions.empty()) {
      std::vector<std::string> keys;
      std::vector<std::int64_t> ids;
      for (const auto& d : deletions) {
        keys.push_back(d.object_key);
        ids.push_back(d.id);
      }
      COFFER_TRY_VOID(store_.remove_many(keys));
      COFFER_TRY_VOID(db_.complete_deletions(ids));
      stats.deleted_objects += static_cast<int>(deletions.size());
    }
    if (intents.size() < static_cast<std::size_t>(kBatch) &&
        deletions.size() < static_cast<std::size_t>(kBatch)) {
      break;
    }
  }
  if (options_.sweep_incomplete_uploads) {
    COFFER_TRY(stats.stale_uploads,
               options_.sweep_incomplete_uploads(clock_.now() - options_.upload_ttl));
  }
  return stats;
}

Result<CollectStats> Collector::sweep_orphans() {
  CollectStats stats;
  std::string token;
  for (;;) {
    COFFER_TRY(storage::ObjectList page, store_.list("", token, 1000));
    std::vector<std::string> keys;
    for (auto& o : page.objects) keys.push_back(std::move(o.key));
    if (!keys.empty()) {
      // Listed first, looked up second: an object seen in the listing already had its intent
      // (intents are written before any byte), so a live upload is never taken for an orphan.
      COFFER_TRY(auto referenced, db_.referenced_keys(keys));
      std::sort(referenced.begin(), referenced.end());
      std::vector<std::string> orphans;
      for (auto& k : keys) {
        if (!std::binary_search(referenced.begin(), referenced.end(), k)) orphans.push_back(k);
      }
      if (!orphans.empty()) {
        COFFER_TRY_VOID(store_.remove_many(orphans));
        stats.orphans += static_cast<int>(orphans.size());
      }
    }
    if (page.next_token.empty()) return stats;
    token = page.next_token;
  }
}

BackgroundCollector::BackgroundCollector(Collector& collector, std::chrono::milliseconds interval)
    : collector_(collector), interval_(interval), thread_([this] { run(); }) {}

BackgroundCollector::~BackgroundCollector() { stop(); }

void BackgroundCollector::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void BackgroundCollector::run() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    lock.unlock();
    auto stats = collector_.collect_due();
    if (!stats) {
      log::app().warn("collector: {} {}", stats.error().message, stats.error().detail);
    } else if (stats->expired_uploads + stats->deleted_objects + stats->stale_uploads > 0) {
      log::app().info(
          "collector: removed {} objects of abandoned uploads, {} deleted objects, {} incomplete "
          "uploads",
          stats->expired_uploads, stats->deleted_objects, stats->stale_uploads);
    }
    lock.lock();
    cv_.wait_for(lock, interval_, [this] { return stopping_; });
  }
}

}  // namespace coffer::service
