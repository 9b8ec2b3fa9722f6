// LatencyHistogram: bucket boundaries tile the value range, relative width stays under 1/16,
// and snapshots sum, count and find percentiles.
#include "block/stats/latency_histogram.hpp"

#include <gtest/gtest.h>

namespace vhostd::block::stats {
namespace {

using H = LatencyHistogram;

TEST(LatencyHistogram, SmallValuesGetABucketEach) {
    for (uint64_t v = 0; v < 16; ++v) {
        EXPECT_EQ(H::index_of(v), v);
        EXPECT_EQ(H::lower_bound(v), v);
        EXPECT_EQ(H::upper_bound(v), v);
    }
}

TEST(LatencyHistogram, BucketsTileTheRangeWithoutGaps) {
    for (size_t i = 0; i + 1 < H::kBuckets; ++i) {
        EXPECT_EQ(H::upper_bound(i) + 1, H::lower_bound(i + 1)) << i;
        EXPECT_EQ(H::index_of(H::lower_bound(i)), i);
        EXPECT_EQ(H::index_of(H::upper_bound(i)), i);
    }
}

TEST(LatencyHistogram, BucketWidthIsAtMostASixteenthOfItsValue) {
    for (size_t i = 16; i + 1 < H::kBuckets; ++i) {
        const uint64_t width = H::upper_bound(i) - H::lower_bound(i) + 1;
        EXPECT_LE(width * 16, H::lower_bound(i)) << i;
    }
}

TEST(LatencyHistogram, PowersOfTwoStartAMajorBucket) {
    EXPECT_EQ(H::index_of(16), 16U);
    EXPECT_EQ(H::index_of(31), 31U);
    EXPECT_EQ(H::index_of(32), 32U);
    EXPECT_EQ(H::index_of(1024), H::index_of(1023) + 1);
    EXPECT_EQ(H::lower_bound(H::index_of(1 << 20)), uint64_t{1} << 20);
}

TEST(LatencyHistogram, HugeValuesLandInTheLastBucket) {
    EXPECT_EQ(H::index_of(UINT64_MAX), H::kBuckets - 1);
    EXPECT_EQ(H::index_of(uint64_t{1} << H::kMaxBits), H::kBuckets - 1);
    EXPECT_EQ(H::upper_bound(H::kBuckets - 1), UINT64_MAX);
}

TEST(LatencyHistogram, SnapshotSumsCountsAndPercentiles) {
    H a;
    H b;
    for (int i = 0; i < 90; ++i)
        a.record(1000);  // 1 us
    for (int i = 0; i < 10; ++i)
        b.record(1'000'000);  // 1 ms
    HistogramSnapshot snap;
    snap.add(a);
    snap.add(b);
    EXPECT_EQ(snap.total(), 100U);
    EXPECT_EQ(snap.count_at_most((1 << 10) - 1), 90U);  // everything below 1024 ns
    EXPECT_EQ(snap.count_at_most((1 << 20) - 1), 100U);
    EXPECT_EQ(snap.count_at_most(10), 0U);
    const uint64_t p50 = snap.percentile(0.5);
    EXPECT_GE(p50, 1000U);
    EXPECT_LE(p50, 1000U + 1000 / 16);
    const uint64_t p99 = snap.percentile(0.99);
    EXPECT_GE(p99, 1'000'000U);
    EXPECT_LE(p99, 1'000'000U + 1'000'000 / 16);
    EXPECT_EQ(HistogramSnapshot{}.percentile(0.5), 0U);
}

}  // namespace
}  // namespace vhostd::block::stats
