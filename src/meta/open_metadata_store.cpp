#include <filesystem>
#include <string_view>
#include <system_error>

#include "meta/metadata_store.h"
#include "meta/postgres/pg_store.h"
#include "meta/sqlite/sqlite_store.h"

namespace coffer::meta {
namespace {

// A configuration mistake: the message names the problem (never the URL, which may hold a
// password), and is repeated in the detail so that whichever the caller prints says it.
Error bad_url(std::string message) { return {ErrorCode::kBadRequest, message, message}; }

Result<std::unique_ptr<MetadataStore>> open_sqlite(const std::string& path, int pool_size) {
  if (path.empty()) return bad_url("database URL: sqlite: needs a file path");
  // Resolved once: connections opened later must not follow a change of working directory.
  std::error_code ec;
  std::filesystem::path file = std::filesystem::absolute(path, ec);
  if (ec) return Error::StorageUnavailable("cannot resolve " + path + ": " + ec.message());
  std::filesystem::create_directories(file.parent_path(), ec);
  if (ec) {
    return Error::StorageUnavailable("cannot create directory " + file.parent_path().string() +
                                     ": " + ec.message());
  }
  sqlite::SqliteOptions options;
  options.pool_size = pool_size;
  COFFER_TRY(auto store, sqlite::SqliteStore::open(file.string(), options));
  return std::unique_ptr<MetadataStore>(std::move(store));
}

}  // namespace

Result<std::unique_ptr<MetadataStore>> open_metadata_store(const std::string& url, int pool_size) {
  std::string_view u = url;
  if (u.starts_with("sqlite://")) {
    std::string_view rest = u.substr(std::string_view("sqlite://").size());
    // Only the empty authority is meaningful: sqlite:///abs/path.db.
    if (!rest.starts_with("/")) {
      return bad_url("database URL: use sqlite:///absolute/path.db or sqlite:relative/path.db");
    }
    return open_sqlite(std::string(rest), pool_size);
  }
  if (u.starts_with("sqlite:")) {
    return open_sqlite(std::string(u.substr(std::string_view("sqlite:").size())), pool_size);
  }
  if (u.starts_with("postgresql://") || u.starts_with("postgres://")) {
    // libpq takes the URL as it is (host, port, user, password, dbname, ?sslmode=... and the
    // other conninfo parameters). No connection is made until the first call.
    postgres::PgOptions options;
    options.pool_size = pool_size;
    COFFER_TRY(auto store, postgres::PgStore::open(url, options));
    return std::unique_ptr<MetadataStore>(std::move(store));
  }
  return bad_url("database URL: unsupported scheme (expected sqlite: or postgresql:)");
}

}  // namespace coffer::meta
