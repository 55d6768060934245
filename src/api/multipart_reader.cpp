#include "api/multipart_reader.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <utility>

#include "core/utf8.h"

namespace coffer::api {
namespace {

constexpr std::size_t kMaxBoundaryBytes = 70;

bool is_ows(char c) { return c == ' ' || c == '\t'; }

bool is_ctl(char c) {
  auto u = static_cast<unsigned char>(c);
  return u < 0x20 || u == 0x7F;
}

char to_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = to_lower(c);
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return to_lower(x) == to_lower(y);
         });
}

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
  return s;
}

bool is_tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), is_tchar);
}

// RFC 2046 bchars.
bool is_bchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("'()+_,-./:=? ").find(c) != std::string_view::npos;
}

Error malformed(std::string_view what) {
  return Error::BadRequest("malformed multipart body: " + std::string(what));
}

struct Param {
  std::string name;  // Lower-case.
  std::string value;
};

// `*( OWS ";" OWS name "=" value ) OWS`, value a quoted-string or a run of characters other than
// CTL, SP, '"' and ';' (more lenient than a token: clients send unquoted '=' and '/'). In a
// quoted-string only \" and \\ are escapes. Duplicate names are an error. nullopt if malformed.
std::optional<std::vector<Param>> parse_params(std::string_view s) {
  std::vector<Param> params;
  for (;;) {
    s = trim_ows(s);
    if (s.empty()) return params;
    if (s.front() != ';') return std::nullopt;
    s = trim_ows(s.substr(1));
    if (s.empty()) return params;  // A trailing ';' is harmless.
    std::size_t eq = s.find('=');
    if (eq == std::string_view::npos) return std::nullopt;
    std::string_view name = trim_ows(s.substr(0, eq));
    if (!is_token(name)) return std::nullopt;
    s = trim_ows(s.substr(eq + 1));
    Param p{lower(name), {}};
    if (!s.empty() && s.front() == '"') {
      std::size_t i = 1;
      for (;; ++i) {
        if (i >= s.size()) return std::nullopt;
        char c = s[i];
        if (c == '"') break;
        if (c == '\\' && i + 1 < s.size() && (s[i + 1] == '"' || s[i + 1] == '\\')) c = s[++i];
        if (is_ctl(c) && c != '\t') return std::nullopt;
        p.value += c;
      }
      s.remove_prefix(i + 1);
    } else {
      std::size_t i = 0;
      while (i < s.size() && !is_ctl(s[i]) && s[i] != ' ' && s[i] != '"' && s[i] != ';') ++i;
      if (i == 0) return std::nullopt;
      p.value = s.substr(0, i);
      s.remove_prefix(i);
    }
    for (const auto& q : params) {
      if (q.name == p.name) return std::nullopt;
    }
    params.push_back(std::move(p));
  }
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = to_lower(c);
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// RFC 8187 ext-value: charset "'" [ language ] "'" percent-encoded bytes, decoded to UTF-8.
Result<std::string> decode_ext_value(std::string_view v) {
  std::size_t q1 = v.find('\'');
  std::size_t q2 = q1 == std::string_view::npos ? q1 : v.find('\'', q1 + 1);
  if (q2 == std::string_view::npos) return malformed("bad filename*");
  std::string_view charset = v.substr(0, q1);
  bool latin1 = iequals(charset, "ISO-8859-1");
  if (!latin1 && !iequals(charset, "UTF-8")) return malformed("unsupported filename* charset");
  std::string bytes;
  for (std::size_t i = q2 + 1; i < v.size(); ++i) {
    char c = v[i];
    if (c == '%') {
      int hi = i + 2 < v.size() ? hex_value(v[i + 1]) : -1;
      int lo = hi >= 0 ? hex_value(v[i + 2]) : -1;
      if (lo < 0) return malformed("bad percent-encoding in filename*");
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
    }
    if (latin1 && static_cast<unsigned char>(c) >= 0x80) {
      auto u = static_cast<unsigned char>(c);
      bytes += static_cast<char>(0xC0 | (u >> 6));
      bytes += static_cast<char>(0x80 | (u & 0x3F));
    } else {
      bytes += c;
    }
  }
  if (!is_valid_utf8(bytes)) return malformed("filename* is not UTF-8");
  return bytes;
}

Result<PartInfo> parse_part_headers(std::string_view section) {
  // Header lines, unfolded; names keep their case.
  std::vector<std::pair<std::string_view, std::string>> fields;
  while (!section.empty()) {
    std::size_t eol = section.find("\r\n");  // The section ends with CRLF.
    std::string_view line = section.substr(0, eol);
    section.remove_prefix(eol + 2);
    for (char c : line) {
      if (is_ctl(c) && c != '\t') return malformed("control character in part header");
    }
    if (!line.empty() && is_ows(line.front())) {  // obs-fold
      if (fields.empty()) return malformed("part header starts with whitespace");
      fields.back().second += ' ';
      fields.back().second += trim_ows(line);
      continue;
    }
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || !is_token(line.substr(0, colon))) {
      return malformed("bad part header line");
    }
    fields.emplace_back(line.substr(0, colon), std::string(trim_ows(line.substr(colon + 1))));
  }

  std::optional<std::string> disposition;
  PartInfo info;
  bool have_type = false;
  for (auto& [name, value] : fields) {
    if (iequals(name, "Content-Disposition")) {
      if (disposition) return malformed("repeated Content-Disposition");
      disposition = std::move(value);
    } else if (iequals(name, "Content-Type")) {
      if (have_type) return malformed("repeated part Content-Type");
      have_type = true;
      info.content_type = std::move(value);
    } else if (iequals(name, "Content-Transfer-Encoding")) {
      std::string_view v = trim_ows(value);
      if (!iequals(v, "binary") && !iequals(v, "8bit") && !iequals(v, "7bit")) {
        return malformed("unsupported Content-Transfer-Encoding");
      }
    }
  }
  if (!disposition) return malformed("part without Content-Disposition");

  std::string_view d = *disposition;
  std::size_t semi = d.find(';');
  if (!iequals(trim_ows(d.substr(0, semi)), "form-data")) {
    return malformed("part disposition is not form-data");
  }
  auto params = parse_params(semi == std::string_view::npos ? "" : d.substr(semi));
  if (!params) return malformed("bad Content-Disposition");
  bool have_name = false;
  std::optional<std::string> ext_filename;
  for (auto& p : *params) {
    if (p.name == "name") {
      have_name = true;
      info.name = std::move(p.value);
    } else if (p.name == "filename") {
      info.filename = std::move(p.value);
    } else if (p.name == "filename*") {
      COFFER_TRY(ext_filename, decode_ext_value(p.value));
    }
  }
  if (!have_name) return malformed("part without a name");
  if (ext_filename) info.filename = std::move(ext_filename);
  return info;
}

}  // namespace

