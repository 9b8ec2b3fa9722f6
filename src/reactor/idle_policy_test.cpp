// IdlePolicy: the polling budget follows the gaps between bursts of work and the cost of a
// wake-up.
#include "reactor/idle_policy.hpp"

#include <gtest/gtest.h>

namespace vhostd::reactor {
namespace {

using namespace std::chrono_literals;

IdlePolicy make_policy(std::chrono::nanoseconds max_spin = 300us) {
    // A wake-up adds 20 µs to the next request and takes 10 µs of CPU.
    return IdlePolicy(IdlePolicy::Options{max_spin, 20us, 10us});
}

void feed(IdlePolicy& policy, std::chrono::nanoseconds gap, uint32_t times) {
    for (uint32_t i = 0; i < times; ++i) {
        policy.record_gap(gap);
    }
}

TEST(IdlePolicy, PollsForTheConfiguredMaximumUntilItHasSeenGaps) {
    const IdlePolicy policy = make_policy();
    EXPECT_EQ(policy.spin_budget(), 300us);
}

TEST(IdlePolicy, SleepsAtOnceWhenGapsAreLongerThanAWakeUpCosts) {
    IdlePolicy policy = make_policy();
    feed(policy, 100us, IdlePolicy::kRecomputeEvery);  // 10k requests/s, one at a time
    EXPECT_EQ(policy.spin_budget(), 0ns);
}

TEST(IdlePolicy, PollsThroughGapsShorterThanAWakeUp) {
    IdlePolicy policy = make_policy();
    feed(policy, 5us, IdlePolicy::kRecomputeEvery);  // 200k requests/s
    EXPECT_GE(policy.spin_budget(), 5us);
    EXPECT_LE(policy.spin_budget(), 300us);
}

TEST(IdlePolicy, PollsJustLongEnoughToCatchTheNextRequestOfABurst) {
    IdlePolicy policy = make_policy();
    for (uint32_t i = 0; i < IdlePolicy::kRecomputeEvery / 2; ++i) {
        policy.record_gap(2us);  // inside a burst
        policy.record_gap(5ms);  // between bursts
    }
    EXPECT_GE(policy.spin_budget(), 2us);
    EXPECT_LE(policy.spin_budget(), 8us);
}

TEST(IdlePolicy, NeverPollsLongerThanTheMaximum) {
    IdlePolicy policy = make_policy(12us);
    feed(policy, 10us, IdlePolicy::kRecomputeEvery);  // cheaper to poll through, up to the cap
    EXPECT_LE(policy.spin_budget(), 12us);
    EXPECT_GT(policy.spin_budget(), 0ns);
}

TEST(IdlePolicy, FollowsTheLoadWhenItChanges) {
    IdlePolicy policy = make_policy();
    feed(policy, 3us, 4 * IdlePolicy::kRecomputeEvery);
    ASSERT_GT(policy.spin_budget(), 0ns);
    // The load drops: long gaps, seen after sleeps (they include the wake-up latency).
    for (uint32_t i = 0; i < 4 * IdlePolicy::kRecomputeEvery; ++i) {
        policy.record_gap_after_sleep(1ms);
    }
    EXPECT_EQ(policy.spin_budget(), 0ns);
    // And rises again: work is there as soon as we wake.
    for (uint32_t i = 0; i < 4 * IdlePolicy::kRecomputeEvery; ++i) {
        policy.record_gap_after_sleep(20us);
    }
    EXPECT_GT(policy.spin_budget(), 0ns);
}

TEST(IdlePolicy, CheapWakeUpsMakeSleepingWorthIt) {
    // On a machine where a wake-up costs 1 µs, 10 µs gaps are not worth polling through.
    IdlePolicy policy(IdlePolicy::Options{300us, 1us, 1us});
    feed(policy, 10us, IdlePolicy::kRecomputeEvery);
    EXPECT_EQ(policy.spin_budget(), 0ns);
}

TEST(IdlePolicy, NegativeOrHugeGapsAreClamped) {
    IdlePolicy policy = make_policy();
    feed(policy, -5us, IdlePolicy::kRecomputeEvery / 2);
    feed(policy, std::chrono::hours(1), IdlePolicy::kRecomputeEvery / 2);
    EXPECT_LE(policy.spin_budget(), 300us);
}

}  // namespace
}  // namespace vhostd::reactor
