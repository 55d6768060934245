#include "service/health.h"

namespace coffer::service {

Readiness Health::check() const {
  Readiness r;
  auto db = db_.ping();
  r.database_ok = db.has_value();
  if (!db) r.database_error = db.error().message;
  auto store = store_.check();
  r.storage_ok = store.has_value();
  if (!store) r.storage_error = store.error().message;
  return r;
}

}  // namespace coffer::service
