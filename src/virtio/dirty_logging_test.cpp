// Dirty logging on a running queue (live migration): every guest page the device writes (the
// buffers a request wrote, used elements and index, packed descriptors written back, event
// areas) is marked before the driver can see the completion; nothing else is; nothing is
// marked without a log; a log cut off under its mapping stops the queue unpublished.
#include <array>
#include <set>
#include <vector>

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include "guest_memory/dirty_log.hpp"
#include "support/fake_driver.hpp"
#include "support/fake_packed_driver.hpp"
#include "virtio/running_queue.hpp"

namespace vhostd::virtio {
namespace {

using guest_memory::DirtyLog;
using testing::FakeDriver;
using testing::FakePackedDriver;
using testing::Segment;

constexpr uint64_t kPage = DirtyLog::kPageSize;

// A log big enough for the fake drivers' RAM (below 4 MiB), kept in a vector.
struct Bitmap {
    std::vector<uint64_t> words = std::vector<uint64_t>(16);  // 1024 pages
    DirtyLog::Ptr log = DirtyLog::borrow(words.data(), words.size() * 8);

    [[nodiscard]] std::set<uint64_t> pages() const {
        std::set<uint64_t> set;
        for (uint64_t p = 0; p < words.size() * 64; ++p) {
            if (((words[p / 64] >> (p % 64)) & 1) != 0) {
                set.insert(p);
            }
        }
        return set;
    }
    void clear() { std::fill(words.begin(), words.end(), 0); }
};

void add_pages(std::set<uint64_t>& set, uint64_t gpa, uint64_t len) {
    for (uint64_t p = gpa / kPage; p <= (gpa + len - 1) / kPage; ++p) {
        set.insert(p);
    }
}

// Takes every available request, walks it and completes it as a device would: the writable
// buffers are logged, then the used element pushed; then the ring is flushed.
size_t serve(RunningQueue& queue) {
    std::array<uint32_t, 16> heads{};
    const size_t n = queue.ring().take(heads);
    for (size_t i = 0; i < n; ++i) {
        std::array<iovec, 8> storage{};
        DescriptorChain chain =
            queue.ring().walk(static_cast<uint16_t>(heads[i]), {8, 1 << 20}, storage);
        EXPECT_EQ(chain.error, ChainError::none);
        queue.log_written(chain.writable());
        queue.ring().push_used(static_cast<uint16_t>(heads[i]), chain.writable_bytes);
    }
    queue.flush_used();
    return n;
}

class SplitLoggingTest : public ::testing::Test {
  protected:
    // Two adjacent regions so a buffer can cross them.
    FakeDriver driver{8, 1 << 20, 1 << 19};
    Bitmap bitmap;

