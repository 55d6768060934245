// The `Range` request header (RFC 9110 §14) for one representation of known size. Pure.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace coffer {

// What to serve for a Range header.
struct RangeRequest {
  enum class Kind {
    kWhole,          // 200 with the whole representation: the header is to be ignored.
    kPartial,        // 206 with bytes [first, last], Content-Range: content_range(...).
    kUnsatisfiable,  // 416 with Content-Range: content_range_unsatisfied(size).
  };
  Kind kind = Kind::kWhole;
  std::uint64_t first = 0;  // Only for kPartial.
  std::uint64_t last = 0;   // Only for kPartial; inclusive, always < size.

  std::uint64_t length() const { return last - first + 1; }
  friend bool operator==(const RangeRequest&, const RangeRequest&) = default;
};

// Evaluates the field value of a Range header (empty = absent) against a representation of
// `size` bytes.
// - kWhole: absent, a unit other than "bytes" (case-insensitive), syntactically invalid (including
//   last < first and whitespace inside a range-spec or around '='), or more than one range-spec:
//   RFC 9110 lets a server ignore these. OWS around the value and around list commas is allowed,
//   as are empty list elements.
// - kUnsatisfiable: first >= size, a suffix of 0 ("-0"), or any range on an empty representation.
// - kPartial: last is clipped to size - 1; a suffix longer than size selects the whole
//   representation (still a 206). Numbers of any length are accepted without overflow.
// If-Range is the caller's business (see http_conditions.h): evaluate it before this.
RangeRequest parse_range(std::string_view header, std::uint64_t size);

// "bytes first-last/size", for a 206.
std::string content_range(std::uint64_t first, std::uint64_t last, std::uint64_t size);
// "bytes */size", for a 416.
std::string content_range_unsatisfied(std::uint64_t size);

}  // namespace coffer
