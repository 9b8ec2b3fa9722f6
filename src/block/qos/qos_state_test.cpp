// QoS: SPDK's validation rules, per-timeslice I/O and byte budgets, byte debt paid from the
// next slice, unused tokens not carried over, only reads and writes limited, 0 lifting a limit.
#include "block/qos/qos_state.hpp"

#include <gtest/gtest.h>

namespace vhostd::block::qos {
namespace {

constexpr uint64_t kMs = 1'000'000;  // ticks (ns)

IoRequest rw(IoType type, uint64_t length) {
    IoRequest r;
    r.type = type;
    r.length = length;
    return r;
}

// How many `r` requests one timeslice admits, starting at `slice`.
int admitted_in_slice(QosState& qos, const IoRequest& r, uint64_t slice) {
    int n = 0;
    while (n < 100000 && qos.admit(r, slice * kMs + 10)) {
        ++n;
    }
    return n;
}

TEST(QosLimits, FollowsSpdkRules) {
    EXPECT_TRUE(validate({}).has_value());
    EXPECT_TRUE(validate({.rw_ios_per_sec = 5000}).has_value());
    EXPECT_FALSE(validate({.rw_ios_per_sec = 1500}).has_value());
    EXPECT_FALSE(validate({.rw_ios_per_sec = 999}).has_value());
    EXPECT_TRUE(validate({.w_mbytes_per_sec = 1}).has_value());
    EXPECT_FALSE(validate({.r_mbytes_per_sec = UINT64_MAX}).has_value());
}

TEST(QosState, OffAdmitsEverything) {
    QosState qos;
    EXPECT_FALSE(qos.enabled());
    EXPECT_EQ(admitted_in_slice(qos, rw(IoType::read, 4096), 1), 100000);
}

TEST(TokenBucket, IoLimitIsSpentPerMillisecond) {
    QosState qos;
    qos.set_limits({.rw_ios_per_sec = 5000});
    EXPECT_TRUE(qos.enabled());
    const IoRequest r = rw(IoType::write, 4096);
    for (uint64_t slice = 1; slice < 20; ++slice) {
        EXPECT_EQ(admitted_in_slice(qos, r, slice), 5) << slice;
    }
    // Idle slices do not build up a burst.
    EXPECT_EQ(admitted_in_slice(qos, r, 1000), 5);
}

TEST(TokenBucket, ByteLimitMayOverdrawOnceAndPaysItBack) {
    QosState qos;
    qos.set_limits({.rw_mbytes_per_sec = 1});  // 1048 bytes per slice
    const IoRequest big = rw(IoType::read, 4096);
    EXPECT_EQ(admitted_in_slice(qos, big, 1), 1);  // overdraws to 1048 - 4096
    EXPECT_EQ(admitted_in_slice(qos, big, 2), 0);  // still in debt
    EXPECT_EQ(admitted_in_slice(qos, big, 3), 0);
    EXPECT_EQ(admitted_in_slice(qos, big, 4), 1);  // debt paid after three slices
}

TEST(QosState, ReadAndWriteLimitsApartAndOtherTypesPass) {
    QosState qos;
    qos.set_limits({.w_mbytes_per_sec = 1});
    EXPECT_EQ(admitted_in_slice(qos, rw(IoType::read, 4096), 1), 100000);
    EXPECT_EQ(admitted_in_slice(qos, rw(IoType::write, 512), 1), 3);  // 1048 / 512, + overdraw
    EXPECT_TRUE(qos.admit(rw(IoType::flush, 0), 1 * kMs + 20));
    EXPECT_TRUE(qos.admit(rw(IoType::discard, 1 << 20), 1 * kMs + 20));
}

TEST(QosState, ZeroLiftsTheLimit) {
    QosState qos;
    qos.set_limits({.rw_ios_per_sec = 1000});
    EXPECT_EQ(admitted_in_slice(qos, rw(IoType::read, 512), 1), 1);
    qos.set_limits({});
    EXPECT_FALSE(qos.enabled());
    EXPECT_EQ(qos.limits(), QosLimits{});
}

}  // namespace
}  // namespace vhostd::block::qos
