// Log level parsing and the rate limiter's burst/suppression accounting.
#include "base/log.hpp"

#include <thread>

#include <gtest/gtest.h>

namespace vhostd::log {
namespace {

TEST(Log, ParsesSpdkAndSpdlogLevelNames) {
    EXPECT_EQ(parse_level("ERROR"), spdlog::level::err);
    EXPECT_EQ(parse_level("NOTICE"), spdlog::level::info);
    EXPECT_EQ(parse_level("debug"), spdlog::level::debug);
    EXPECT_FALSE(parse_level("loud").has_value());
}

TEST(Log, RateLimiterAllowsBurstThenCountsSuppressed) {
    RateLimiter limiter(3, std::chrono::hours(1));
    uint64_t suppressed = 0;
    for (int i = 0; i < 3; ++i) {
        EXPECT_TRUE(limiter.allow(suppressed));
    }
    for (int i = 0; i < 5; ++i) {
        EXPECT_FALSE(limiter.allow(suppressed));
    }
}

TEST(Log, RateLimiterReportsSuppressedInNextWindow) {
    RateLimiter limiter(1, std::chrono::milliseconds(1));
    uint64_t suppressed = 0;
    EXPECT_TRUE(limiter.allow(suppressed));
    EXPECT_FALSE(limiter.allow(suppressed));
    EXPECT_FALSE(limiter.allow(suppressed));
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    EXPECT_TRUE(limiter.allow(suppressed));
    EXPECT_EQ(suppressed, 2U);
}

}  // namespace
}  // namespace vhostd::log
