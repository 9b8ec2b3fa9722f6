// Tests for DriverQueue against FakeDevice, which reads the ring from guest RAM by GPA.
#include "frontend/driver_queue.hpp"

#include <array>
#include <thread>

#include <gtest/gtest.h>

#include "base/event_fd.hpp"
#include "frontend/fake_device.hpp"

namespace vhostd::frontend {
namespace {

using testing::FakeChain;
using testing::FakeDevice;

struct Fixture {
    explicit Fixture(DriverQueue::Options options, uint64_t ram_size = 4 << 20)
        : ram(GuestRam::create(ram_size).value()),
          queue(DriverQueue::create(ram, options).value()),
          device(ram, queue) {}

    GuestRam ram;
    DriverQueue queue;
    FakeDevice device;
};

DriverQueue::Options opts(uint16_t size, bool event_idx = false, uint16_t indirect_max = 0) {
    DriverQueue::Options o;
    o.size = size;
    o.event_idx = event_idx;
    o.indirect_max = indirect_max;
    return o;
}

TEST(DriverQueue, RejectsBadSizes) {
    auto ram = GuestRam::create(1 << 20).value();
    EXPECT_FALSE(DriverQueue::create(ram, opts(0)));
    EXPECT_FALSE(DriverQueue::create(ram, opts(12)));
    EXPECT_TRUE(DriverQueue::create(ram, opts(1)));
}

TEST(DriverQueue, ChainsReachTheDeviceInOrderWithTheirDirections) {
    Fixture f(opts(8));
    const std::array<Segment, 3> segs{
        {{0x1000, 16, false}, {0x2000, 4096, true}, {0x3000, 1, true}}};
    auto head = f.queue.add(segs, 42);
    ASSERT_TRUE(head);
    EXPECT_EQ(f.queue.num_free(), 5);
    EXPECT_TRUE(f.device.pop_all().empty());  // not published yet
    EXPECT_TRUE(f.queue.publish());

    auto chains = f.device.pop_all();
    ASSERT_EQ(chains.size(), 1U);
    EXPECT_EQ(chains[0].head, *head);
    EXPECT_FALSE(chains[0].indirect);
    ASSERT_EQ(chains[0].segments.size(), 3U);
    for (size_t i = 0; i < 3; ++i) {
        EXPECT_EQ(chains[0].segments[i].gpa, segs[i].gpa);
        EXPECT_EQ(chains[0].segments[i].len, segs[i].len);
        EXPECT_EQ(chains[0].segments[i].device_writable, segs[i].device_writable);
    }

    f.device.push_used(*head, 4097);
    f.device.publish_used();
    std::array<UsedEntry, 4> used;
    auto n = f.queue.poll(used);
    ASSERT_TRUE(n);
    ASSERT_EQ(*n, 1U);
    EXPECT_EQ(used[0].cookie, 42U);
    EXPECT_EQ(used[0].len, 4097U);
    EXPECT_EQ(f.queue.num_free(), 8);
    EXPECT_EQ(f.queue.in_flight(), 0);
}

TEST(DriverQueue, FullQueueRefusesAndRecoversOutOfOrder) {
    Fixture f(opts(4));
    const std::array<Segment, 2> two{{{0x1000, 8, false}, {0x2000, 8, true}}};
    auto a = f.queue.add(two, 1);
    auto b = f.queue.add(two, 2);
    ASSERT_TRUE(a && b);
    EXPECT_FALSE(f.queue.add(two, 3));
    EXPECT_FALSE(f.queue.add({}, 3));
    f.queue.publish();
    ASSERT_EQ(f.device.pop_all().size(), 2U);

    f.device.push_used(*b, 0);  // out of order
    f.device.publish_used();
    std::array<UsedEntry, 4> used;
    ASSERT_EQ(f.queue.poll(used).value(), 1U);
    EXPECT_EQ(used[0].cookie, 2U);
    auto c = f.queue.add(two, 3);
    ASSERT_TRUE(c);
    f.queue.publish();
    ASSERT_EQ(f.device.pop_all().size(), 1U);
    f.device.push_used(*a, 0);
    f.device.push_used(*c, 0);
    f.device.publish_used();
    ASSERT_EQ(f.queue.poll(used).value(), 2U);
    EXPECT_EQ(used[0].cookie, 1U);
    EXPECT_EQ(used[1].cookie, 3U);
    EXPECT_EQ(f.queue.num_free(), 4);
}

TEST(DriverQueue, IndexesWrapAround) {
    Fixture f(opts(4));
    const std::array<Segment, 3> three{{{0x1000, 8, false}, {0x2000, 8, true}, {0x3000, 1, true}}};
    std::array<UsedEntry, 4> used;
    for (uint32_t i = 0; i < 70000; ++i) {  // past 65535: both indices wrap
        auto head = f.queue.add(three, i);
        ASSERT_TRUE(head);
        f.queue.publish();
        auto chains = f.device.pop_all();
        ASSERT_EQ(chains.size(), 1U);
        ASSERT_EQ(chains[0].segments.size(), 3U);
        f.device.push_used(chains[0].head, i);
        f.device.publish_used();
        ASSERT_EQ(f.queue.poll(used).value(), 1U);
        ASSERT_EQ(used[0].cookie, i);
    }
    EXPECT_EQ(f.queue.num_free(), 4);
}

TEST(DriverQueue, IndirectTablesTakeOneDescriptor) {
    Fixture f(opts(4, false, 8));
    std::array<Segment, 5> segs{};
    for (size_t i = 0; i < segs.size(); ++i) {
        segs[i] = {0x10000 + i * 0x1000, 512, i >= 3};
    }
    auto head = f.queue.add(segs, 7, true);
    ASSERT_TRUE(head);
    EXPECT_EQ(f.queue.num_free(), 3);
    const virtio::VringDesc& d = f.queue.desc_table()[*head];
    EXPECT_EQ(d.flags, virtio::desc_flags::kIndirect);
    EXPECT_EQ(d.len, 5 * sizeof(virtio::VringDesc));
    f.queue.publish();
    auto chains = f.device.pop_all();
    ASSERT_EQ(chains.size(), 1U);
    EXPECT_TRUE(chains[0].indirect);
    ASSERT_EQ(chains[0].segments.size(), 5U);
    EXPECT_EQ(chains[0].segments[4].gpa, 0x14000U);
    EXPECT_TRUE(chains[0].segments[4].device_writable);
    EXPECT_FALSE(chains[0].segments[2].device_writable);

    std::array<Segment, 9> too_many{};
    EXPECT_FALSE(f.queue.add(too_many, 8, true));
}

TEST(DriverQueue, KickFollowsNoNotifyFlag) {
    Fixture f(opts(8));
    const Segment seg{0x1000, 1, true};
    f.queue.add({&seg, 1}, 0);
    EXPECT_TRUE(f.queue.publish_and_kick());
    EXPECT_TRUE(drain_event_fd(f.queue.kick_fd()));
    f.device.set_no_notify(true);
    f.queue.add({&seg, 1}, 1);
    EXPECT_FALSE(f.queue.publish_and_kick());
    EXPECT_FALSE(drain_event_fd(f.queue.kick_fd()));
    EXPECT_FALSE(f.queue.publish());  // nothing new
}

TEST(DriverQueue, KickFollowsAvailEventWithEventIdx) {
    Fixture f(opts(8, true));
    const Segment seg{0x1000, 1, true};
    f.device.set_avail_event(0);  // wants a kick when avail->idx passes 0
    f.queue.add({&seg, 1}, 0);
    EXPECT_TRUE(f.queue.publish());
    f.queue.add({&seg, 1}, 1);
    EXPECT_FALSE(f.queue.publish());  // 1 -> 2 does not cross event 0
    f.device.set_avail_event(3);
    f.queue.add({&seg, 1}, 2);
    f.queue.add({&seg, 1}, 3);
    EXPECT_TRUE(f.queue.publish());  // 2 -> 4 crosses 3: one kick for the batch
}

TEST(DriverQueue, InterruptSuppressionWithFlags) {
    Fixture f(opts(8));
    const Segment seg{0x1000, 1, true};
    f.queue.disable_interrupts();
    auto h = f.queue.add({&seg, 1}, 0);
    f.queue.publish();
    f.device.pop_all();
    f.device.push_used(*h, 1);
    EXPECT_FALSE(f.device.publish_used());
    EXPECT_TRUE(f.queue.enable_interrupts());  // already pending
    std::array<UsedEntry, 1> used;
    EXPECT_EQ(f.queue.poll(used).value(), 1U);
    h = f.queue.add({&seg, 1}, 1);
    f.queue.publish();
    f.device.pop_all();
    f.device.push_used(*h, 1);
    EXPECT_TRUE(f.device.publish_used());
    EXPECT_TRUE(f.queue.wait(std::chrono::milliseconds(1000)));
}

TEST(DriverQueue, InterruptSuppressionWithEventIdx) {
    Fixture f(opts(8, true));
    const Segment seg{0x1000, 1, true};
    std::array<UsedEntry, 2> used;
    auto h = f.queue.add({&seg, 1}, 0);
    f.queue.publish();
    f.device.pop_all();
    f.device.push_used(*h, 1);
    EXPECT_TRUE(f.device.publish_used());  // used_event 0: first element interrupts
    ASSERT_EQ(f.queue.poll(used).value(), 1U);
    f.queue.disable_interrupts();
    h = f.queue.add({&seg, 1}, 1);
    f.queue.publish();
    f.device.pop_all();
    f.device.push_used(*h, 1);
    EXPECT_FALSE(f.device.publish_used());
    ASSERT_EQ(f.queue.poll(used).value(), 1U);
}

TEST(DriverQueue, WaitSleepsUntilTheCallFdFires) {
    Fixture f(opts(8, true));
    const Segment seg{0x1000, 1, true};
    auto h = f.queue.add({&seg, 1}, 0);
    f.queue.publish();
    f.device.pop_all();
    std::thread device([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        f.device.push_used(*h, 1);
        f.device.publish_used();
    });
    auto r = f.queue.wait(std::chrono::seconds(10));
    device.join();
    ASSERT_TRUE(r) << r.error().describe();
    std::array<UsedEntry, 1> used;
    EXPECT_EQ(f.queue.poll(used).value(), 1U);
}

TEST(DriverQueue, WaitTimesOutWithoutCompletions) {
    Fixture f(opts(8));
    auto r = f.queue.wait(std::chrono::milliseconds(10));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ETIMEDOUT);
}

TEST(DriverQueue, DeviceReturningAForeignHeadBreaksTheQueue) {
    Fixture f(opts(8));
    const Segment seg{0x1000, 1, true};
    auto h = f.queue.add({&seg, 1}, 0);
    f.queue.publish();
    f.device.pop_all();
    f.device.push_used(static_cast<uint16_t>(*h + 1), 1);
    f.device.publish_used();
    std::array<UsedEntry, 2> used;
    auto r = f.queue.poll(used);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, EPROTO);
    EXPECT_NE(f.queue.broken(), nullptr);
    EXPECT_FALSE(f.queue.poll(used));
}

