#include "service/blobs.h"

#include <cctype>

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

Result<std::string> Blobs::put_part(const std::string& key,
                                    const std::map<std::string, std::string>& query,
                                    const BlobPutHeaders& headers, ByteSource& body) {
  if (!signer_ || !uploads_) return Error::NotFound("no such route");
  COFFER_TRY(storage::BlobGrant grant, signer_->verify("PUT", key, query, clock_.now()));
  if (grant.upload_id.empty()) return Error::Forbidden("this URL does not allow uploads");
  if (headers.content_length && headers.content_length != grant.content_length) {
    return Error::Forbidden("Content-Length differs from the length the URL was signed for");
  }
  if (!grant.sha256.empty()) {
    std::string sent = headers.checksum.value_or("");
    for (char& c : sent) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (sent != grant.sha256) {
      return Error::Forbidden("send the X-Checksum-Sha256 header the URL was signed for");
    }
  }
  return uploads_->write_part(grant, body);
}

}  // namespace coffer::service