Result<std::string> multipart_boundary(std::string_view content_type) {
  std::size_t semi = content_type.find(';');
  if (!iequals(trim_ows(content_type.substr(0, semi)), "multipart/form-data")) {
    return Error::BadRequest("expected multipart/form-data");
  }
  auto params = parse_params(semi == std::string_view::npos ? "" : content_type.substr(semi));
  if (!params) return Error::BadRequest("malformed Content-Type parameters");
  for (auto& p : *params) {
    if (p.name != "boundary") continue;
    const std::string& b = p.value;
    if (b.empty() || b.size() > kMaxBoundaryBytes || b.back() == ' ' ||
        !std::all_of(b.begin(), b.end(), is_bchar)) {
      return Error::BadRequest("invalid multipart boundary");
    }
    return std::move(p.value);
  }
  return Error::BadRequest("multipart/form-data without a boundary");
}

MultipartReader::MultipartReader(ByteSource& body, std::string boundary,
                                 std::size_t max_part_header_bytes)
    : body_(body),
      delimiter_("\r\n--" + boundary),
      max_header_bytes_(max_part_header_bytes),
      buf_(std::max(kMultipartChunkBytes, max_part_header_bytes) + delimiter_.size() + 4) {
  // The first delimiter may open the body without a CRLF before it; a virtual CRLF makes every
  // delimiter look alike, and the preamble is then skipped like a part.
  buf_[0] = '\r';
  buf_[1] = '\n';
  end_ = 2;
}

Result<bool> MultipartReader::fill(std::size_t want) {
  while (end_ - begin_ < want) {
    if (eof_) return false;
    if (begin_ + want > buf_.size()) {
      std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
    }
    COFFER_TRY(std::size_t n, body_.read(std::span<char>(buf_.data() + end_, buf_.size() - end_)));
    if (n == 0) eof_ = true;
    end_ += n;
  }
  return true;
}

