#include "storage/object_store.h"

namespace coffer::storage {

Result<void> ObjectStore::remove_many(const std::vector<std::string>& keys) {
  for (const auto& key : keys) {
    COFFER_TRY_VOID(remove(key));
  }
  return Ok();
}

}  // namespace coffer::storage