    RunningQueue make_queue(DirtyLog::Ptr log, bool log_used) {
        VirtqueueConfig config;
        config.ring = driver.ring();
        config.memory = driver.memory();
        config.log = std::move(log);
        if (log_used) {
            config.used_log_gpa = used_gpa();
        }
        return RunningQueue(std::move(config));
    }
    uint64_t used_gpa() { return driver.memory()->gpa_of(driver.ring().used, 1).value(); }
};

TEST_F(SplitLoggingTest, MarksEveryWrittenPageAndNothingElse) {
    RunningQueue queue = make_queue(bitmap.log, true);
    queue.leave_interrupt_mode();
    bitmap.clear();  // only what requests write from here on

    std::set<uint64_t> expected;
    // Readable headers (never marked) and writable buffers at awkward places: within a page,
    // across pages, across the two regions, several pages long.
    const uint64_t header = driver.alloc(16);
    const uint64_t small = driver.alloc(100);
    const uint64_t straddle = driver.alloc(2 * kPage, kPage) + kPage - 10;
    const uint64_t across = FakeDriver::kRamBase + (1 << 19) - 300;  // crosses the regions
    const uint64_t big = driver.alloc(6 * kPage, kPage) + 3;
    const uint64_t status = driver.alloc(1);
    const std::vector<std::vector<Segment>> requests{
        {{header, 16, false}, {small, 100, true}},
        {{header, 16, false}, {straddle, 20, true}, {status, 1, true}},
        {{header, 16, false}, {across, 600, true}},
        {{header, 16, false}, {big, 5 * kPage, true}},
        {{header, 16, false}},  // writes nothing
    };
    for (const auto& segments : requests) {
        driver.submit(segments);
        for (const Segment& s : segments) {
            if (s.writable) {
                add_pages(expected, s.gpa, s.len);
            }
        }
    }
    ASSERT_EQ(serve(queue), requests.size());
    // The used ring: the elements written and the index.
    add_pages(expected, used_gpa() + 4, 8 * requests.size());
    add_pages(expected, used_gpa() + 2, 2);
    EXPECT_EQ(bitmap.pages(), expected);
    EXPECT_EQ(bitmap.log->misses(), 0U);
    EXPECT_EQ(driver.used_idx(), requests.size());
}

TEST_F(SplitLoggingTest, MarksTheUsedRingBeforeTheIndexMoves) {
    RunningQueue queue = make_queue(bitmap.log, true);
    bitmap.clear();
    driver.submit({{driver.alloc(16), 16, true}});
    std::array<uint32_t, 1> heads{};
    ASSERT_EQ(queue.ring().take(heads), 1U);
    queue.ring().push_used(static_cast<uint16_t>(heads[0]), 16);
    // Pushed, not yet published: the element's page is already marked.
    std::set<uint64_t> element;
    add_pages(element, used_gpa() + 4, 8);
    EXPECT_EQ(bitmap.pages(), element);
    EXPECT_EQ(driver.used_idx(), 0);
    queue.flush_used();
    EXPECT_EQ(driver.used_idx(), 1);
}

TEST_F(SplitLoggingTest, NotificationStateWritesAreLogged) {
    RunningQueue queue = make_queue(bitmap.log, true);
    bitmap.clear();
    (void)queue.enter_interrupt_mode();  // writes used->flags
    std::set<uint64_t> flags;
    add_pages(flags, used_gpa(), 2);
    EXPECT_EQ(bitmap.pages(), flags);
}

TEST_F(SplitLoggingTest, WithoutUsedRingLoggingOnlyDataIsMarked) {
    // VHOST_VRING_F_LOG off: the spec marks used-ring writes only with the flag.
    RunningQueue queue = make_queue(bitmap.log, false);
    bitmap.clear();
    const uint64_t data = driver.alloc(3 * kPage, kPage);
    driver.submit({{data, 3 * kPage, true}});
    ASSERT_EQ(serve(queue), 1U);
    std::set<uint64_t> expected;
    add_pages(expected, data, 3 * kPage);
    EXPECT_EQ(bitmap.pages(), expected);
}

TEST_F(SplitLoggingTest, NoLogNoMarks) {
    RunningQueue queue = make_queue(nullptr, false);
    EXPECT_FALSE(queue.logging());
    driver.submit({{driver.alloc(64), 64, true}});
    ASSERT_EQ(serve(queue), 1U);
    EXPECT_TRUE(bitmap.pages().empty());
    EXPECT_EQ(driver.used_idx(), 1);
}

TEST_F(SplitLoggingTest, ALogCutOffStopsTheQueueUnpublished) {
    // The frontend truncates the log's memfd: the mark takes the fault (contained), and the
    // completion it was for is never published.
    UniqueFd fd(::memfd_create("dirty-log", MFD_CLOEXEC));
    ASSERT_TRUE(fd.valid());
    ASSERT_EQ(::ftruncate(fd.get(), 4096), 0);
    const int raw = fd.get();
    auto log = DirtyLog::map(UniqueFd(::dup(raw)), 4096, 0);
    ASSERT_TRUE(log.has_value());
    RunningQueue queue = make_queue(*log, true);
    ASSERT_EQ(::ftruncate(raw, 0), 0);
    driver.submit({{driver.alloc(64), 64, true}});
    EXPECT_EQ(serve(queue), 1U);
    EXPECT_TRUE((*log)->faulted());
    EXPECT_TRUE(queue.broken());
    EXPECT_EQ(driver.used_idx(), 0);
}

TEST(PackedLoggingTest, MarksDescriptorsWrittenBackAndData) {
    FakePackedDriver driver(8, true);
    Bitmap bitmap;
    VirtqueueConfig config;
    config.features = bit(feature::kRingPacked) | bit(feature::kEventIdx);
    config.packed = driver.ring();
    config.memory = driver.memory();
    config.log = bitmap.log;
    // 2.8.1: both wrap counters start at 1.
    config.base = PackedBase{}.encode();
    RunningQueue queue(std::move(config));
    const uint64_t desc_gpa =
        driver.memory()->gpa_of(driver.ring().desc, 8 * sizeof(PackedDesc)).value();
    const uint64_t event_gpa = driver.memory()->gpa_of(driver.ring().device_event, 4).value();
    queue.leave_interrupt_mode();
    bitmap.clear();

    std::set<uint64_t> expected;
    const uint64_t data = driver.alloc(2 * kPage, kPage) + 100;
    driver.submit({{driver.alloc(16), 16, false}, {data, 2 * kPage, true}});
    driver.submit({{driver.alloc(16), 16, false}});
    add_pages(expected, data, 2 * kPage);
    ASSERT_EQ(serve(queue), 2U);
    // Two descriptors written back, at slots 0 and 2 (the first list had two descriptors).
    add_pages(expected, desc_gpa, sizeof(PackedDesc));
    add_pages(expected, desc_gpa + 2 * sizeof(PackedDesc), sizeof(PackedDesc));
    EXPECT_EQ(bitmap.pages(), expected);
    ASSERT_TRUE(driver.pop_used().has_value());

    bitmap.clear();
    (void)queue.enter_interrupt_mode();  // writes the device event area
    std::set<uint64_t> event;
    add_pages(event, event_gpa, 4);
    EXPECT_EQ(bitmap.pages(), event);
}

}  // namespace
}  // namespace vhostd::virtio
