#include "service/upload_plan.h"

#include <gtest/gtest.h>

namespace coffer::service {
namespace {

constexpr std::uint64_t kGiB = 1024 * kMiB;
constexpr std::uint64_t kTiB = 1024 * kGiB;

struct PlanCase {
  const char* name;
  std::uint64_t size;
  std::uint64_t configured;
  bool single;
  std::uint64_t part_size;
  std::uint64_t part_count;
};

class PlanUpload : public ::testing::TestWithParam<PlanCase> {};

TEST_P(PlanUpload, ChoosesTheDocumentedParts) {
  const PlanCase& c = GetParam();
  auto plan = plan_upload(c.size, c.configured);
  ASSERT_TRUE(plan.has_value());
  EXPECT_EQ(plan->single, c.single);
  EXPECT_EQ(plan->part_size, c.part_size);
  EXPECT_EQ(plan->part_count, c.part_count);
  // Always within S3's limits, and the parts add up to the size.
  EXPECT_LE(plan->part_count, kMaxUploadParts);
  EXPECT_LE(plan->part_size, kMaxPartBytes);
  if (!plan->single) {
    EXPECT_GE(plan->part_size, kMinPartBytes);
    EXPECT_EQ(plan->part_size % kMiB, 0u);
  }
  std::uint64_t total = 0;
  for (std::uint64_t n = 1; n <= plan->part_count; ++n) {
    const std::uint64_t length = plan->part_length(c.size, n);
    if (n < plan->part_count) {
      EXPECT_EQ(length, plan->part_size);
    }
    EXPECT_GT(length + (c.size == 0 ? 1 : 0), 0u) << "part " << n << " is empty";
    total += length;
  }
  EXPECT_EQ(total, c.size);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, PlanUpload,
    ::testing::Values(
        PlanCase{"Empty", 0, 64 * kMiB, true, 1, 1},
        PlanCase{"OneByte", 1, 64 * kMiB, true, 1, 1},
        PlanCase{"ExactlyThePartSize", 64 * kMiB, 64 * kMiB, true, 64 * kMiB, 1},
        PlanCase{"OneByteMore", 64 * kMiB + 1, 64 * kMiB, false, 64 * kMiB, 2},
        PlanCase{"OneGiB", kGiB, 64 * kMiB, false, 64 * kMiB, 16},
        PlanCase{"OneGiBAndABit", kGiB + 5, 64 * kMiB, false, 64 * kMiB, 17},
        // Below S3's minimum part size, multipart parts are still 5 MiB.
        PlanCase{"SmallConfiguredPart", 3 * kMiB, kMiB, false, 5 * kMiB, 1},
        PlanCase{"SmallConfiguredPartLarger", 11 * kMiB, kMiB, false, 5 * kMiB, 3},
        // A configured part size that is no whole MiB is rounded up for multipart.
        PlanCase{"OddConfiguredPart", 20 * kMiB, 5 * kMiB + 1, false, 6 * kMiB, 4},
        // 10000 parts at most: the part size grows (and is rounded up to a MiB).
        PlanCase{"TenThousandParts", 10000 * 8 * kMiB, 8 * kMiB, false, 8 * kMiB, 10000},
        PlanCase{"OverTenThousandParts", 10000 * 8 * kMiB + 1, 8 * kMiB, false, 9 * kMiB, 8889},
        PlanCase{"FiveTiB", 5 * kTiB, 64 * kMiB, false, 525 * kMiB, 9987},
        // One PUT holds at most 5 GiB, whatever the configured part size.
        PlanCase{"HugeConfiguredPart", 6 * kGiB, 10 * kGiB, false, 5 * kGiB, 2}),
    [](const ::testing::TestParamInfo<PlanCase>& info) { return std::string(info.param.name); });

TEST(PlanUpload, RefusesWhatNoPartSizeCanHold) {
  EXPECT_EQ(plan_upload(10000 * kMaxPartBytes + 1, 64 * kMiB).error().code,
            ErrorCode::kBadRequest);
}

TEST(RecordedPlan, GivesBackTheIssuedParts) {
  for (std::uint64_t size : {std::uint64_t{0}, std::uint64_t{1}, 64 * kMiB, 64 * kMiB + 1, kGiB + 5, 3 * kMiB}) {
    auto plan = plan_upload(size, size == 3 * kMiB ? kMiB : 64 * kMiB);
    ASSERT_TRUE(plan.has_value());
    UploadPlan recorded = recorded_plan(size, plan->part_size);
    EXPECT_EQ(recorded.part_count, plan->part_count) << size;
    EXPECT_EQ(recorded.part_size, plan->part_size) << size;
    EXPECT_EQ(recorded.single, plan->part_count == 1) << size;
  }
}

}  // namespace
}  // namespace coffer::service
