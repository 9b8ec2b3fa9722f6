// Tests for BlkQueue against FakeBlkDevice: request layouts, slots, batching, completions.
#include "frontend/blk_queue.hpp"

#include <array>
#include <cstring>

#include <gtest/gtest.h>

#include "base/event_fd.hpp"
#include "frontend/fake_device.hpp"

namespace vhostd::frontend {
namespace {

using testing::FakeBlkDevice;

struct Fixture {
    explicit Fixture(bool indirect = false, uint16_t size = 16)
        : ram(GuestRam::create(8 << 20).value()),
          queue(BlkQueue::create(ram, make_options(indirect, size)).value()),
          device(ram, queue.ring(), 2048) {}

    static BlkQueue::Options make_options(bool indirect, uint16_t size) {
        BlkQueue::Options o;
        o.size = size;
        o.indirect = indirect;
        o.max_data_segments = 4;
        return o;
    }

    std::vector<BlkCompletion> drain() {
        std::vector<BlkCompletion> all;
        std::array<BlkCompletion, 8> batch;
        for (;;) {
            auto n = queue.poll(batch);
            EXPECT_TRUE(n);
            if (!n || *n == 0) {
                return all;
            }
            all.insert(all.end(), batch.begin(), batch.begin() + static_cast<long>(*n));
        }
    }

