#include "meta/records.h"

namespace coffer::meta {

std::string file_etag(const FileRecord& f) {
  return "\"" + f.sha256.substr(0, 32) + "-" + std::to_string(f.version) + "\"";
}

}  // namespace coffer::meta
