// Workload: slices partition the range, ops stay in their slice, the mix and the pacer hold.
#include "workload.hpp"

#include <gtest/gtest.h>

namespace vhostd::bench {
namespace {

TEST(Workload, SlicesPartitionTheRange) {
    uint64_t next = 0;
    for (uint16_t q = 0; q < 7; ++q) {
        const Slice s = queue_slice(100, 7, q);
        EXPECT_EQ(s.first_unit, next);
        EXPECT_GE(s.units, 14U);
        next = s.first_unit + s.units;
    }
    EXPECT_EQ(next, 100U);
}

TEST(Workload, RandomOpsStayInTheSliceAndFollowTheMix) {
    OpGenerator gen(Pattern::randrw, 70, Slice{1000, 50}, 42);
    unsigned writes = 0;
    for (int i = 0; i < 10000; ++i) {
        const auto op = gen.next();
        ASSERT_GE(op.unit, 1000U);
        ASSERT_LT(op.unit, 1050U);
        writes += op.write ? 1 : 0;
    }
    EXPECT_NEAR(writes, 3000, 300);
}

TEST(Workload, SequentialWrapsInsideTheSlice) {
    OpGenerator gen(Pattern::read, 100, Slice{10, 3}, 1);
    for (uint64_t expect : {10U, 11U, 12U, 10U, 11U}) {
        const auto op = gen.next();
        EXPECT_EQ(op.unit, expect);
        EXPECT_FALSE(op.write);
    }
}

TEST(Workload, PacerAllowsTheRateAndForfeitsStalls) {
    RatePacer pacer(1000, 8);  // 1000 IOPS: one per millisecond
    EXPECT_EQ(pacer.allowance(0, 0), 0U);
    EXPECT_EQ(pacer.allowance(5'000'000, 0), 5U);
    EXPECT_EQ(pacer.allowance(5'000'000, 5), 0U);
    // A one-second stall allows one burst, not a thousand.
    EXPECT_EQ(pacer.allowance(1'005'000'000, 5), 8U);
    EXPECT_EQ(pacer.allowance(1'006'000'000, 13), 1U);
    EXPECT_TRUE(RatePacer(0, 8).unlimited());
}

}  // namespace
}  // namespace vhostd::bench