Result<std::string_view> MultipartReader::take_part_bytes(std::size_t max) {
  if (part_ended_) return std::string_view();
  const std::size_t d = delimiter_.size();
  std::size_t from = 0;  // buffered()[0, from) is known to be content.
  if (content_ahead_ > 0) {
    // Found by an earlier search: small reads must not search the buffer again each time.
    std::size_t n = std::min(content_ahead_, max);
    std::string_view chunk = buffered().substr(0, n);
    begin_ += n;
    content_ahead_ -= n;
    return chunk;
  }
  for (;;) {
    std::string_view avail = buffered();
    std::size_t p = avail.find(delimiter_, from);
    std::size_t safe;  // Leading bytes known to be content.
    if (p == std::string_view::npos) {
      // A delimiter may still start in the last d - 1 bytes.
      safe = std::max(from, avail.size() >= d ? avail.size() - (d - 1) : 0);
    } else if (p > 0) {
      safe = p;
    } else {
      // CRLF "--" boundary opens the buffer. As in Go's mime/multipart, only SP, HT, CR, LF or
      // "--" after it make it a delimiter (the rest of the boundary line is checked by
      // advance()); anything else means the bytes are content.
      std::size_t need = avail.size() < d + 1                        ? d + 1
                         : (avail[d] == '-' && avail.size() < d + 2) ? d + 2
                                                                     : 0;
      if (need > 0) {
        COFFER_TRY(bool more, fill(need));
        if (!more) return malformed("body ends before the closing boundary");
        continue;
      }
      char c = avail[d];
      if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || (c == '-' && avail[d + 1] == '-')) {
        part_ended_ = true;
        return std::string_view();
      }
      from = 1;
      continue;
    }
    if (safe == 0) {
      COFFER_TRY(bool more, fill(avail.size() + 1));
      if (!more) return malformed("body ends before the closing boundary");
      continue;
    }
    std::size_t n = std::min(safe, max);
    begin_ += n;
    content_ahead_ = safe - n;
    return avail.substr(0, n);
  }
}

Result<void> MultipartReader::skip_part() {
  for (;;) {
    COFFER_TRY(std::string_view chunk, take_part_bytes(buf_.size()));
    if (chunk.empty()) return Ok();
  }
}

Result<std::string_view> MultipartReader::take_header_section() {
  std::size_t from = 0;  // No "\r\n\r\n" starts before `from`.
  for (;;) {
    std::string_view avail = buffered();
    if (avail.starts_with("\r\n")) {
      begin_ += 2;
      return std::string_view();
    }
    std::size_t p = avail.find("\r\n\r\n", from);
    if (p != std::string_view::npos) {
      if (p + 4 > max_header_bytes_) return malformed("part headers too large");
      begin_ += p + 4;
      return avail.substr(0, p + 2);
    }
    if (avail.size() >= max_header_bytes_) return malformed("part headers too large");
    from = avail.size() >= 3 ? avail.size() - 3 : 0;
    COFFER_TRY(bool more, fill(avail.size() + 1));
    if (!more) return malformed("body ends in part headers");
  }
}

Result<std::optional<PartInfo>> MultipartReader::advance() {
  if (state_ == State::kDone) return std::nullopt;
  COFFER_TRY_VOID(skip_part());
  // take_part_bytes stopped at a delimiter followed by at least one more byte.
  begin_ += delimiter_.size();
  COFFER_TRY(bool have, fill(2));
  if (have && buffered().starts_with("--")) {
    state_ = State::kDone;  // The close delimiter; the epilogue is ignored.
    return std::nullopt;
  }
  std::size_t padding = 0;
  for (;;) {
    COFFER_TRY(bool more, fill(1));
    if (!more) return malformed("body ends after a boundary");
    if (!is_ows(buf_[begin_])) break;
    ++begin_;
    if (++padding > max_header_bytes_) return malformed("boundary line too long");
  }
  COFFER_TRY(have, fill(2));
  if (!have || !buffered().starts_with("\r\n")) return malformed("bad boundary line");
  begin_ += 2;

  COFFER_TRY(std::string_view section, take_header_section());
  COFFER_TRY(PartInfo info, parse_part_headers(section));
  state_ = State::kInPart;
  part_ended_ = false;
  return info;
}

Result<std::optional<PartInfo>> MultipartReader::next_part() {
  if (error_) return *error_;
  auto r = advance();
  if (!r) error_ = r.error();
  return r;
}

Result<std::size_t> MultipartReader::PartBody::read(std::span<char> out) {
  MultipartReader& r = reader_;
  if (r.error_) return *r.error_;
  if (r.state_ != State::kInPart || out.empty()) return 0;
  auto chunk = r.take_part_bytes(out.size());
  if (!chunk) {
    r.error_ = chunk.error();
    return chunk.error();
  }
  std::copy(chunk->begin(), chunk->end(), out.begin());
  return chunk->size();
}

}  // namespace coffer::api
