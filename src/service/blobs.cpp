#include "service/blobs.h"

#include "core/byte_range.h"

namespace coffer::service {

Result<BlobDownload> Blobs::get(const std::string& key,
                                const std::map<std::string, std::string>& query,
                                const std::optional<std::string>& range) {
  if (!signer_) return Error::NotFound("no such route");
  BlobDownload d;
  COFFER_TRY(d.grant, signer_->verify("GET", key, query, clock_.now()));
  COFFER_TRY(storage::ObjectInfo info, store_.head(key));
  d.size = info.size;
  std::optional<storage::ByteRange> byte_range;
  if (range) {
    RangeRequest r = parse_range(*range, info.size);
    if (r.kind == RangeRequest::Kind::kUnsatisfiable) {
      d.unsatisfiable = true;
      return d;
    }
    if (r.kind == RangeRequest::Kind::kPartial) {
      d.partial = true;
      d.first = r.first;
      d.last = r.last;
      byte_range = storage::ByteRange{r.first, r.last};
    }
  }
  COFFER_TRY(d.reader, store_.get(key, byte_range));
  return d;
}

}  // namespace coffer::service
