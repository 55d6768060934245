#include "core/http_conditions.h"

#include <optional>
#include <vector>

namespace coffer {
namespace {

bool is_ows(char c) { return c == ' ' || c == '\t'; }

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
  return s;
}

// etagc = %x21 / %x23-7E / obs-text
bool is_etagc(char c) {
  auto u = static_cast<unsigned char>(c);
  return u == 0x21 || (u >= 0x23 && u != 0x7F);
}

struct EntityTag {
  bool weak = false;
  std::string_view opaque;  // Including the quotes.
};

// Parses an entity-tag at the start of `s`, advancing `s` past it.
std::optional<EntityTag> take_entity_tag(std::string_view& s) {
  EntityTag tag;
  if (s.starts_with("W/")) {
    tag.weak = true;
    s.remove_prefix(2);
  }
  if (s.empty() || s.front() != '"') return std::nullopt;
  std::size_t i = 1;
  while (i < s.size() && is_etagc(s[i])) ++i;
  if (i == s.size() || s[i] != '"') return std::nullopt;
  tag.opaque = s.substr(0, i + 1);
  s.remove_prefix(i + 1);
  return tag;
}

std::optional<EntityTag> parse_entity_tag(std::string_view s) {
  s = trim_ows(s);
  auto tag = take_entity_tag(s);
  if (!tag || !s.empty()) return std::nullopt;
  return tag;
}

// `#entity-tag`: a comma-separated list, empty elements allowed; nullopt when malformed.
std::optional<std::vector<EntityTag>> parse_entity_tag_list(std::string_view s) {
  std::vector<EntityTag> tags;
  for (;;) {
    s = trim_ows(s);
    if (s.empty()) break;
    if (s.front() == ',') {
      s.remove_prefix(1);
      continue;
    }
    auto tag = take_entity_tag(s);
    if (!tag) return std::nullopt;
    tags.push_back(*tag);
    s = trim_ows(s);
    if (!s.empty() && s.front() != ',') return std::nullopt;
  }
  return tags;
}

bool strong_equal(const EntityTag& a, const EntityTag& b) {
  return !a.weak && !b.weak && a.opaque == b.opaque;
}

bool weak_equal(const EntityTag& a, const EntityTag& b) { return a.opaque == b.opaque; }

template <class Equal>
bool list_matches(std::string_view header, std::string_view etag, Equal equal) {
  if (trim_ows(header) == "*") return true;
  auto ours = parse_entity_tag(etag);
  if (!ours) return false;
  auto tags = parse_entity_tag_list(header);
  if (!tags) return false;
  for (const auto& t : *tags) {
    if (equal(t, *ours)) return true;
  }
  return false;
}

}  // namespace

bool if_none_match_matches(std::string_view header, std::string_view etag) {
  return list_matches(header, etag, weak_equal);
}

bool if_match_matches(std::string_view header, std::string_view etag) {
  return list_matches(header, etag, strong_equal);
}

bool if_range_allows_range(std::string_view header, std::string_view etag,
                           SystemTime last_modified) {
  std::string_view value = trim_ows(header);
  // RFC 9110 §13.1.5: an entity-tag starts with DQUOTE or "W/"; anything else is a date.
  if (value.starts_with('"') || value.starts_with("W/")) {
    auto theirs = parse_entity_tag(value);
    auto ours = parse_entity_tag(etag);
    return theirs && ours && strong_equal(*theirs, *ours);
  }
  auto date = parse_http_date(value);
  if (!date) return false;
  return to_unix_seconds(*date) == to_unix_seconds(last_modified);
}

}  // namespace coffer
