#include "service/files.h"

#include "core/byte_range.h"
#include "core/content_disposition.h"
#include "core/http_conditions.h"
#include "core/ids.h"
#include "core/log.h"
#include "service/directory.h"
#include "service/permissions.h"

namespace coffer::service {
namespace {

Error file_not_found() { return Error::NotFound("file not found"); }

// The check run inside a write transaction: the access decision on the file as it is then,
// and the caller's If-Match against its ETag then. `role_out` receives the caller's role.
meta::FileCheck file_check(const access::Principal& who, access::FileAction action,
                           const std::optional<std::string>& if_match, bool hide_as_conflict,
                           access::FileRole* role_out) {
  return [who, action, if_match, hide_as_conflict,
          role_out](const meta::FileView& current) -> Result<void> {
    const access::FileFacts facts = facts_of(current);
    switch (access::decide(who, action, facts)) {
      case access::Decision::kAllow:
        break;
      case access::Decision::kForbidden:
        return Error::Forbidden("your role on this file does not allow this");
      case access::Decision::kNotFound:
        // A path is taken whether or not the caller can see the file there.
        if (hide_as_conflict) return Error::Conflict("path already exists");
        return file_not_found();
    }
    if (if_match && !if_match_matches(*if_match, meta::file_etag(current.file))) {
      return Error::PreconditionFailed();
    }
    if (role_out) *role_out = access::effective_role(who, facts);
    return Ok();
  };
}

// '/' + 1: every path under folder "a/b/" sorts below "a/b0".
std::string after_folder(const std::string& folder) {
  std::string s = folder;
  s.back() = static_cast<char>('/' + 1);
  return s;
}

std::optional<std::string> if_match_for_store(const std::optional<std::string>& header) {
  // The exact comparison happens in the check (it understands lists and "*"); the store only
  // makes sure a file exists, which If-Match requires.
  if (!header) return std::nullopt;
  return std::string("*");
}

}  // namespace

meta::UploadIntent new_upload_intent(const Caller& caller, meta::IntentKind kind, SystemTime now) {
  meta::UploadIntent intent;
  intent.id = new_id();
  intent.tenant_id = caller.tenant_id();
  intent.object_key = tenant_prefix(caller.tenant_id()) + new_id();
  intent.kind = kind;
  intent.created_at = now;
  intent.user_id = caller.user_id();
  return intent;
}

std::string prefix_upper_bound(const std::string& prefix) {
  std::string s = prefix;
  while (!s.empty()) {
    auto c = static_cast<unsigned char>(s.back());
    if (c < 0xFF) {
      s.back() = static_cast<char>(c + 1);
      return s;
    }
    s.pop_back();
  }
  return {};
}

Result<meta::FileView> Files::load(const Caller& caller, const std::string& id) {
  COFFER_TRY_VOID(require_user(caller));
  COFFER_TRY_VOID(require_id_shape(id, "file"));
  auto view = db_.get_file(caller.tenant_id(), id, caller.user_id());
  if (!view && view.error().code == ErrorCode::kNotFound) return file_not_found();
  return view;
}

Result<void> Files::precheck_upload(const Caller& caller, const std::optional<FilePath>& path,
                                    bool overwrite, std::optional<std::uint64_t> size) {
  COFFER_TRY_VOID(require_user(caller));
  COFFER_TRY_VOID(
      allow(access::decide(caller.principal, access::TenantAction::kCreateFile), "file"));
  if (size && *size > config_.max_upload_bytes) {
    return Error::PayloadTooLarge("the body is larger than the upload limit");
  }
  bool exists = false;
  if (path) {
    auto existing = db_.find_file_by_path(caller.tenant_id(), path->str(), caller.user_id());
    if (existing) {
      exists = true;
      if (!overwrite) return Error::Conflict("path already exists");
    } else if (existing.error().code != ErrorCode::kNotFound) {
      return existing.error();
    }
  }
  if (size && !exists) {
    COFFER_TRY(meta::TenantRecord tenant, db_.get_tenant(caller.tenant_id()));
    if (tenant.quota_bytes &&
        tenant.used_bytes + static_cast<std::int64_t>(*size) > *tenant.quota_bytes) {
      return Error::QuotaExceeded("the upload would exceed the tenant's byte quota");
    }
    if (tenant.quota_files && !overwrite && tenant.used_files + 1 > *tenant.quota_files) {
      return Error::QuotaExceeded("the upload would exceed the tenant's file quota");
    }
  }
  return Ok();
}

Result<StagedObject> Files::stage(const Caller& caller, ByteSource& body,
                                  const StageOptions& options) {
  COFFER_TRY_VOID(require_user(caller));
  COFFER_TRY_VOID(
      allow(access::decide(caller.principal, access::TenantAction::kCreateFile), "file"));
  const SystemTime now = clock_.now();
  meta::UploadIntent intent = new_upload_intent(caller, meta::IntentKind::kStream, now);
  intent.expires_at = now + config_.upload_ttl;
  // Recorded before the first byte is stored, so the object is never unreferenced.
  COFFER_TRY_VOID(db_.create_intent(intent));

  storage::PutOptions put;
  put.size = options.size;
  put.max_bytes = config_.max_upload_bytes;
  put.expected_sha256 = options.expected_sha256;
  auto stored = store_.put(intent.object_key, body, put);
  StagedObject staged{intent.id, intent.object_key, 0, {}};
  if (!stored) {
    discard(staged);
    return stored.error();
  }
  staged.size = stored->size;
  staged.sha256 = stored->sha256;
  return staged;
}

void Files::discard(const StagedObject& staged) {
  // Object first, then the intent: if either step fails, the intent still names the key and the
  // collector removes it after the intent expires.
  if (auto removed = store_.remove(staged.object_key); !removed) {
    log::app().warn("upload {}: object left for the collector: {}", staged.intent_id,
                    removed.error().detail);
    return;
  }
  (void)db_.delete_intent(staged.intent_id);
}

Result<VisibleFile> Files::commit(const Caller& caller, const StagedObject& staged,
                                  const CommitOptions& options) {
  auto committed = commit_transaction(caller, staged, options);
  if (!committed) {
    discard(staged);
    if (committed.error().code == ErrorCode::kNotFound) {
      return Error::Internal("upload intent " + staged.intent_id + " vanished before commit");
    }
  }
  return committed;
}

Result<VisibleFile> Files::commit_transaction(const Caller& caller, const StagedObject& staged,
                                              const CommitOptions& options) {
  const SystemTime now = clock_.now();
  access::FileRole role = access::FileRole::kAdmin;  // a new file is its owner's
  meta::CommitRequest request;
  request.tenant_id = caller.tenant_id();
  request.intent_id = staged.intent_id;
  request.new_file_id = new_id();
  request.path = options.path.str();
  request.size = static_cast<std::int64_t>(staged.size);
  request.content_type = options.content_type;
  request.sha256 = staged.sha256;
  request.object_key = staged.object_key;
  request.user_id = caller.user_id();
  request.mode = options.overwrite ? meta::CommitMode::kCreateOrReplace : meta::CommitMode::kCreate;
  request.check = file_check(caller.principal, access::FileAction::kOverwrite, options.if_match,
                             /*hide_as_conflict=*/true, &role);
  request.if_match = if_match_for_store(options.if_match);
  request.now = now;
  request.replaced_not_before = now + config_.deletion_grace;
  COFFER_TRY(meta::CommitResult committed, db_.commit_file(request));
  return VisibleFile{std::move(committed.file), role};
}

Result<VisibleFile> Files::get(const Caller& caller, const std::string& id) {
  COFFER_TRY(meta::FileView view, load(caller, id));
  const access::FileFacts facts = facts_of(view);
  COFFER_TRY_VOID(
      allow(access::decide(caller.principal, access::FileAction::kRead, facts), "file"));
  return VisibleFile{std::move(view.file), access::effective_role(caller.principal, facts)};
}

Result<ListPage> Files::list(const Caller& caller, const ListRequest& request) {
  COFFER_TRY_VOID(require_user(caller));
  meta::ListFilter filter;
  filter.tenant_id = caller.tenant_id();
  filter.user_id = caller.user_id();
  filter.all_files = caller.principal.role == access::TenantRole::kAdmin;
  const std::string upper = prefix_upper_bound(request.prefix);

  // Position: just after the cursor's entry, or at the prefix.
  std::string lower = request.prefix;
  bool inclusive = true;
  if (!request.cursor.empty()) {
    const std::string key = request.cursor.substr(1);
    if (request.cursor[0] == 'd') {
      lower = after_folder(key);
    } else {
      lower = key;
      inclusive = false;
    }
    if (lower < request.prefix) {
      lower = request.prefix;
      inclusive = true;
    }
  }

  ListPage page;
  const auto full = [&] {
    return page.items.size() + page.folders.size() >= static_cast<std::size_t>(request.limit);
  };
  std::string last;  // the cursor of the last entry emitted
  bool exhausted = false;
  bool more_follows = false;  // known without a probe: a row after the full page is an entry
  const auto folder_of = [&](const std::string& path) -> std::optional<std::string> {
    if (!request.delimiter) return std::nullopt;
    auto slash = path.find('/', request.prefix.size());
    if (slash == std::string::npos) return std::nullopt;
    return path.substr(0, slash + 1);
  };
  const auto readable = [&](const meta::FileView& view) {
    return access::decide(caller.principal, access::FileAction::kRead, facts_of(view)) ==
           access::Decision::kAllow;
  };
  while (!full()) {
    const int want = request.limit - static_cast<int>(page.items.size() + page.folders.size());
    // One row more than the page needs: when it is there, it tells whether the page has a next.
    COFFER_TRY(auto batch, db_.scan_files(filter, lower, inclusive, upper, want + 1));
    if (batch.empty()) {
      exhausted = true;
      break;
    }
    bool jumped = false;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      auto& view = batch[i];
      // A copy: view.file is moved into the page below, and the cursor is made from the path after.
      const std::string path = view.file.path;
      if (auto folder = folder_of(path)) {
        // A folder with at least one readable file: report it once, skip past its files.
        page.folders.push_back(*folder);
        last = "d" + *folder;
        lower = after_folder(*folder);
        inclusive = true;
        jumped = true;
        break;
      }
      if (readable(view)) {
        const access::FileFacts facts = facts_of(view);
        page.items.push_back(
            VisibleFile{std::move(view.file), access::effective_role(caller.principal, facts)});
      }
      last = "f" + path;
      lower = path;
      inclusive = false;
      if (full()) {
        if (i + 1 < batch.size()) {
          const meta::FileView& next = batch[i + 1];
          more_follows = folder_of(next.file.path).has_value() || readable(next);
        }
        break;
      }
    }
    if (!jumped && static_cast<int>(batch.size()) <= want && !full()) {
      exhausted = true;
      break;
    }
  }
  if (!exhausted && !last.empty()) {
    // A full page: tell the client to go on only if something readable follows.
    if (more_follows) {
      page.next_cursor = last;
    } else {
      COFFER_TRY(auto probe, db_.scan_files(filter, lower, inclusive, upper, 1));
      if (!probe.empty()) page.next_cursor = last;
    }
  }
  return page;
}

