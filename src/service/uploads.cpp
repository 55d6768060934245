#include "service/uploads.h"

#include <memory>

#include "core/crypto.h"
#include "core/encoding.h"
#include "core/ids.h"
#include "core/log.h"
#include "service/permissions.h"
#include "service/upload_plan.h"

namespace coffer::service {
namespace {

constexpr std::size_t kMaxEtagBytes = 1024;
constexpr std::size_t kReadBackBytes = 1 << 20;

Error upload_not_found() { return Error::NotFound("upload not found"); }

// An existing file at the path may be overwritten only by who may overwrite it; one the caller
// cannot see is, as for POST /api/v1/files, just a taken path.
Result<void> check_overwrite(meta::MetadataStore& db, const Caller& caller, const FilePath& path,
                             bool overwrite) {
  auto existing = db.find_file_by_path(caller.tenant_id(), path.str(), caller.user_id());
  if (!existing) {
    if (existing.error().code == ErrorCode::kNotFound) return Ok();
    return existing.error();
  }
  if (!overwrite) return Error::Conflict("path already exists");
  switch (access::decide(caller.principal, access::FileAction::kOverwrite, facts_of(*existing))) {
    case access::Decision::kAllow: return Ok();
    case access::Decision::kForbidden:
      return Error::Forbidden("your role on this file does not allow this");
    case access::Decision::kNotFound: return Error::Conflict("path already exists");
  }
  return Error::Conflict("path already exists");
}

// Everything the upload route checks before a byte is stored, for a path and size.
Result<void> precheck(meta::MetadataStore& db, Files& files, const Caller& caller,
                      const FilePath& path, bool overwrite, std::uint64_t size) {
  COFFER_TRY_VOID(files.precheck_upload(caller, path, overwrite, size));
  return check_overwrite(db, caller, path, overwrite);
}

Result<std::vector<storage::CompletedPartRef>> check_parts(
    const std::vector<storage::CompletedPartRef>& parts, const UploadPlan& plan) {
  if (parts.empty()) return Error::BadRequest("parts must list at least one part");
  if (parts.size() > plan.part_count) return Error::BadRequest("parts lists more parts than the upload has");
  int previous = 0;
  for (const auto& p : parts) {
    if (p.number < 1 || static_cast<std::uint64_t>(p.number) > plan.part_count) {
      return Error::BadRequest("part number " + std::to_string(p.number) +
                               " is not a part of this upload");
    }
    if (p.number <= previous) return Error::BadRequest("parts must be in ascending order, once each");
    if (p.etag.empty() || p.etag.size() > kMaxEtagBytes) {
      return Error::BadRequest("each part needs the ETag its PUT answered");
    }
    previous = p.number;
  }
  return parts;
}

}  // namespace

Result<IssuedUpload> Uploads::create(const Caller& caller, const NewUpload& request) {
  COFFER_TRY_VOID(require_user(caller));
  const std::chrono::seconds expires_in = request.expires_in.value_or(config_.presign_expiry);
  if (expires_in < kMinPresignExpiry || expires_in > kMaxPresignExpiry) {
    return Error::BadRequest("expires_in must be between 1 second and 7 days");
  }
  if (!request.sha256.empty() && !is_sha256_hex(request.sha256)) {
    return Error::BadRequest("sha256 must be 64 hex digits");
  }
  COFFER_TRY_VOID(precheck(db_, files_, caller, request.path, request.overwrite, request.size));
  COFFER_TRY(UploadPlan plan, plan_upload(request.size, config_.part_size));

  const SystemTime now = clock_.now();
  meta::UploadIntent intent = new_upload_intent(caller, meta::IntentKind::kPresigned, now);
  intent.path = request.path.str();
  intent.size = static_cast<std::int64_t>(request.size);
  intent.content_type = request.content_type.empty() ? "application/octet-stream"
                                                     : request.content_type;
  intent.sha256 = request.sha256;
  intent.overwrite = request.overwrite;
  intent.part_size = static_cast<std::int64_t>(plan.part_size);
  // The store's upload first: it holds no object until completed, so nothing is unreferenced if
  // the intent below is never written (an empty upload left by a crash holds no bytes either).
  COFFER_TRY(intent.multipart_id,
             store_.begin_upload(intent.object_key, intent.content_type, request.size,
                                 plan.part_size));

  IssuedUpload issued;
  issued.upload_id = intent.id;
  issued.single = plan.single;
  auto signed_ok = [&]() -> Result<void> {
    for (std::uint64_t n = 1; n <= plan.part_count; ++n) {
      storage::PresignPartRequest part;
      part.key = intent.object_key;
      part.upload_id = intent.multipart_id;
      part.part_number = static_cast<int>(n);
      part.size = plan.part_length(request.size, n);
      // A whole-file checksum is a part's only when the file is one part.
      if (plan.part_count == 1) part.sha256 = request.sha256;
      part.expires_in = expires_in;
      part.now = now;
      COFFER_TRY(storage::PresignedUrl url, store_.presign_upload_part(part));
      issued.expires_at = url.expires_at;
      if (plan.single) {
        issued.url = std::move(url.url);
        issued.headers = std::move(url.headers);
      } else {
        if (n == 1) {
          issued.headers = url.headers;
          issued.headers.erase("Content-Length");
        }
        issued.parts.push_back({part.part_number, std::move(url.url), part.size});
      }
    }
    return Ok();
  }();
  if (signed_ok) {
    intent.expires_at = issued.expires_at + config_.upload_ttl;
    signed_ok = db_.create_intent(intent);
  }
  if (!signed_ok) {
    (void)store_.abort_upload(intent.object_key, intent.multipart_id);
    return signed_ok.error();
  }
  return issued;
}

Result<meta::UploadIntent> Uploads::load(const Caller& caller, const std::string& upload_id) {
  COFFER_TRY_VOID(require_user(caller));
  if (!looks_like_id(upload_id)) return upload_not_found();
  auto intent = db_.get_intent(caller.tenant_id(), upload_id);
  if (!intent) {
    if (intent.error().code == ErrorCode::kNotFound) return upload_not_found();
    return intent.error();
  }
  // Streamed uploads' intents are no one's to complete; an expired upload belongs to the
  // collector.
  if (intent->kind != meta::IntentKind::kPresigned || intent->user_id != caller.user_id() ||
      clock_.now() >= intent->expires_at) {
    return upload_not_found();
  }
  return intent;
}

Result<std::string> Uploads::stored_sha256(const meta::UploadIntent& intent, bool enforced) {
  if (enforced) return intent.sha256;
  COFFER_TRY(std::unique_ptr<storage::ObjectReader> reader,
             store_.get(intent.object_key, std::nullopt));
  auto buffer = std::make_unique_for_overwrite<char[]>(kReadBackBytes);
  Sha256 hash;
  for (;;) {
    COFFER_TRY(std::size_t n, reader->read(std::span<char>(buffer.get(), kReadBackBytes)));
    if (n == 0) break;
    hash.update(std::string_view(buffer.get(), n));
  }
  return hex_encode(hash.finish());
}

void Uploads::drop(const meta::UploadIntent& intent) {
  // Object first, intent second: while the intent names the key, the collector removes the object
  // if this fails half-way. Only called when no commit of this object can succeed.
  if (auto removed = store_.remove(intent.object_key); !removed) {
    log::app().warn("upload {}: object left for the collector: {}", intent.id,
                    removed.error().detail);
    return;
  }
  (void)db_.delete_intent(intent.id);
}

Result<VisibleFile> Uploads::complete(
    const Caller& caller, const std::string& upload_id,
    const std::optional<std::vector<storage::CompletedPartRef>>& listed) {
  COFFER_TRY(meta::UploadIntent intent, load(caller, upload_id));
  COFFER_TRY(FilePath path, FilePath::parse(intent.path));
  const auto size = static_cast<std::uint64_t>(intent.size);
  COFFER_TRY_VOID(precheck(db_, files_, caller, path, intent.overwrite, size));

  const UploadPlan plan = recorded_plan(size, static_cast<std::uint64_t>(intent.part_size));
  std::vector<storage::CompletedPartRef> parts;
  if (listed) {
    COFFER_TRY(parts, check_parts(*listed, plan));
  } else if (plan.part_count == 1) {
    auto stored = store_.list_upload_parts(intent.object_key, intent.multipart_id);
    if (!stored && stored.error().code != ErrorCode::kNotFound) return stored.error();
    // The store's upload may be gone because an earlier complete of it got that far: look below.
    if (stored) {
      if (stored->empty() || stored->front().number != 1) {
        return Error::BadRequest("nothing has been uploaded yet");
      }
      parts.push_back({1, stored->front().etag});
    }
  } else {
    return Error::BadRequest("parts is required: the number and ETag of every part uploaded");
  }

  // Closes the store's upload: from here on its URLs can change nothing.
  auto completed = parts.empty() ? Result<void>(Error::NotFound("upload not found"))
                                 : store_.complete_upload(intent.object_key, intent.multipart_id,
                                                          parts);
  if (!completed) {
    if (completed.error().code != ErrorCode::kNotFound) return completed.error();
    // Already closed: by an earlier complete of this upload whose answer was lost or whose commit
    // has not happened yet (then its object is at the key), or by an abort (then it is not).
    auto head = store_.head(intent.object_key);
    if (!head) {
      if (head.error().code == ErrorCode::kNotFound) return upload_not_found();
      return head.error();
    }
  }

  COFFER_TRY(storage::ObjectInfo info, store_.head(intent.object_key));
  if (info.size != size) {
    drop(intent);
    return Error::BadRequest("the uploaded object has " + std::to_string(info.size) +
                             " bytes, not the declared " + std::to_string(size));
  }
  // A declared checksum of a single part was bound into its URL: the store refused other bytes.
  const bool enforced = !intent.sha256.empty() && plan.part_count == 1;
  COFFER_TRY(std::string sha256, stored_sha256(intent, enforced));
  if (!intent.sha256.empty() && sha256 != intent.sha256) {
    drop(intent);
    return Error::BadRequest("checksum mismatch: the uploaded bytes do not have the declared sha256");
  }

  StagedObject staged{intent.id, intent.object_key, size, sha256};
  CommitOptions commit{path, intent.content_type, intent.overwrite, std::nullopt};
  auto file = files_.commit_transaction(caller, staged, commit);
  if (!file) {
    switch (file.error().code) {
      case ErrorCode::kNotFound:
        // The intent is gone: a concurrent complete made the file, or an abort or the collector
        // owns the object now. Either way it is not ours to remove.
        return upload_not_found();
      case ErrorCode::kStorageUnavailable:
      case ErrorCode::kInternal:
        // The transaction's outcome is unknown: the intent, if it is still there, lets the
        // collector remove the object after it expires.
        return file.error();
      default:
        drop(intent);
        return file.error();
    }
  }
  return file;
}

Result<void> Uploads::abort(const Caller& caller, const std::string& upload_id) {
  COFFER_TRY(meta::UploadIntent intent, load(caller, upload_id));
  // The store's upload first: no part can be written after this. A complete racing this one has
  // then either committed (and the intent is gone below) or will find its upload gone.
  COFFER_TRY_VOID(store_.abort_upload(intent.object_key, intent.multipart_id));
  auto dropped = db_.delete_intent(intent.id);
  if (!dropped) {
    if (dropped.error().code == ErrorCode::kNotFound) return upload_not_found();
    return dropped.error();
  }
  // Won: a complete that got as far as the store's complete cannot commit any more.
  if (auto removed = store_.remove(intent.object_key); !removed) {
    log::app().warn("upload {}: aborted, object left for coffer gc: {}", intent.id,
                    removed.error().detail);
  }
  return Ok();
}

}  // namespace coffer::service
