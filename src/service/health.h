// Readiness: whether the database and the object store answer.
#pragma once

#include <string>

#include "meta/metadata_store.h"
#include "storage/object_store.h"

namespace coffer::service {

struct Readiness {
  bool database_ok = false;
  bool storage_ok = false;
  std::string database_error;  // for the log and /readyz; never a secret
  std::string storage_error;
  bool ready() const { return database_ok && storage_ok; }
};

class Health {
 public:
  Health(meta::MetadataStore& db, storage::ObjectStore& store) : db_(db), store_(store) {}
  Readiness check() const;

 private:
  meta::MetadataStore& db_;
  storage::ObjectStore& store_;
};

}  // namespace coffer::service
