// CallCoalescer: off by default, every notification sent below the threshold, at most one
// signal per delay above it, owed signals kept until due.
#include "virtio/call_coalescer.hpp"

#include <gtest/gtest.h>

namespace vhostd::virtio {
namespace {

constexpr uint64_t kMs = 1'000'000;

TEST(CallCoalescer, OffSendsEverything) {
    CallCoalescer c;
    EXPECT_FALSE(c.enabled());
    for (uint64_t i = 1; i < 100; ++i)
        EXPECT_TRUE(c.notify(i * 1000, i * 1000));
}

TEST(CallCoalescer, BelowTheThresholdSendsEverything) {
    CallCoalescer c;
    c.configure(50, 60000);
    // 1000 completions per second.
    for (uint64_t ms = 1; ms < 100; ++ms)
        EXPECT_TRUE(c.notify(ms * kMs, ms));
}

TEST(CallCoalescer, AboveTheThresholdSignalsOncePerDelay) {
    CallCoalescer c;
    c.configure(100, 10000);  // 100 us, 10k/s
    uint64_t completions = 0;
    uint64_t now = kMs;
    // A first window at 1M completions/s (one per microsecond).
    for (; now < 12 * kMs; now += 1000) {
        (void)c.notify(now, ++completions);
    }
    int sent = 0;
    const uint64_t start = now;
    for (; now < start + kMs; now += 1000) {
        if (c.notify(now, ++completions))
            ++sent;
    }
    EXPECT_GE(sent, 9);  // 1 ms / 100 us
    EXPECT_LE(sent, 11);
    (void)c.notify(now, ++completions);
    EXPECT_FALSE(c.notify(now + 1, ++completions));  // within the delay of the last signal
    EXPECT_TRUE(c.pending());
    EXPECT_FALSE(c.due(now + 2));
    EXPECT_TRUE(c.due(now + 100'001));
    c.clear();
    EXPECT_FALSE(c.pending());
}

TEST(CallCoalescer, ClearForgetsTheOwedSignal) {
    CallCoalescer c;
    c.configure(1000, 1);
    uint64_t now = kMs;
    for (uint64_t i = 0; i < 20; ++i, now += kMs)
        (void)c.notify(now, i * 100);
    EXPECT_TRUE(c.notify(now + 2 * kMs, 5000));
    EXPECT_FALSE(c.notify(now + 2 * kMs + 10, 5001));
    EXPECT_TRUE(c.pending());
    c.clear();
    EXPECT_FALSE(c.pending());
}

}  // namespace
}  // namespace vhostd::virtio
