// The TSC clock follows CLOCK_MONOTONIC's rate and never goes back.
#include "base/tsc_clock.hpp"

#include <thread>

#include <gtest/gtest.h>

namespace vhostd::tsc {
namespace {

TEST(TscClock, AdvancesAtTheRateOfTheMonotonicClock) {
    const uint64_t t0 = now_ns();
    const uint64_t m0 = monotonic_ns();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    const uint64_t t1 = now_ns();
    const uint64_t m1 = monotonic_ns();
    const double ratio = static_cast<double>(t1 - t0) / static_cast<double>(m1 - m0);
    EXPECT_GT(ratio, 0.98);
    EXPECT_LT(ratio, 1.02);
}

TEST(TscClock, NeverGoesBackOnOneThread) {
    uint64_t last = now_ns();
    for (int i = 0; i < 100'000; ++i) {
        const uint64_t now = now_ns();
        ASSERT_GE(now, last);
        last = now;
    }
}

TEST(TscClock, CalibrationIsPlausibleWhenUsable) {
    const Calibration& c = calibration();
    if (c.usable) {
        EXPECT_GT(c.hz, 100'000'000U);
        EXPECT_GT(c.mult, 0U);
    }
}

}  // namespace
}  // namespace vhostd::tsc
