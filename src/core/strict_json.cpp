#include "core/strict_json.h"

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/value_stack.hpp>
#include <string>
#include <utility>

namespace coffer {
namespace {

namespace json = boost::json;

// Builds the DOM exactly as boost::json::parser does, and counts the members the text declares so
// that duplicates (which the DOM merges) can be detected afterwards without copying keys.
struct CountingHandler {
  static constexpr std::size_t max_object_size = json::object::max_size();
  static constexpr std::size_t max_array_size = json::array::max_size();
  static constexpr std::size_t max_key_size = json::string::max_size();
  static constexpr std::size_t max_string_size = json::string::max_size();

  json::value_stack st;
  std::size_t declared_members = 0;

  bool on_document_begin(json::error_code&) { return true; }
  bool on_document_end(json::error_code&) { return true; }
  bool on_object_begin(json::error_code&) { return true; }
  bool on_object_end(std::size_t n, json::error_code&) {
    declared_members += n;
    st.push_object(n);
    return true;
  }
  bool on_array_begin(json::error_code&) { return true; }
  bool on_array_end(std::size_t n, json::error_code&) {
    st.push_array(n);
    return true;
  }
  bool on_key_part(json::string_view s, std::size_t, json::error_code&) {
    st.push_chars(s);
    return true;
  }
  bool on_key(json::string_view s, std::size_t, json::error_code&) {
    st.push_key(s);
    return true;
  }
  bool on_string_part(json::string_view s, std::size_t, json::error_code&) {
    st.push_chars(s);
    return true;
  }
  bool on_string(json::string_view s, std::size_t, json::error_code&) {
    st.push_string(s);
    return true;
  }
  bool on_number_part(json::string_view, json::error_code&) { return true; }
  bool on_int64(std::int64_t i, json::string_view, json::error_code&) {
    st.push_int64(i);
    return true;
  }
  bool on_uint64(std::uint64_t u, json::string_view, json::error_code&) {
    st.push_uint64(u);
    return true;
  }
  bool on_double(double d, json::string_view, json::error_code&) {
    st.push_double(d);
    return true;
  }
  bool on_bool(bool b, json::error_code&) {
    st.push_bool(b);
    return true;
  }
  bool on_null(json::error_code&) {
    st.push_null();
    return true;
  }
  bool on_comment_part(json::string_view, json::error_code&) { return true; }
  bool on_comment(json::string_view, json::error_code&) { return true; }
};

// Members actually stored in the DOM. Recursion is bounded by kMaxJsonDepth, which the parser
// has already enforced.
std::size_t stored_members(const json::value& v) {
  std::size_t total = 0;
  if (const auto* obj = v.if_object()) {
    total += obj->size();
    for (const auto& member : *obj) total += stored_members(member.value());
  } else if (const auto* arr = v.if_array()) {
    for (const auto& element : *arr) total += stored_members(element);
  }
  return total;
}

Error fail(std::string_view what, std::string_view why) {
  std::string message(what);
  message += ": ";
  message += why;
  return Error::BadRequest(std::move(message));
}

}  // namespace

Result<json::value> parse_strict_json(std::string_view text, std::string_view what) {
  json::parse_options options;
  options.max_depth = kMaxJsonDepth;
  options.allow_comments = false;
  options.allow_trailing_commas = false;
  options.allow_invalid_utf8 = false;

  json::basic_parser<CountingHandler> parser(options);
  parser.handler().st.reset();
  json::error_code ec;
  const std::size_t consumed = parser.write_some(false, text.data(), text.size(), ec);
  if (ec) return fail(what, "invalid JSON (" + ec.message() + ")");
  if (consumed != text.size()) return fail(what, "trailing bytes after the JSON text");

  json::value value = parser.handler().st.release();
  if (stored_members(value) != parser.handler().declared_members) {
    return fail(what, "duplicate member name");
  }
  return value;
}

Result<json::object> parse_strict_json_object(std::string_view text, std::string_view what) {
  COFFER_TRY(json::value value, parse_strict_json(text, what));
  if (!value.is_object()) return fail(what, "not a JSON object");
  return std::move(value.get_object());
}

}  // namespace coffer