Result<VisibleFile> Files::rename(const Caller& caller, const std::string& id, const FilePath& path,
                                  const std::optional<std::string>& if_match) {
  COFFER_TRY_VOID(require_user(caller));
  COFFER_TRY_VOID(require_id_shape(id, "file"));
  access::FileRole role = access::FileRole::kNone;
  auto renamed = db_.rename_file(caller.tenant_id(), id, caller.user_id(), path.str(),
                                 if_match_for_store(if_match),
                                 file_check(caller.principal, access::FileAction::kRename, if_match,
                                            /*hide_as_conflict=*/false, &role),
                                 clock_.now());
  if (!renamed) {
    if (renamed.error().code == ErrorCode::kNotFound) return file_not_found();
    if (renamed.error().code == ErrorCode::kConflict) return Error::Conflict("path already exists");
    return renamed.error();
  }
  return VisibleFile{std::move(*renamed), role};
}

Result<void> Files::remove(const Caller& caller, const std::string& id,
                           const std::optional<std::string>& if_match) {
  COFFER_TRY_VOID(require_user(caller));
  COFFER_TRY_VOID(require_id_shape(id, "file"));
  auto removed =
      db_.delete_file(caller.tenant_id(), id, caller.user_id(), if_match_for_store(if_match),
                      file_check(caller.principal, access::FileAction::kDelete, if_match,
                                 /*hide_as_conflict=*/false, nullptr),
                      clock_.now() + config_.deletion_grace);
  if (!removed) {
    if (removed.error().code == ErrorCode::kNotFound) return file_not_found();
    return removed.error();
  }
  return Ok();
}

