// ChannelStats and BdevStats: per-operation counts, bytes and latency min/max/sum, errors
// apart, in-flight depth and busy time, sums over channels that survive closing them.
#include "block/stats/io_stats.hpp"

#include <gtest/gtest.h>

namespace vhostd::block::stats {
namespace {

IoRequest request(IoType type, uint64_t length, IoStatus status = IoStatus::success) {
    IoRequest r;
    r.type = type;
    r.length = length;
    r.status = status;
    return r;
}

TEST(ChannelStats, CountsOperationsBytesAndLatency) {
    ChannelStats c;
    c.on_submit(100);
    c.on_submit(100);
    EXPECT_EQ(c.inflight(), 2U);
    c.on_complete(request(IoType::read, 4096), 150, 50);
    c.on_complete(request(IoType::read, 512), 400, 300);
    EXPECT_EQ(c.inflight(), 0U);
    const OpCounters& rd = c.op(IoType::read);
    EXPECT_EQ(read(rd.ops), 2U);
    EXPECT_EQ(read(rd.bytes), 4608U);
    EXPECT_EQ(read(rd.latency_sum), 350U);
    EXPECT_EQ(read(rd.latency_min), 50U);
    EXPECT_EQ(read(rd.latency_max), 300U);
    EXPECT_EQ(read(c.op(IoType::write).ops), 0U);
    // Busy from 100 to 400; two in flight for 50 ticks, one for 250.
    EXPECT_EQ(c.io_time(), 300U);
    EXPECT_EQ(c.weighted_io_time(), 2 * 50U + 250U);
}

TEST(ChannelStats, FailuresCountAsErrorsOnly) {
    ChannelStats c;
    c.on_submit(0);
    c.on_complete(request(IoType::write, 4096, IoStatus::io_error), 10, 10);
    EXPECT_EQ(read(c.op(IoType::write).ops), 0U);
    EXPECT_EQ(c.errors(IoStatus::io_error), 1U);
    EXPECT_EQ(c.inflight(), 0U);
}

TEST(ChannelStats, FlushCountsNoBytes) {
    ChannelStats c;
    c.on_submit(0);
    c.on_complete(request(IoType::flush, 12345), 1, 1);
    EXPECT_EQ(read(c.op(IoType::flush).ops), 1U);
    EXPECT_EQ(read(c.op(IoType::flush).bytes), 0U);
}

TEST(BdevStats, SumsLiveChannelsAndKeepsClosedOnes) {
    BdevStats bdev;
    auto a = bdev.open_channel();
    auto b = bdev.open_channel();
    a->on_submit(0);
    a->on_complete(request(IoType::write, 1024), 20, 20);
    b->on_submit(0);
    b->on_complete(request(IoType::write, 2048), 5, 5);
    b->on_submit(10);  // still in flight
    IoStats s = bdev.snapshot();
    EXPECT_EQ(s.channels, 2U);
    EXPECT_EQ(s.op(IoType::write).ops, 2U);
    EXPECT_EQ(s.op(IoType::write).bytes, 3072U);
    EXPECT_EQ(s.op(IoType::write).latency_min, 5U);
    EXPECT_EQ(s.op(IoType::write).latency_max, 20U);
    EXPECT_EQ(s.op(IoType::read).latency_min, 0U);  // none
    EXPECT_EQ(s.queue_depth, 1U);
    EXPECT_EQ(s.histogram.total(), 2U);

    bdev.close_channel(a);
    s = bdev.snapshot();
    EXPECT_EQ(s.channels, 1U);
    EXPECT_EQ(s.op(IoType::write).ops, 2U);  // a's counts survive
    EXPECT_EQ(bdev.open_channels(), 1U);
}

}  // namespace
}  // namespace vhostd::block::stats
