#include "core/byte_range.h"

#include <limits>
#include <optional>

namespace coffer {
namespace {

constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();

bool is_ows(char c) { return c == ' ' || c == '\t'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// A non-empty run of digits; the value saturates at kMax. `digits` keeps the significant digits
// so that two saturated values can still be ordered.
struct Number {
  std::uint64_t value = 0;
  std::string_view digits;
};

std::optional<Number> parse_number(std::string_view s) {
  if (s.empty()) return std::nullopt;
  Number n;
  for (char c : s) {
    if (!is_digit(c)) return std::nullopt;
    std::uint64_t d = static_cast<std::uint64_t>(c - '0');
    n.value = (n.value > (kMax - d) / 10) ? kMax : n.value * 10 + d;
  }
  std::size_t z = s.find_first_not_of('0');
  n.digits = z == std::string_view::npos ? std::string_view() : s.substr(z);
  return n;
}

bool less(const Number& a, const Number& b) {
  if (a.digits.size() != b.digits.size()) return a.digits.size() < b.digits.size();
  return a.digits < b.digits;
}

}  // namespace

RangeRequest parse_range(std::string_view header, std::uint64_t size) {
  const RangeRequest whole{};
  std::string_view value = trim_ows(header);
  std::size_t eq = value.find('=');
  if (eq == std::string_view::npos || !iequals(value.substr(0, eq), "bytes")) return whole;

  // range-set = 1#range-spec; empty list elements are allowed and ignored (RFC 9110 §5.6.1).
  std::optional<std::string_view> spec;
  std::string_view rest = value.substr(eq + 1);
  for (;;) {
    std::size_t comma = rest.find(',');
    std::string_view element = trim_ows(rest.substr(0, comma));
    if (!element.empty()) {
      if (spec) return whole;  // More than one range.
      spec = element;
    }
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  if (!spec) return whole;

  std::size_t dash = spec->find('-');
  if (dash == std::string_view::npos) return whole;
  std::string_view first_text = spec->substr(0, dash);
  std::string_view last_text = spec->substr(dash + 1);

  if (first_text.empty()) {  // suffix-range = "-" suffix-length
    auto suffix = parse_number(last_text);
    if (!suffix) return whole;
    if (suffix->value == 0 || size == 0) return {RangeRequest::Kind::kUnsatisfiable};
    std::uint64_t first = suffix->value >= size ? 0 : size - suffix->value;
    return {RangeRequest::Kind::kPartial, first, size - 1};
  }

  auto first = parse_number(first_text);
  if (!first) return whole;
  std::uint64_t last = kMax;
  if (!last_text.empty()) {
    auto l = parse_number(last_text);
    if (!l || less(*l, *first)) return whole;
    last = l->value;
  }
  if (first->value >= size) return {RangeRequest::Kind::kUnsatisfiable};
  return {RangeRequest::Kind::kPartial, first->value, last < size ? last : size - 1};
}

std::string content_range(std::uint64_t first, std::uint64_t last, std::uint64_t size) {
  return "bytes " + std::to_string(first) + "-" + std::to_string(last) + "/" + std::to_string(size);
}

std::string content_range_unsatisfied(std::uint64_t size) {
  return "bytes */" + std::to_string(size);
}

}  // namespace coffer