Result<Download> Files::download(const Caller& caller, const std::string& id,
                                 const DownloadRequest& request) {
  COFFER_TRY(VisibleFile visible, get(caller, id));
  Download d;
  d.file = std::move(visible.file);
  const std::string etag = meta::file_etag(d.file);
  if (request.if_none_match && if_none_match_matches(*request.if_none_match, etag)) {
    d.kind = Download::Kind::kNotModified;
    return d;
  }
  const auto size = static_cast<std::uint64_t>(d.file.size);
  std::optional<storage::ByteRange> range;
  if (request.range &&
      (!request.if_range || if_range_allows_range(*request.if_range, etag, d.file.updated_at))) {
    RangeRequest r = parse_range(*request.range, size);
    if (r.kind == RangeRequest::Kind::kUnsatisfiable) {
      d.kind = Download::Kind::kUnsatisfiable;
      return d;
    }
    if (r.kind == RangeRequest::Kind::kPartial) {
      d.kind = Download::Kind::kPartial;
      d.first = r.first;
      d.last = r.last;
      range = storage::ByteRange{r.first, r.last};
    }
  }
  auto reader = store_.get(d.file.object_key, range);
  if (!reader) {
    if (reader.error().code == ErrorCode::kNotFound) {
      // Invariant 1 says this cannot happen; if it does, it is ours, not the client's.
      return Error::Internal("object " + d.file.object_key + " of file " + d.file.id +
                             " is missing");
    }
    return reader.error();
  }
  d.reader = std::move(*reader);
  return d;
}

Result<storage::PresignedUrl> Files::download_url(const Caller& caller, const std::string& id,
                                                  std::optional<std::chrono::seconds> expires_in) {
  COFFER_TRY(VisibleFile visible, get(caller, id));
  storage::PresignRequest request;
  request.method = storage::PresignMethod::kGet;
  request.key = visible.file.object_key;
  request.expires_in = expires_in.value_or(config_.presign_expiry);
  request.now = clock_.now();
  request.response_content_disposition =
      attachment_disposition(FilePath::parse(visible.file.path)->filename());
  return store_.presign(request);
}

}  // namespace coffer::service
