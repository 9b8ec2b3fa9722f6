// LatencyHistogram: bucket bounds, percentiles within the bucket error, merging.
#include "histogram.hpp"

#include <gtest/gtest.h>

namespace vhostd::bench {
namespace {

TEST(LatencyHistogram, BucketsCoverEveryValueContiguously) {
    for (const uint64_t v : std::initializer_list<uint64_t>{0, 1, 127, 128, 129, 1000, 123456789,
                                                            uint64_t{1} << 40, UINT64_MAX}) {
        const size_t i = LatencyHistogram::index(v);
        ASSERT_LT(i, LatencyHistogram::kBuckets) << v;
        EXPECT_LE(LatencyHistogram::lower_bound(i), v) << v;
        EXPECT_GE(LatencyHistogram::lower_bound(i) + (LatencyHistogram::width(i) - 1), v) << v;
    }
    for (size_t i = 1; i < LatencyHistogram::kBuckets; ++i) {
        ASSERT_EQ(LatencyHistogram::lower_bound(i),
                  LatencyHistogram::lower_bound(i - 1) + LatencyHistogram::width(i - 1))
            << i;
    }
}

TEST(LatencyHistogram, PercentilesWithinTwoPercent) {
    LatencyHistogram h;
    for (uint64_t v = 1; v <= 100000; ++v) {
        h.record(v * 10);  // 10 ns .. 1 ms, uniform
    }
    EXPECT_EQ(h.count(), 100000U);
    EXPECT_EQ(h.max(), 1000000U);
    EXPECT_NEAR(h.mean(), 500005.0, 1.0);
    EXPECT_NEAR(static_cast<double>(h.percentile(0.5)), 500000.0, 500000.0 * 0.02);
    EXPECT_NEAR(static_cast<double>(h.percentile(0.99)), 990000.0, 990000.0 * 0.02);
    EXPECT_NEAR(static_cast<double>(h.percentile(0.999)), 999000.0, 999000.0 * 0.02);
    EXPECT_EQ(h.percentile(1.0), 1000000U);
}

TEST(LatencyHistogram, MergeAddsCountsAndKeepsExtremes) {
    LatencyHistogram a;
    LatencyHistogram b;
    a.record(100, 3);
    b.record(5000);
    a.merge(b);
    EXPECT_EQ(a.count(), 4U);
    EXPECT_EQ(a.max(), 5000U);
    EXPECT_EQ(a.min(), 100U);
    EXPECT_EQ(a.percentile(0.5), 100U);
    EXPECT_EQ(LatencyHistogram{}.percentile(0.5), 0U);
}

}  // namespace
}  // namespace vhostd::bench
