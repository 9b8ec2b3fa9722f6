// PackedQueue: fetching lists with wrap counters at every queue size, buffer IDs, chains and
// indirect tables, hostile descriptors, batched used descriptors and event suppression.
#include "virtio/packed_queue.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <deque>

#include <gtest/gtest.h>

#include "support/fake_packed_driver.hpp"

namespace vhostd::virtio {
namespace {

using frontend::PackedDriverRing;
using testing::FakePackedDriver;

constexpr ChainLimits kLimits{.max_descriptors = 64, .max_total_bytes = 1 << 24};

PackedQueue make_queue(FakePackedDriver& d, bool event_idx = false, PackedBase base = {}) {
    return PackedQueue(
        d.ring(), *d.memory(),
        PackedQueue::Options{.event_idx = event_idx, .indirect = true, .base = base});
}

std::vector<uint32_t> take_all(PackedQueue& q, size_t max = 64) {
    std::vector<uint32_t> ids(max);
    ids.resize(q.take(ids));
    return ids;
}

TEST(PackedQueue, TakesListsInRingOrderAndWalksThem) {
    FakePackedDriver d(8);
    const uint64_t a_buf = d.alloc(16);
    const uint16_t a = d.submit({{a_buf, 16, true}});
    const uint16_t b =
        d.submit({{d.alloc(4), 4, false}, {d.alloc(8), 8, false}, {d.alloc(1), 1, true}});
    PackedQueue q = make_queue(d);
    const auto ids = take_all(q);
    ASSERT_EQ(ids, (std::vector<uint32_t>{a, b}));
    std::array<iovec, 8> iov{};
    DescriptorChain chain = q.walk(a, kLimits, iov);
    EXPECT_EQ(chain.error, ChainError::none);
    EXPECT_EQ(chain.head, a);
    ASSERT_EQ(chain.iov.size(), 1U);
    EXPECT_EQ(chain.iov[0].iov_base, d.host(a_buf));
    EXPECT_EQ(chain.writable_bytes, 16U);
    chain = q.walk(b, kLimits, iov);
    EXPECT_EQ(chain.readable_bytes, 12U);
    EXPECT_EQ(chain.writable_bytes, 1U);
    EXPECT_EQ(chain.descriptors, 3U);
    EXPECT_EQ(q.avail_position(), (PackedPosition{4, true}));
}

TEST(PackedQueue, IndirectTableIsWalkedInOrderAndTakesOneSlot) {
    FakePackedDriver d(4, false, 8);
    const uint16_t id = d.submit(
        {{d.alloc(16), 16, false}, {d.alloc(512), 512, true}, {d.alloc(1), 1, true}}, true);
    PackedQueue q = make_queue(d);
    ASSERT_EQ(take_all(q), std::vector<uint32_t>{id});
    std::array<iovec, 8> iov{};
    const DescriptorChain chain = q.walk(id, kLimits, iov);
    EXPECT_EQ(chain.error, ChainError::none);
    EXPECT_EQ(chain.readable_bytes, 16U);
    EXPECT_EQ(chain.writable_bytes, 513U);
    EXPECT_EQ(chain.descriptors, 4U);  // the ring descriptor and three entries
    EXPECT_EQ(q.avail_position(), (PackedPosition{1, true}));
}

TEST(PackedQueue, CompletionOutOfOrderNamesBufferIdsAndSkipsListSlots) {
    FakePackedDriver d(8);
    const uint16_t a = d.submit({{d.alloc(4), 4, false}, {d.alloc(4), 4, true}});  // 2 slots
    const uint16_t b = d.submit({{d.alloc(4), 4, true}});                          // 1 slot
    PackedQueue q = make_queue(d);
    ASSERT_EQ(take_all(q).size(), 2U);
    q.push_used(b, 3);  // b first: its used descriptor overwrites a's first slot
    q.push_used(a, 0);
    EXPECT_TRUE(q.publish_used());
    auto first = d.pop_used();
    ASSERT_TRUE(first);
    EXPECT_EQ(first->head, b);
    EXPECT_EQ(first->len, 3U);
    auto second = d.pop_used();
    ASSERT_TRUE(second);
    EXPECT_EQ(second->head, a);
    EXPECT_EQ(second->len, 0U);  // no WRITE flag: nothing written
    EXPECT_EQ(q.used_position(), (PackedPosition{3, true}));
    EXPECT_EQ(d.driver().next_used(), (PackedDriverRing::Position{3, true}));
}

TEST(PackedQueue, BatchBecomesVisibleOnlyWhenItsFirstFlagsAreWritten) {
    FakePackedDriver d(8);
    const uint16_t a = d.submit({{d.alloc(4), 4, true}});
    const uint16_t b = d.submit({{d.alloc(4), 4, true}});
    PackedQueue q = make_queue(d);
    ASSERT_EQ(take_all(q).size(), 2U);
    q.push_used(a, 4);
    q.push_used(b, 4);
    // The second used descriptor is written, the first's flags are not: the driver, which
    // polls only its next slot, sees nothing yet.
    const PackedDesc slot1 = d.driver().read_desc(1);
    EXPECT_NE(slot1.flags & desc_flags::kUsed, 0);
    EXPECT_FALSE(d.driver().has_used());
    (void)q.publish_used();
    EXPECT_TRUE(d.driver().has_used());
}

// Sizes 1..32768: every power of two and a few others (2.8: any size). Each runs three laps of
// lists of 1..3 descriptors, completed in reverse order within each batch, and checks that the
// driver gets every buffer back exactly once and both sides agree on the positions.
TEST(PackedQueue, WrapsAroundAtEveryQueueSize) {
    std::vector<uint16_t> sizes;
    for (uint32_t s = 1; s <= kMaxPackedQueueSize; s *= 2) {
        sizes.push_back(static_cast<uint16_t>(s));
    }
    for (uint16_t s : {3, 5, 7, 100, 1000, 32767}) {
        sizes.push_back(s);
    }
    for (uint16_t size : sizes) {
        SCOPED_TRACE(size);
        FakePackedDriver d(size, false, 0, (size_t{size} * 16 + (1 << 20) + 4095) / 4096 * 4096);
        PackedQueue q = make_queue(d);
        const uint64_t data = d.alloc(4096);
        const uint32_t total = std::max<uint32_t>(3U * size, 8);
        uint32_t submitted = 0;
        uint32_t completed = 0;
        std::deque<uint64_t> expected;
        std::array<iovec, 8> iov{};
        while (completed < total) {
            // Driver: fill what fits (lists of 1..3 descriptors, never more than the ring).
            while (submitted < total) {
                const uint16_t len = std::min<uint16_t>(1 + submitted % 3, size);
                std::vector<frontend::Segment> list;
                for (uint16_t k = 0; k < len; ++k) {
                    list.push_back({data + 8 * k, 8, k + 1 == len});
                }
                if (!d.driver().add(list, submitted, false)) {
                    break;
                }
                ++submitted;
            }
            (void)d.driver().publish();
            // Device: take a batch, complete it in reverse.
            std::vector<uint32_t> ids(std::min<uint32_t>(32, size));
            ids.resize(q.take(ids));
            ASSERT_FALSE(q.broken()) << q.broken_reason();
            ASSERT_FALSE(ids.empty());
            for (uint32_t id : ids) {
                ASSERT_EQ(q.walk(static_cast<uint16_t>(id), kLimits, iov).error, ChainError::none);
            }
            std::reverse(ids.begin(), ids.end());
            for (uint32_t id : ids) {
                q.push_used(static_cast<uint16_t>(id), 1);
            }
            (void)q.publish_used();
            std::array<frontend::UsedEntry, 32> used{};
            const auto n = d.driver().poll(used);
            ASSERT_TRUE(n.has_value()) << n.error().describe();
            ASSERT_EQ(*n, ids.size());
            completed += static_cast<uint32_t>(*n);
        }
        EXPECT_EQ(d.driver().in_flight(), 0);
        // All used: the positions meet where the driver will add next.
        EXPECT_EQ(q.avail_position(), q.used_position());
        EXPECT_EQ(q.used_position().index, d.driver().next_avail().index);
        EXPECT_EQ(q.used_position().wrap, d.driver().next_avail().wrap);
        EXPECT_EQ(d.driver().next_used(), d.driver().next_avail());
    }
}

TEST(PackedQueue, RingBaseCarriesBothPositionsWithWrapCounters) {
    FakePackedDriver d(4);
    PackedQueue q = make_queue(d);
    for (int round = 0; round < 5; ++round) {
        const uint16_t id = d.submit({{d.alloc(4), 4, true}});
        ASSERT_EQ(take_all(q).size(), 1U);
        q.push_used(id, 1);
        (void)q.publish_used();
        ASSERT_TRUE(d.pop_used());
    }
    // Five slots into a ring of four: slot 1 of the second lap (wrap counter 0).
    EXPECT_EQ(q.ring_base(), 0x00010001U);
    const PackedBase base = PackedBase::decode(q.ring_base());
    EXPECT_EQ(base.avail, (PackedPosition{1, false}));
    EXPECT_EQ(base.used, (PackedPosition{1, false}));
    EXPECT_EQ(PackedBase{}.encode(), 0x80008000U);  // what QEMU sends for a new ring

    // A queue restarted from that base continues in the driver's lap.
    const uint16_t id = d.submit({{d.alloc(4), 4, true}});
    PackedQueue restarted = make_queue(d, false, base);
    ASSERT_EQ(take_all(restarted), std::vector<uint32_t>{id});
}

// --- hostile drivers ---

TEST(PackedQueue, ListLongerThanTheQueueBreaksTheRing) {
    FakePackedDriver d(4);
    const uint64_t buf = d.alloc(4);
    for (uint16_t slot = 0; slot < 4; ++slot) {
        d.driver().write_desc(
            slot, {buf, 4, 0,
                   static_cast<uint16_t>(desc_flags::kNext | PackedDriverRing::avail_flags(true))});
    }
    PackedQueue q = make_queue(d);
    EXPECT_TRUE(take_all(q).empty());
    EXPECT_TRUE(q.broken());
}

TEST(PackedQueue, BufferIdOutOfRangeBreaksTheRing) {
    FakePackedDriver d(4);
    d.driver().write_desc(0, {d.alloc(4), 4, 4, PackedDriverRing::avail_flags(true)});
    PackedQueue q = make_queue(d);
    EXPECT_TRUE(take_all(q).empty());
    EXPECT_TRUE(q.broken());
    EXPECT_STREQ(q.broken_reason(), to_string(ChainError::bad_buffer_id));
}

TEST(PackedQueue, BufferIdReusedWhileInFlightBreaksTheRing) {
    FakePackedDriver d(4);
    const uint64_t buf = d.alloc(4);
    d.driver().write_desc(1, {buf, 4, 2, PackedDriverRing::avail_flags(true)});
    d.driver().write_desc(0, {buf, 4, 2, PackedDriverRing::avail_flags(true)});
    PackedQueue q = make_queue(d);
    EXPECT_EQ(take_all(q), std::vector<uint32_t>{2});
    EXPECT_TRUE(q.broken());
    // Once used, the ID may come back.
    FakePackedDriver d2(4);
    d2.driver().write_desc(0, {buf, 4, 2, PackedDriverRing::avail_flags(true)});
    PackedQueue q2 = make_queue(d2);
    ASSERT_EQ(take_all(q2), std::vector<uint32_t>{2});
    q2.push_used(2, 0);
    (void)q2.publish_used();
    d2.driver().write_desc(1, {buf, 4, 2, PackedDriverRing::avail_flags(true)});
    EXPECT_EQ(take_all(q2), std::vector<uint32_t>{2});
    EXPECT_FALSE(q2.broken());
}

TEST(PackedQueue, DescriptorsNotAvailableInThisLapAreNotTaken) {
    FakePackedDriver d(4);
    const uint64_t buf = d.alloc(4);
    // Zeroed ring; then flags of the wrong lap, and a used-looking descriptor.
    PackedQueue q = make_queue(d);
    EXPECT_TRUE(take_all(q).empty());
    d.driver().write_desc(0, {buf, 4, 0, PackedDriverRing::avail_flags(false)});
    EXPECT_TRUE(take_all(q).empty());
    d.driver().write_desc(0, {buf, 4, 0, desc_flags::kAvail | desc_flags::kUsed});
    EXPECT_TRUE(take_all(q).empty());
    EXPECT_FALSE(q.broken());
}

TEST(PackedQueue, IndirectDescriptorInsideANextListBreaksTheRing) {
    FakePackedDriver d(4, false, 4);
    const uint64_t table = d.alloc(32);
    const uint16_t a = PackedDriverRing::avail_flags(true);
    d.driver().write_desc(1, {table, 32, 1, static_cast<uint16_t>(desc_flags::kIndirect | a)});
    d.driver().write_desc(0, {d.alloc(4), 4, 1, static_cast<uint16_t>(desc_flags::kNext | a)});
    PackedQueue q = make_queue(d);
    ASSERT_EQ(take_all(q), std::vector<uint32_t>{1});
    std::array<iovec, 8> iov{};
    EXPECT_EQ(q.walk(1, kLimits, iov).error, ChainError::indirect_with_next);
    EXPECT_TRUE(q.broken());
}

TEST(PackedQueue, BadIndirectTablesBreakTheRing) {
    struct Case {
        uint32_t len;
        bool in_memory;
        bool negotiated;
    };
    for (const Case& c : {Case{0, true, true}, Case{24, true, true}, Case{32, false, true},
                          Case{32, true, false}, Case{16 * 65, true, true}}) {
        FakePackedDriver d(4, false, 4);
        const uint64_t table = c.in_memory ? d.alloc(16 * 65) : 0x10;
        d.driver().write_desc(0, {table, c.len, 0,
                                  static_cast<uint16_t>(desc_flags::kIndirect |
                                                        PackedDriverRing::avail_flags(true))});
        PackedQueue q(d.ring(), *d.memory(), PackedQueue::Options{.indirect = c.negotiated});
        ASSERT_EQ(take_all(q), std::vector<uint32_t>{0});
        std::array<iovec, 8> iov{};
        EXPECT_EQ(q.walk(0, kLimits, iov).error, ChainError::bad_indirect_table) << c.len;
        EXPECT_TRUE(q.broken());
    }
}

TEST(PackedQueue, FlagsInsideAnIndirectTableOtherThanWriteAreIgnored) {
    FakePackedDriver d(4, false, 4);
    const uint64_t table = d.alloc(32);
    // 2.8.7: NEXT and INDIRECT in a table entry are reserved: no nesting, no links.
    const PackedDesc entries[2] = {
        {d.alloc(8), 8, 77, static_cast<uint16_t>(desc_flags::kIndirect | desc_flags::kNext)},
        {d.alloc(1), 1, 99, desc_flags::kWrite}};
    std::memcpy(d.host(table), entries, sizeof(entries));
    d.driver().write_desc(
        0, {table, 32, 0,
            static_cast<uint16_t>(desc_flags::kIndirect | PackedDriverRing::avail_flags(true))});
    PackedQueue q = make_queue(d);
    ASSERT_EQ(take_all(q).size(), 1U);
    std::array<iovec, 8> iov{};
    const DescriptorChain chain = q.walk(0, kLimits, iov);
    EXPECT_EQ(chain.error, ChainError::none);
    EXPECT_EQ(chain.readable_bytes, 8U);
    EXPECT_EQ(chain.writable_bytes, 1U);
    EXPECT_FALSE(q.broken());
}

TEST(PackedQueue, RequestLevelErrorsKeepTheRing) {
    FakePackedDriver d(8);
    // A buffer outside guest memory, and device-readable after device-writable.
    const uint16_t a = d.submit({{0x10, 4, false}, {d.alloc(1), 1, true}});
    const uint16_t b = d.submit({{d.alloc(4), 4, true}, {d.alloc(4), 4, false}});
    PackedQueue q = make_queue(d);
    ASSERT_EQ(take_all(q).size(), 2U);
    std::array<iovec, 8> iov{};
    const DescriptorChain ca = q.walk(a, kLimits, iov);
    EXPECT_EQ(ca.error, ChainError::bad_address);
    EXPECT_TRUE(ca.last.writable);  // the status byte is still known
    EXPECT_EQ(q.walk(b, kLimits, iov).error, ChainError::readable_after_writable);
    EXPECT_FALSE(q.broken());
}

TEST(PackedQueue, LongListIsCutAtTheDescriptorLimit) {
    FakePackedDriver d(16);
    std::vector<testing::Segment> list(10, {d.alloc(4), 4, true});
    const uint16_t id = d.submit(list);
    PackedQueue q = make_queue(d);
    ASSERT_EQ(take_all(q).size(), 1U);
    std::array<iovec, 16> iov{};
    EXPECT_EQ(q.walk(id, {.max_descriptors = 4, .max_total_bytes = 1 << 20}, iov).error,
              ChainError::too_many_descriptors);
    EXPECT_TRUE(q.broken());
}

TEST(PackedQueue, CompletingABufferNotInFlightBreaksTheRing) {
    FakePackedDriver d(4);
    PackedQueue q = make_queue(d);
    q.push_used(3, 0);
    EXPECT_TRUE(q.broken());
}

TEST(PackedQueue, BaseOutsideTheRingBreaksIt) {
    FakePackedDriver d(4);
    PackedQueue q = make_queue(d, false, PackedBase{{4, true}, {0, true}});
    EXPECT_TRUE(q.broken());
}

TEST(PackedQueue, ListsCrossingTheRingEndAreTakenWholeInOneBatch) {
    FakePackedDriver d(4);
    d.submit({{d.alloc(4), 4, true}});
    d.submit({{d.alloc(4), 4, true}});
    PackedQueue q = make_queue(d);
    ASSERT_EQ(take_all(q).size(), 2U);
    q.push_used(0, 0);
    q.push_used(1, 0);
    (void)q.publish_used();
    (void)d.pop_used();
    (void)d.pop_used();
    // Slots 2, 3 then 0 (next lap): the third list wraps; all three fit one batch.
    d.submit({{d.alloc(4), 4, true}});
    d.submit({{d.alloc(4), 4, true}, {d.alloc(4), 4, true}});
    const auto ids = take_all(q);
    EXPECT_EQ(ids.size(), 2U);
    EXPECT_EQ(q.avail_position(), (PackedPosition{1, false}));
}

// --- event suppression ---

TEST(PackedQueue, DriverEventFlagsDecideInterrupts) {
    FakePackedDriver d(8, true);
    PackedQueue q = make_queue(d, /*event_idx=*/true);
    d.driver().disable_interrupts();  // the test sets the driver event area itself
    auto complete_one = [&] {
        const uint16_t id = d.submit({{d.alloc(4), 4, true}});
        EXPECT_EQ(take_all(q).size(), 1U);
        q.push_used(id, 1);
        const bool interrupt = q.publish_used();
        (void)d.pop_used();
        return interrupt;
    };
    d.driver().set_driver_event(0, ring_event::kEnable);
    EXPECT_TRUE(complete_one());
    d.driver().set_driver_event(0, ring_event::kDisable);
    EXPECT_FALSE(complete_one());
    // DESC: only once the used descriptor at the event slot (this lap) is written.
    d.driver().set_driver_event(0x8000 | 4, ring_event::kDesc);
    EXPECT_FALSE(complete_one());  // slot 2
    EXPECT_FALSE(complete_one());  // slot 3
    EXPECT_TRUE(complete_one());   // slot 4
    EXPECT_FALSE(complete_one());  // slot 5
    // An event in the next lap (wrap counter 0) at slot 1: slots 6, 7, 0 pass, 1 reaches it.
    d.driver().set_driver_event(1, ring_event::kDesc);
    EXPECT_FALSE(complete_one());
    EXPECT_FALSE(complete_one());
    EXPECT_FALSE(complete_one());
    EXPECT_TRUE(complete_one());
    // Reserved value 3: interrupt.
    d.driver().set_driver_event(0, 3);
    EXPECT_TRUE(complete_one());
}

TEST(PackedQueue, DescEventIsIgnoredWithoutEventIdx) {
    FakePackedDriver d(8);
    PackedQueue q = make_queue(d, /*event_idx=*/false);
    d.driver().set_driver_event(0x8000 | 6, ring_event::kDesc);
    const uint16_t id = d.submit({{d.alloc(4), 4, true}});
    ASSERT_EQ(take_all(q).size(), 1U);
    q.push_used(id, 1);
    EXPECT_TRUE(q.publish_used());
}

TEST(PackedQueue, BatchCrossingTheRingEndReachesAnEventInTheNewLap) {
    FakePackedDriver d(4, true);
    PackedQueue q = make_queue(d, true);
    for (int i = 0; i < 3; ++i) {
        const uint16_t id = d.submit({{d.alloc(4), 4, true}});
        ASSERT_EQ(take_all(q).size(), 1U);
        q.push_used(id, 1);
        (void)q.publish_used();
        (void)d.pop_used();
    }
    // used at slot 3 (lap 1); a batch of two ends at slot 1 of lap 0, passing slot 0.
    const uint16_t a = d.submit({{d.alloc(4), 4, true}});
    const uint16_t b = d.submit({{d.alloc(4), 4, true}});
    ASSERT_EQ(take_all(q).size(), 2U);
    d.driver().set_driver_event(0, ring_event::kDesc);
    q.push_used(a, 1);
    q.push_used(b, 1);
    EXPECT_TRUE(q.publish_used());
}

TEST(PackedQueue, DeviceEventAreaAsksForKicksAsConfigured) {
    {
        FakePackedDriver d(8, false);
        PackedQueue q = make_queue(d, false);
        q.disable_notifications();
        EXPECT_EQ(d.driver().device_event().flags, ring_event::kDisable);
        EXPECT_FALSE(q.enable_notifications());
        EXPECT_EQ(d.driver().device_event().flags, ring_event::kEnable);
        // The driver now kicks; work that arrived meanwhile is reported.
        d.driver().add(std::vector<frontend::Segment>{{d.alloc(4), 4, true}}, 0);
        EXPECT_TRUE(d.driver().publish());
        EXPECT_TRUE(q.enable_notifications());
    }
    {
        FakePackedDriver d(8, true);
        PackedQueue q = make_queue(d, true);
        q.disable_notifications();
        // Disabled: the driver does not kick.
        d.driver().add(std::vector<frontend::Segment>{{d.alloc(4), 4, true}}, 0);
        EXPECT_FALSE(d.driver().publish());
        ASSERT_EQ(take_all(q).size(), 1U);
        EXPECT_FALSE(q.enable_notifications());
        const EventSuppress ev = d.driver().device_event();
        EXPECT_EQ(ev.flags, ring_event::kDesc);
        EXPECT_EQ(ev.off_wrap, 0x8000 | 1);  // the next descriptor, lap 1
        d.driver().add(std::vector<frontend::Segment>{{d.alloc(4), 4, true}}, 0);
        EXPECT_TRUE(d.driver().publish());  // reaches the event: kick
    }
}

}  // namespace
}  // namespace vhostd::virtio
