// Log level parsing, per-component levels, and the rate limiter's burst/suppression accounting.
#include "base/log.hpp"

#include <string>
#include <thread>

#include <gtest/gtest.h>

namespace vhostd::log {
namespace {

TEST(Log, ParsesSpdkAndSpdlogLevelNames) {
    EXPECT_EQ(parse_level("ERROR"), Level::err);
    EXPECT_EQ(parse_level("NOTICE"), Level::info);
    EXPECT_EQ(parse_level("debug"), Level::debug);
    EXPECT_FALSE(parse_level("loud").has_value());
}

// Restores the default level when a test that changes it ends.
struct LevelGuard {
    ~LevelGuard() { set_level(Level::info); }
};

TEST(Log, LevelsFilterPerComponentBeforeWriting) {
    LevelGuard guard;
    set_level(Level::warn);
    EXPECT_EQ(level(), Level::warn);
    EXPECT_FALSE(enabled(Component::rpc, Level::info));
    EXPECT_TRUE(enabled(Component::rpc, Level::err));
    set_component_level(Component::rpc, Level::debug);  // log_set_flag
    EXPECT_EQ(component_level(Component::rpc), Level::debug);
    EXPECT_TRUE(enabled(Component::rpc, Level::debug));
    EXPECT_FALSE(enabled(Component::scsi, Level::debug));

    testing::internal::CaptureStderr();
    LOG_DEBUG(rpc, "shown {}", 1);
    LOG_INFO(scsi, "hidden {}", 2);
    const std::string out = testing::internal::GetCapturedStderr();
    EXPECT_NE(out.find("[rpc] shown 1"), std::string::npos) << out;
    EXPECT_EQ(out.find("hidden"), std::string::npos) << out;
}

TEST(Log, MessagesBelowTheLevelDoNotSpendTheRateLimit) {
    LevelGuard guard;
    set_level(Level::warn);
    RateLimiter limiter(1, std::chrono::hours(1));
    write_limited(limiter, Component::rpc, Level::info, "dropped {}", 1);
    testing::internal::CaptureStderr();
    write_limited(limiter, Component::rpc, Level::warn, "kept {}", 2);
    write_limited(limiter, Component::rpc, Level::warn, "over the limit {}", 3);
    const std::string out = testing::internal::GetCapturedStderr();
    EXPECT_NE(out.find("kept 2"), std::string::npos) << out;
    EXPECT_EQ(out.find("over the limit"), std::string::npos) << out;
    EXPECT_EQ(out.find("suppressed"), std::string::npos) << out;
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
