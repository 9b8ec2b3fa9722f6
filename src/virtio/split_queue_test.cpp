// SplitQueue: avail consumption, corruption detection, used batching and notification rules.
#include "virtio/split_queue.hpp"

#include <array>

#include <gtest/gtest.h>

#include "support/fake_driver.hpp"

namespace vhostd::virtio {
namespace {

using testing::FakeDriver;

constexpr ChainLimits kLimits{.max_descriptors = 8, .max_total_bytes = 1 << 20};

SplitQueue make_queue(FakeDriver& d, bool event_idx = false, uint16_t last_avail = 0) {
    return SplitQueue(d.ring(), *d.memory(),
                      SplitQueue::Options{
                          .event_idx = event_idx, .indirect = true, .last_avail_idx = last_avail});
}

TEST(SplitQueue, PopsHeadsInOrderAndWalksThem) {
    FakeDriver d(8);
    const uint16_t a = d.submit({{d.alloc(4), 4, true}});
    const uint16_t b = d.submit({{d.alloc(4), 4, false}, {d.alloc(4), 4, true}});
    SplitQueue q = make_queue(d);
    EXPECT_EQ(q.available(), 2);
    EXPECT_EQ(q.pop(), a);
    EXPECT_EQ(q.pop(), b);
    EXPECT_FALSE(q.pop().has_value());
    std::array<iovec, 4> iov{};
    EXPECT_EQ(q.walk(b, kLimits, iov).iov.size(), 2U);
    EXPECT_EQ(q.last_avail_idx(), 2);
}

TEST(SplitQueue, ResumesFromLastAvailIndex) {
    FakeDriver d(8);
    d.submit({{d.alloc(4), 4, true}});
    const uint16_t second = d.submit({{d.alloc(4), 4, true}});
    SplitQueue q = make_queue(d, false, /*last_avail=*/1);
    EXPECT_EQ(q.pop(), second);
    EXPECT_FALSE(q.pop().has_value());
}

TEST(SplitQueue, AvailIndexRunningTooFarAheadBreaksTheRing) {
    FakeDriver d(8);
    d.set_avail_idx(9);
    SplitQueue q = make_queue(d);
    EXPECT_EQ(q.available(), 0);
    EXPECT_TRUE(q.broken());
    EXPECT_FALSE(q.pop().has_value());
}

TEST(SplitQueue, AvailEntryOutOfRangeBreaksTheRing) {
    FakeDriver d(8);
    d.push_avail(8);
    SplitQueue q = make_queue(d);
    EXPECT_FALSE(q.pop().has_value());
    EXPECT_TRUE(q.broken());
}

TEST(SplitQueue, RingLevelChainErrorBreaksTheRing) {
    FakeDriver d(8);
    d.set_desc(0, d.alloc(4), 4, desc_flags::kNext, 0);  // loops on itself
    d.push_avail(0);
    SplitQueue q = make_queue(d);
    ASSERT_EQ(q.pop(), 0);
    std::array<iovec, 4> iov{};
    EXPECT_EQ(q.walk(0, kLimits, iov).error, ChainError::too_many_descriptors);
    EXPECT_TRUE(q.broken());
}

TEST(SplitQueue, UsedElementsBecomeVisibleOnlyWhenPublished) {
    FakeDriver d(8);
    d.submit({{d.alloc(4), 4, true}});
    d.submit({{d.alloc(4), 4, true}});
    SplitQueue q = make_queue(d);
    q.push_used(*q.pop(), 4);
    q.push_used(*q.pop(), 2);
    EXPECT_EQ(d.used_idx(), 0);
    EXPECT_TRUE(q.has_unpublished());
    EXPECT_TRUE(q.publish_used());
    EXPECT_EQ(d.used_idx(), 2);
    EXPECT_EQ(d.used_elem(1).len, 2U);
    EXPECT_FALSE(q.publish_used());  // nothing new
}

TEST(SplitQueue, NoInterruptFlagSuppressesCalls) {
    FakeDriver d(8);
    d.submit({{d.alloc(4), 4, true}});
    d.set_avail_flags(kAvailFlagNoInterrupt);
    SplitQueue q = make_queue(d);
    q.push_used(*q.pop(), 0);
    EXPECT_FALSE(q.publish_used());
}

TEST(SplitQueue, EventIndexDecidesInterrupts) {
    FakeDriver d(8);
    for (int i = 0; i < 4; ++i)
        d.submit({{d.alloc(4), 4, true}});
    SplitQueue q = make_queue(d, /*event_idx=*/true);
    d.set_used_event(2);  // interrupt me once used idx passes 2
    q.push_used(*q.pop(), 0);
    EXPECT_TRUE(q.publish_used());  // the first interrupt is always sent
    q.push_used(*q.pop(), 0);
    EXPECT_FALSE(q.publish_used());  // used 1 -> 2 does not pass event 2
    q.push_used(*q.pop(), 0);
    EXPECT_TRUE(q.publish_used());  // 2 -> 3 passes it
    q.push_used(*q.pop(), 0);
    EXPECT_FALSE(q.publish_used());
}

TEST(SplitQueue, NotificationSuppressionWithoutEventIndex) {
    FakeDriver d(8);
    SplitQueue q = make_queue(d);
    q.disable_notifications();
    EXPECT_EQ(d.used_flags(), kUsedFlagNoNotify);
    EXPECT_FALSE(q.enable_notifications());
    EXPECT_EQ(d.used_flags(), 0);
    d.submit({{d.alloc(4), 4, true}});
    EXPECT_TRUE(q.enable_notifications());  // work arrived: must not sleep
}

TEST(SplitQueue, NotificationSuppressionWithEventIndex) {
    FakeDriver d(8);
    d.submit({{d.alloc(4), 4, true}});
    SplitQueue q = make_queue(d, true);
    ASSERT_TRUE(q.pop().has_value());
    EXPECT_FALSE(q.enable_notifications());
    EXPECT_EQ(d.avail_event(), 1);  // kick when the driver passes index 1
    q.disable_notifications();
    EXPECT_EQ(d.avail_event(), 0);  // just behind: no kick for 64K requests
    EXPECT_FALSE(need_event(d.avail_event(), 2, 1));
}

TEST(SplitQueue, UsedIndexContinuesFromRing) {
    FakeDriver d(8);
    for (int i = 0; i < 3; ++i)
        d.submit({{d.alloc(4), 4, true}});
    {
        SplitQueue q = make_queue(d);
        for (int i = 0; i < 2; ++i)
            q.push_used(*q.pop(), 0);
        (void)q.publish_used();
    }
    SplitQueue restarted = make_queue(d, false, 2);
    EXPECT_EQ(restarted.used_idx(), 2);
    restarted.push_used(*restarted.pop(), 7);
    (void)restarted.publish_used();
    EXPECT_EQ(d.used_idx(), 3);
    EXPECT_EQ(d.used_elem(2).len, 7U);
}

TEST(SplitQueue, NonPowerOfTwoSizeIsRefused) {
    FakeDriver d(8);
    SplitRing ring = d.ring();
    ring.size = 6;
    SplitQueue q(ring, *d.memory(), {});
    EXPECT_TRUE(q.broken());
}

TEST(SplitQueue, WrapsAroundTheSixteenBitIndex) {
    FakeDriver d(4);
    SplitQueue q = make_queue(d, false, 65534);
    d.set_avail_idx(65534);
    for (int round = 0; round < 4; ++round) {
        const uint16_t head = d.submit({{d.alloc(4), 4, true}});
        EXPECT_EQ(q.pop(), head);
        q.push_used(head, 1);
        (void)q.publish_used();
    }
    EXPECT_EQ(q.last_avail_idx(), 2);
    EXPECT_FALSE(q.broken());
}

}  // namespace
}  // namespace vhostd::virtio
