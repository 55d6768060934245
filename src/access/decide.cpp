#include "access/decide.h"

#include <algorithm>

namespace coffer::access {

std::string_view to_string(TenantRole r) {
  switch (r) {
    case TenantRole::kViewer: return "viewer";
    case TenantRole::kEditor: return "editor";
    case TenantRole::kAdmin: return "admin";
  }
  return "viewer";
}

std::string_view to_string(FileRole r) {
  switch (r) {
    case FileRole::kNone: return "none";
    case FileRole::kViewer: return "viewer";
    case FileRole::kEditor: return "editor";
    case FileRole::kAdmin: return "admin";
  }
  return "none";
}

std::optional<TenantRole> parse_tenant_role(std::string_view s) {
  if (s == "viewer") return TenantRole::kViewer;
  if (s == "editor") return TenantRole::kEditor;
  if (s == "admin") return TenantRole::kAdmin;
  return std::nullopt;
}

std::optional<FileRole> parse_file_role(std::string_view s) {
  if (s == "viewer") return FileRole::kViewer;
  if (s == "editor") return FileRole::kEditor;
  if (s == "admin") return FileRole::kAdmin;
  return std::nullopt;
}

FileRole effective_role(const Principal& who, const FileFacts& file) {
  if (who.tenant_id.empty() || who.tenant_id != file.tenant_id) return FileRole::kNone;
  if (who.role == TenantRole::kAdmin) return FileRole::kAdmin;
  FileRole role = std::max(file.user_grant, file.tenant_grant);
  if (!who.user_id.empty() && who.user_id == file.owner_id) role = FileRole::kAdmin;
  if (who.role == TenantRole::kViewer) role = std::min(role, FileRole::kViewer);
  return role;
}

FileRole required_role(FileAction action) {
  switch (action) {
    case FileAction::kRead:
    case FileAction::kReadAcl: return FileRole::kViewer;
    case FileAction::kOverwrite:
    case FileAction::kRename: return FileRole::kEditor;
    case FileAction::kDelete:
    case FileAction::kGrant: return FileRole::kAdmin;
  }
  return FileRole::kAdmin;
}

Decision decide(const Principal& who, FileAction action, const FileFacts& file) {
  FileRole role = effective_role(who, file);
  if (role == FileRole::kNone) return Decision::kNotFound;
  return role >= required_role(action) ? Decision::kAllow : Decision::kForbidden;
}

Decision decide_grant(const Principal& who, const FileFacts& file, FileRole role) {
  Decision d = decide(who, FileAction::kGrant, file);
  if (d != Decision::kAllow) return d;
  return role <= effective_role(who, file) ? Decision::kAllow : Decision::kForbidden;
}

Decision decide(const Principal& who, TenantAction action) {
  if (who.tenant_id.empty()) return Decision::kForbidden;
  switch (action) {
    case TenantAction::kCreateFile:
      return who.role == TenantRole::kViewer ? Decision::kForbidden : Decision::kAllow;
    case TenantAction::kListUsers:
    case TenantAction::kReadUser: return Decision::kAllow;
    case TenantAction::kManageUsers:
    case TenantAction::kReadOwnTenant:
      return who.role == TenantRole::kAdmin ? Decision::kAllow : Decision::kForbidden;
  }
  return Decision::kForbidden;
}

}  // namespace coffer::access
