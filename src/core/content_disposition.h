// Content-Disposition for downloads (RFC 6266, RFC 8187). Pure.
#pragma once

#include <string>
#include <string_view>

namespace coffer {

// `attachment; filename="<fallback>"; filename*=UTF-8''<percent-encoded>`, safe for any input.
// - fallback: the name with every code point outside a conservative printable-ASCII set (space,
//   letters, digits and !#$&'()+,-.=@[]^_`{}~) replaced by one '_'; in particular '"', '\', '%',
//   '/', ':', ';', '<', '>', '?', '*', '|', control characters and non-ASCII become '_'.
// - filename*: the UTF-8 bytes, every byte outside RFC 8187 attr-char percent-encoded (upper-case
//   hex).
// Bytes that are not valid UTF-8 are replaced by '_' in both forms, so filename* is always valid
// UTF-8. An empty name becomes "download". The result is printable ASCII only: no CR, LF or other
// byte that could end or split the header.
std::string attachment_disposition(std::string_view utf8_filename);

}  // namespace coffer