TEST(DriverQueue, DeviceOverrunningUsedIdxBreaksTheQueue) {
    Fixture f(opts(8));
    const Segment seg{0x1000, 1, true};
    auto h = f.queue.add({&seg, 1}, 0);
    f.queue.publish();
    f.device.pop_all();
    f.device.push_used(*h, 1);
    f.device.push_used(*h, 1);
    f.device.publish_used();
    std::array<UsedEntry, 2> used;
    EXPECT_EQ(f.queue.poll(used).error().code, EPROTO);
}

TEST(DriverQueue, RawAccessWritesArbitraryRings) {
    Fixture f(opts(8));
    // A two-descriptor loop, made available by hand.
    f.queue.write_desc(0, {0x1000, 16, virtio::desc_flags::kNext, 1});
    f.queue.write_desc(1, {0x2000, 16, virtio::desc_flags::kNext, 0});
    f.queue.push_avail_raw(0);
    f.queue.publish();
    EXPECT_EQ(f.queue.avail_idx(), 1);
    auto chains = f.device.pop_all();
    ASSERT_EQ(chains.size(), 1U);
    EXPECT_EQ(chains[0].segments.size(), 8U);  // the fake device's own bound stops the loop

    // An avail index far ahead, and an out-of-range head.
    f.queue.set_avail_entry(1, 200);
    f.queue.set_avail_idx(1000);
    EXPECT_EQ(f.queue.avail_idx(), 1000);
    f.queue.set_avail_flags(virtio::kAvailFlagNoInterrupt);
    f.queue.set_used_event(77);

    f.device.push_used(5, 9);
    f.device.publish_used();
    EXPECT_EQ(f.queue.used_idx(), 1);
    EXPECT_EQ(f.queue.used_elem(0).id, 5U);
    std::array<virtio::VringUsedElem, 4> raw;
    ASSERT_EQ(f.queue.poll_raw(raw), 1U);
    EXPECT_EQ(raw[0].len, 9U);
    EXPECT_EQ(f.queue.last_used_idx(), 1);
}

}  // namespace
}  // namespace vhostd::frontend
