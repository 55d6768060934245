#include "service/upload_plan.h"

#include <algorithm>

namespace coffer::service {
namespace {

std::uint64_t ceil_div(std::uint64_t a, std::uint64_t b) { return a == 0 ? 0 : (a - 1) / b + 1; }

}  // namespace

std::uint64_t UploadPlan::part_length(std::uint64_t size, std::uint64_t n) const {
  const std::uint64_t offset = (n - 1) * part_size;
  return offset >= size ? 0 : std::min(part_size, size - offset);
}

Result<UploadPlan> plan_upload(std::uint64_t size, std::uint64_t configured_part_size) {
  UploadPlan plan;
  if (size <= std::min(configured_part_size, kMaxPartBytes)) {
    plan.single = true;
    plan.part_size = std::max<std::uint64_t>(size, 1);
    plan.part_count = 1;
    return plan;
  }
  std::uint64_t part = std::max({std::min(configured_part_size, kMaxPartBytes),
                                 ceil_div(size, kMaxUploadParts), kMinPartBytes});
  part = ceil_div(part, kMiB) * kMiB;
  if (part > kMaxPartBytes) return Error::BadRequest("size is too large for a direct upload");
  plan.single = false;
  plan.part_size = part;
  plan.part_count = ceil_div(size, part);
  return plan;
}

UploadPlan recorded_plan(std::uint64_t size, std::uint64_t part_size) {
  UploadPlan plan;
  plan.part_size = std::max<std::uint64_t>(part_size, 1);
  plan.part_count = std::max<std::uint64_t>(ceil_div(size, plan.part_size), 1);
  plan.single = plan.part_count == 1;
  return plan;
}

}  // namespace coffer::service