    GuestRam ram;
    BlkQueue queue;
    FakeBlkDevice device;
};

class BlkQueueTest : public ::testing::TestWithParam<bool> {};

TEST_P(BlkQueueTest, WriteThenReadBackAcrossSegments) {
    Fixture f(GetParam());
    auto a = f.ram.alloc(1024).value();
    auto b = f.ram.alloc(512).value();
    std::memset(a.host, 0x11, a.size);
    std::memset(b.host, 0x22, b.size);
    const std::array<DataSegment, 2> segs{{{a.gpa, 1024}, {b.gpa, 512}}};
    ASSERT_TRUE(f.queue.submit_write(100, 8, segs));
    f.queue.kick();
    EXPECT_EQ(f.device.process(), 1U);
    auto done = f.drain();
    ASSERT_EQ(done.size(), 1U);
    EXPECT_EQ(done[0].tag, 100U);
    EXPECT_EQ(done[0].status, blk::status::kOk);
    EXPECT_EQ(f.device.disk()[8 * 512], 0x11);
    EXPECT_EQ(f.device.disk()[8 * 512 + 1024], 0x22);

    auto r = f.ram.alloc(1536).value();
    const DataSegment rs{r.gpa, 1536};
    ASSERT_TRUE(f.queue.submit_read(101, 8, {&rs, 1}));
    f.queue.kick();
    f.device.process();
    done = f.drain();
    ASSERT_EQ(done.size(), 1U);
    EXPECT_EQ(done[0].len, 1537U);
    EXPECT_EQ(r.host[0], 0x11);
    EXPECT_EQ(r.host[1535], 0x22);
}

TEST_P(BlkQueueTest, FlushGetIdDiscardWriteZeroesAndUnsupported) {
    Fixture f(GetParam());
    std::memset(f.device.disk().data(), 0xff, f.device.disk().size());
    auto id = f.ram.alloc(blk::kIdBytes).value();
    ASSERT_TRUE(f.queue.submit_flush(1));
    ASSERT_TRUE(f.queue.submit_get_id(2, {id.gpa, blk::kIdBytes}));
    ASSERT_TRUE(f.queue.submit_discard(3, 0, 2));
    ASSERT_TRUE(f.queue.submit_write_zeroes(4, 4, 1, true));
    ASSERT_TRUE(f.queue.submit(5, 99, 0, {}));
    f.queue.kick();
    EXPECT_EQ(f.device.process(), 5U);
    auto done = f.drain();
    ASSERT_EQ(done.size(), 5U);
    for (const auto& c : done) {
        EXPECT_EQ(c.status, c.tag == 5 ? blk::status::kUnsupp : blk::status::kOk) << c.tag;
    }
    EXPECT_EQ(f.device.flushes, 1U);
    EXPECT_EQ(std::string(reinterpret_cast<char*>(id.host)), "fake-serial");
    EXPECT_EQ(f.device.disk()[0], 0);
    EXPECT_EQ(f.device.disk()[1023], 0);
    EXPECT_EQ(f.device.disk()[1024], 0xff);
    EXPECT_EQ(f.device.disk()[4 * 512], 0);
    EXPECT_EQ(f.device.disk()[5 * 512], 0xff);
}

INSTANTIATE_TEST_SUITE_P(DirectAndIndirect, BlkQueueTest, ::testing::Bool());

TEST(BlkQueue, OneKickPerBatchAndSlotsRecycle) {
    Fixture f(false, 16);
    auto buf = f.ram.alloc(512).value();
    const DataSegment seg{buf.gpa, 512};
    // Direct chains take 3 descriptors each: 5 fit in 16.
    int submitted = 0;
    while (f.queue.submit_read(static_cast<uint64_t>(submitted), 0, {&seg, 1})) {
        ++submitted;
    }
    EXPECT_EQ(submitted, 5);
    f.queue.kick();
    f.queue.kick();  // nothing new: no second kick
    EXPECT_EQ(f.queue.stats().kicks, 1U);
    EXPECT_TRUE(drain_event_fd(f.queue.ring().kick_fd()));
    f.device.process();
    EXPECT_EQ(f.drain().size(), 5U);
    EXPECT_EQ(f.queue.free_slots(), 16);
    EXPECT_EQ(f.queue.stats().completed, 5U);
    // Too many data segments for the configured maximum.
    const std::array<DataSegment, 5> five{};
    EXPECT_FALSE(f.queue.submit_write(9, 0, five));
}

TEST(BlkQueue, IndirectRequestsUseOneDescriptorEach) {
    Fixture f(true, 16);
    auto buf = f.ram.alloc(512).value();
    const DataSegment seg{buf.gpa, 512};
    int submitted = 0;
    while (f.queue.submit_read(static_cast<uint64_t>(submitted), 0, {&seg, 1})) {
        ++submitted;
    }
    EXPECT_EQ(submitted, 16);
}

TEST(BlkQueue, RawChainsKeepTheirTag) {
    Fixture f;
    auto header = f.ram.alloc(16).value();
    auto status = f.ram.alloc(1).value();
    const blk::RequestHeader h{static_cast<uint32_t>(blk::RequestType::flush), 0, 0};
    std::memcpy(header.host, &h, sizeof(h));
    // The header split over two descriptors.
    const std::array<Segment, 3> chain{
        {{header.gpa, 8, false}, {header.gpa + 8, 8, false}, {status.gpa, 1, true}}};
    ASSERT_TRUE(f.queue.submit_raw(55, chain));
    f.queue.kick();
    auto chains = f.device.device().pop_all();
    ASSERT_EQ(chains.size(), 1U);
    EXPECT_EQ(chains[0].segments.size(), 3U);
    *f.ram.host(status.gpa) = blk::status::kOk;
    f.device.device().push_used(chains[0].head, 1);
    f.device.device().publish_used();
    auto done = f.drain();
    ASSERT_EQ(done.size(), 1U);
    EXPECT_EQ(done[0].tag, 55U);
    EXPECT_EQ(done[0].status, blk::status::kNotWritten);
    EXPECT_EQ(status.host[0], blk::status::kOk);
}

TEST(BlkQueue, MissingStatusWriteIsVisible) {
    Fixture f;
    ASSERT_TRUE(f.queue.submit_flush(7));
    f.queue.kick();
    auto& dev = f.device.device();
    auto chains = dev.pop_all();
    ASSERT_EQ(chains.size(), 1U);
    dev.push_used(chains[0].head, 0);  // completes without writing the status byte
    dev.publish_used();
    auto done = f.drain();
    ASSERT_EQ(done.size(), 1U);
    EXPECT_EQ(done[0].status, blk::status::kNotWritten);
}

}  // namespace
}  // namespace vhostd::frontend
