// The collector of DESIGN.md's consistency protocol: removes the objects of expired upload
// intents (aborting a direct upload's store upload first, so that its parts go too) and of the
// deletion queue, and (for `coffer gc`) objects that nothing references.
// Idempotent and safe on many nodes: work is claimed with a lease through the database.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "core/clock.h"
#include "meta/metadata_store.h"
#include "storage/object_store.h"

namespace coffer::service {

struct CollectStats {
  int expired_uploads = 0;
  int deleted_objects = 0;  // from the deletion queue
  int orphans = 0;          // unreferenced objects found by sweep_orphans
  int stale_uploads = 0;    // incomplete uploads the store removed (sweep_incomplete_uploads)
};

// Removes the store's leftovers that are not objects (S3: incomplete multipart uploads whose
// abort failed) begun before the given time; returns how many. Must be idempotent and safe on
// many nodes. An S3 store is wired with S3ObjectStore::abort_stale_uploads.
using IncompleteUploadSweeper = std::function<Result<int>(SystemTime older_than)>;

struct CollectorOptions {
  // Empty for stores that leave no such leftovers (the local directory sweeps its own).
  IncompleteUploadSweeper sweep_incomplete_uploads;
  // Leftovers begun longer ago than this are removed: the upload that began them has outlived its
  // intent (FilesConfig::upload_ttl), so it can no longer commit and nothing will complete them.
  std::chrono::seconds upload_ttl{24 * 3600};
};

class Collector {
 public:
  Collector(meta::MetadataStore& db, storage::ObjectStore& store, const Clock& clock,
            CollectorOptions options = {})
      : db_(db), store_(store), clock_(clock), options_(std::move(options)) {}

  // Everything due now: expired intents and due deletions, in batches until none is left; then
  // the store's incomplete uploads older than the upload TTL (when a sweeper is set).
  Result<CollectStats> collect_due();
  // Lists the whole store and removes every object no file, intent or queued deletion names.
  Result<CollectStats> sweep_orphans();

 private:
  meta::MetadataStore& db_;
  storage::ObjectStore& store_;
  const Clock& clock_;
  CollectorOptions options_;
};

// Runs collect_due every `interval` on a thread of its own until stopped.
class BackgroundCollector {
 public:
  BackgroundCollector(Collector& collector, std::chrono::milliseconds interval);
  ~BackgroundCollector();
  void stop();

 private:
  void run();

  Collector& collector_;
  std::chrono::milliseconds interval_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace coffer::service
