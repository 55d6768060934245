// JSON text written straight into a string: no document tree, no allocation per value. For the
// answers rendered on every request (a file, a page of files); anything else may build a
// boost::json value instead.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace coffer {

// JSON text that is already rendered.
struct JsonText {
  std::string text;
};

// Appends to `out`. The caller keeps the structure valid (keys inside objects, matched
// begin/end); the writer places the commas and escapes strings (RFC 8259).
class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out) {}

  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  // `name` is a field name of API.md, written as it is (it needs no escaping).
  JsonWriter& key(std::string_view name);
  JsonWriter& value(std::string_view s);
  JsonWriter& value(const char* s) { return value(std::string_view(s)); }
  JsonWriter& value(std::int64_t n);
  JsonWriter& value(int n) { return value(static_cast<std::int64_t>(n)); }
  JsonWriter& value(bool b);
  JsonWriter& null();
  // Already valid JSON, placed as one value.
  JsonWriter& raw(std::string_view json);

 private:
  void before_value();

  std::string& out_;
  bool after_value_ = false;  // a value ended at this nesting level: the next one needs a comma
  bool after_key_ = false;
};

// `s` as a JSON string literal, quotes included.
void append_json_string(std::string& out, std::string_view s);
// The same without the quotes.
void append_json_escaped(std::string& out, std::string_view s);

}  // namespace coffer
