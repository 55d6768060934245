#include "storage/instrumented_object_store.h"

#include <chrono>

namespace coffer::storage {
namespace {

using SteadyClock = std::chrono::steady_clock;

template <typename T>
T observed(StorageCallMetrics& metrics, SteadyClock::time_point started, T result) {
  const bool ok =
      result.has_value() || !InstrumentedObjectStore::is_store_failure(result.error().code);
  metrics.record(ok, SteadyClock::now() - started);
  return result;
}

// Records one get_stream observation when the stream ends or first fails.
class InstrumentedReader final : public ObjectReader {
 public:
  InstrumentedReader(std::unique_ptr<ObjectReader> inner, StorageCallMetrics& metrics)
      : inner_(std::move(inner)), metrics_(metrics), started_(SteadyClock::now()) {}

  std::uint64_t size() const override { return inner_->size(); }

  Result<std::size_t> read(std::span<char> out) override {
    auto n = inner_->read(out);
    if (!recorded_ && (!n || *n == 0)) {
      recorded_ = true;
      const bool ok = n.has_value() || !InstrumentedObjectStore::is_store_failure(n.error().code);
      metrics_.record(ok, SteadyClock::now() - started_);
    }
    return n;
  }

 private:
  std::unique_ptr<ObjectReader> inner_;
  StorageCallMetrics& metrics_;
  SteadyClock::time_point started_;
  bool recorded_ = false;
};

}  // namespace

InstrumentedObjectStore::InstrumentedObjectStore(ObjectStore& inner, Metrics& metrics)
    : inner_(inner),
      put_(metrics.storage_call("put")),
      get_(metrics.storage_call("get")),
      get_stream_(metrics.storage_call("get_stream")),
      head_(metrics.storage_call("head")),
      remove_(metrics.storage_call("remove")),
      remove_many_(metrics.storage_call("remove_many")),
      list_(metrics.storage_call("list")),
      presign_(metrics.storage_call("presign")),
      begin_upload_(metrics.storage_call("begin_upload")),
      presign_upload_part_(metrics.storage_call("presign_upload_part")),
      list_upload_parts_(metrics.storage_call("list_upload_parts")),
      complete_upload_(metrics.storage_call("complete_upload")),
      abort_upload_(metrics.storage_call("abort_upload")),
      check_(metrics.storage_call("check")) {}

Result<PutResult> InstrumentedObjectStore::put(const std::string& key, ByteSource& body,
                                               const PutOptions& options) {
  const auto started = SteadyClock::now();
  return observed(put_, started, inner_.put(key, body, options));
}

Result<std::unique_ptr<ObjectReader>> InstrumentedObjectStore::get(const std::string& key,
                                                                   std::optional<ByteRange> range) {
  const auto started = SteadyClock::now();
  auto reader = observed(get_, started, inner_.get(key, range));
  if (!reader) return reader;
  return std::unique_ptr<ObjectReader>(
      std::make_unique<InstrumentedReader>(std::move(*reader), get_stream_));
}

Result<ObjectInfo> InstrumentedObjectStore::head(const std::string& key) {
  const auto started = SteadyClock::now();
  return observed(head_, started, inner_.head(key));
}

Result<void> InstrumentedObjectStore::remove(const std::string& key) {
  const auto started = SteadyClock::now();
  return observed(remove_, started, inner_.remove(key));
}

Result<void> InstrumentedObjectStore::remove_many(const std::vector<std::string>& keys) {
  const auto started = SteadyClock::now();
  return observed(remove_many_, started, inner_.remove_many(keys));
}

Result<ObjectList> InstrumentedObjectStore::list(const std::string& prefix,
                                                 const std::string& token, int max_keys) {
  const auto started = SteadyClock::now();
  return observed(list_, started, inner_.list(prefix, token, max_keys));
}

Result<PresignedUrl> InstrumentedObjectStore::presign(const PresignRequest& request) {
  const auto started = SteadyClock::now();
  return observed(presign_, started, inner_.presign(request));
}

Result<std::string> InstrumentedObjectStore::begin_upload(const std::string& key,
                                                          const std::string& content_type,
                                                          std::uint64_t size,
                                                          std::uint64_t part_size) {
  const auto started = SteadyClock::now();
  return observed(begin_upload_, started, inner_.begin_upload(key, content_type, size, part_size));
}

Result<PresignedUrl> InstrumentedObjectStore::presign_upload_part(
    const PresignPartRequest& request) {
  const auto started = SteadyClock::now();
  return observed(presign_upload_part_, started, inner_.presign_upload_part(request));
}

Result<std::vector<UploadedPart>> InstrumentedObjectStore::list_upload_parts(
    const std::string& key, const std::string& upload_id) {
  const auto started = SteadyClock::now();
  return observed(list_upload_parts_, started, inner_.list_upload_parts(key, upload_id));
}

Result<void> InstrumentedObjectStore::complete_upload(const std::string& key,
                                                      const std::string& upload_id,
                                                      const std::vector<CompletedPartRef>& parts) {
  const auto started = SteadyClock::now();
  return observed(complete_upload_, started, inner_.complete_upload(key, upload_id, parts));
}

Result<void> InstrumentedObjectStore::abort_upload(const std::string& key,
                                                   const std::string& upload_id) {
  const auto started = SteadyClock::now();
  return observed(abort_upload_, started, inner_.abort_upload(key, upload_id));
}

Result<void> InstrumentedObjectStore::check() {
  const auto started = SteadyClock::now();
  return observed(check_, started, inner_.check());
}

}  // namespace coffer::storage
