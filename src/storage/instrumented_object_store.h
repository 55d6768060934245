// InstrumentedObjectStore: an ObjectStore decorator that records the latency and outcome of every
// call into Metrics (API.md "Service": /metrics shows storage call latency and errors), as the
// series coffer_storage_calls_total{op}, coffer_storage_errors_total{op} and
// coffer_storage_call_duration_seconds{op}.
//
// ops: put, get, head, remove, remove_many, list, presign, check, the direct-upload calls
// (begin_upload, presign_upload_part, list_upload_parts, complete_upload, abort_upload), and get_stream (one observation
// per reader returned by get: from get's return to the end of its bytes or its first error; a
// reader dropped before either records nothing). get measures the time to the object's first
// byte; put covers the whole transfer, since the body streams through it.
//
// A call counts as an error when the store failed: kStorageUnavailable or kInternal. Answers about
// the request (kNotFound, kRangeNotSatisfiable, a put refused for its body: kBadRequest,
// kPayloadTooLarge, a source's own error) are calls that worked.
//
// Every call is forwarded unchanged to the inner store, results and errors included; the decorator
// adds no behaviour of its own and is as thread-safe as the inner store.
#pragma once

#include <memory>

#include "core/metrics.h"
#include "storage/object_store.h"

namespace coffer::storage {

class InstrumentedObjectStore final : public ObjectStore {
 public:
  // Registers the series of every op in `metrics` (which must outlive this). `inner` must outlive
  // this too.
  InstrumentedObjectStore(ObjectStore& inner, Metrics& metrics);

  Result<PutResult> put(const std::string& key, ByteSource& body,
                        const PutOptions& options) override;
  Result<std::unique_ptr<ObjectReader>> get(const std::string& key,
                                            std::optional<ByteRange> range) override;
  Result<ObjectInfo> head(const std::string& key) override;
  Result<void> remove(const std::string& key) override;
  Result<void> remove_many(const std::vector<std::string>& keys) override;
  Result<ObjectList> list(const std::string& prefix, const std::string& token,
                          int max_keys) override;
  Result<PresignedUrl> presign(const PresignRequest& request) override;
  Result<std::string> begin_upload(const std::string& key, const std::string& content_type,
                                   std::uint64_t size, std::uint64_t part_size) override;
  Result<PresignedUrl> presign_upload_part(const PresignPartRequest& request) override;
  Result<std::vector<UploadedPart>> list_upload_parts(const std::string& key,
                                                      const std::string& upload_id) override;
  Result<void> complete_upload(const std::string& key, const std::string& upload_id,
                               const std::vector<CompletedPartRef>& parts) override;
  Result<void> abort_upload(const std::string& key, const std::string& upload_id) override;
  Result<void> check() override;
  std::string_view kind() const override { return inner_.kind(); }

  ObjectStore& inner() { return inner_; }

  // Whether a call that ended with `code` counts as an error of the store.
  static bool is_store_failure(ErrorCode code) {
    return code == ErrorCode::kStorageUnavailable || code == ErrorCode::kInternal;
  }

 private:
  ObjectStore& inner_;
  StorageCallMetrics& put_;
  StorageCallMetrics& get_;
  StorageCallMetrics& get_stream_;
  StorageCallMetrics& head_;
  StorageCallMetrics& remove_;
  StorageCallMetrics& remove_many_;
  StorageCallMetrics& list_;
  StorageCallMetrics& presign_;
  StorageCallMetrics& begin_upload_;
  StorageCallMetrics& presign_upload_part_;
  StorageCallMetrics& list_upload_parts_;
  StorageCallMetrics& complete_upload_;
  StorageCallMetrics& abort_upload_;
  StorageCallMetrics& check_;
};

}  // namespace coffer::storage
