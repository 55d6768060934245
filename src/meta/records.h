// The rows of Coffer's metadata, as plain values. Ids are opaque strings (core/ids.h); times are
// whole seconds; object keys are built by the service layer from the tenant id and fresh ids.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "access/decide.h"
#include "core/clock.h"

namespace coffer::meta {

using access::FileRole;
using access::TenantRole;

struct TenantRecord {
  std::string id;
  std::string slug;
  std::string name;
  std::optional<std::int64_t> quota_bytes;  // nullopt: unlimited
  std::optional<std::int64_t> quota_files;
  std::int64_t used_bytes = 0;  // always the sum of the tenant's file sizes
  std::int64_t used_files = 0;  // always the number of the tenant's files
  SystemTime created_at;
};

struct UserRecord {
  std::string id;
  std::string tenant_id;
  std::string username;
  TenantRole role = TenantRole::kViewer;
  std::string password_hash;  // argon2id string; empty: the user cannot log in with a password
  bool disabled = false;
  SystemTime created_at;
};

struct FileRecord {
  std::string id;
  std::string tenant_id;
  std::string path;  // a valid FilePath
  std::int64_t size = 0;
  std::string content_type;
  std::string sha256;      // lower-case hex
  std::string object_key;  // where the bytes are; never reused
  std::int64_t version = 1;
  std::string owner_id;
  SystemTime created_at;
  SystemTime updated_at;
};

// A file together with the grants that concern one user: what access::decide needs.
struct FileView {
  FileRecord file;
  FileRole user_grant = FileRole::kNone;
  FileRole tenant_grant = FileRole::kNone;
};

enum class Principal { kUser, kTenant };

struct GrantRecord {
  std::string file_id;
  std::string tenant_id;
  Principal principal = Principal::kUser;
  std::string user_id;  // empty for Principal::kTenant
  FileRole role = FileRole::kViewer;
  std::string granted_by;
  SystemTime granted_at;
};

enum class IntentKind { kStream, kPresigned };

// An upload in progress: its object key is referenced, so the collector leaves it alone until
// expires_at; after that the object (and any multipart upload) is removed.
struct UploadIntent {
  std::string id;
  std::string tenant_id;
  std::string object_key;
  IntentKind kind = IntentKind::kStream;
  SystemTime created_at;
  SystemTime expires_at;
  // Presigned uploads only: what the client declared when the URL was issued.
  std::string user_id;
  std::string path;
  std::int64_t size = 0;
  std::string content_type;
  std::string sha256;  // empty when not declared
  bool overwrite = false;
  std::string multipart_id;  // the object store's multipart upload id, if any
  std::int64_t part_size = 0;
};

// An object to delete once not_before has passed (reads in flight finish first).
struct Deletion {
  std::int64_t id = 0;
  std::string object_key;
  SystemTime not_before;
};

// The ETag of a file's content: changes with every new version.
std::string file_etag(const FileRecord& f);

}  // namespace coffer::meta
