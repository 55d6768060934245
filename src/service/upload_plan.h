// How a direct upload is cut into parts (API.md "Direct transfers"): pure arithmetic on the
// declared size and the configured part size, within S3's multipart limits, which the
// local-directory backend keeps too so that both behave the same.
#pragma once

#include <cstdint>

#include "core/error.h"

namespace coffer::service {

inline constexpr std::uint64_t kMiB = 1024 * 1024;
inline constexpr std::uint64_t kMinPartBytes = 5 * kMiB;      // every part but the last (S3)
inline constexpr std::uint64_t kMaxPartBytes = 5 * 1024 * kMiB;  // any part, and a single PUT
inline constexpr std::uint64_t kMaxUploadParts = 10000;

struct UploadPlan {
  // One URL ("url" in the answer) rather than a list of part URLs ("parts").
  bool single = true;
  // The size of every part but the last; at least 1 (a zero-byte upload is one empty part).
  std::uint64_t part_size = 1;
  std::uint64_t part_count = 1;

  // The exact length of part n (1-based, at most part_count) of an object of `size` bytes.
  std::uint64_t part_length(std::uint64_t size, std::uint64_t n) const;
};

// A size up to the configured part size (and at most kMaxPartBytes) is one part: a single URL.
// A larger one gets parts of max(configured (at most kMaxPartBytes), ceil(size / 10000),
// kMinPartBytes) rounded up to a whole MiB, the last part holding the rest. kBadRequest when that would take parts over
// kMaxPartBytes (sizes beyond 48 TiB, above any configurable upload limit).
Result<UploadPlan> plan_upload(std::uint64_t size, std::uint64_t configured_part_size);

// The parts of an upload issued with plan_upload, from what its intent recorded (size and part
// size); `single` is then true when it has one part, whichever form its URLs took.
UploadPlan recorded_plan(std::uint64_t size, std::uint64_t part_size);

}  // namespace coffer::service
